import pytest

from common import keywords
from common.languages import LANGUAGES, explicit_choice


@pytest.mark.parametrize(
    "message, kind, language",
    [
        ("STOP", "stop", "en"),
        ("stopp", "stop", "sv"),
        ("Avsluta!", "stop", "sv"),
        ("JOOJI", "stop", "so"),
        ("ኣቋርጽ", "stop", "ti"),
        ("ኣቋርጹ", "stop", "ti"),
        ("አቋርጽ", "stop", "ti"),
        ("ጀምሩ", "start", "ti"),
        ("START", "start", "en"),
        ("Starta", "start", "sv"),
        ("bilow", "start", "so"),
        ("HJÄLP", "help", "sv"),
        ("Help?", "help", "en"),
        ("مساعدة", "help", "ar"),
        ("کمک", "help", "fa"),
        ("RADERA", "erase", "sv"),
        ("ta  bort", "erase", "sv"),
        ("Delete!", "erase", "en"),
        ("TIRTIR", "erase", "so"),
        ("احذف", "erase", "ar"),
        ("حذف", "erase", "ar"),
        ("پاک", "erase", "fa"),
        ("حذف کنید", "erase", "fa"),
        ("ደምስሱ", "erase", "ti"),
    ],
)
def test_keywords_alone_in_any_case_are_recognised(message, kind, language):
    assert keywords.match(message) == (kind, language)


@pytest.mark.parametrize(
    "message",
    [
        "stop please",
        "jag vill sluta röka",
        "help me find a job",
        "starta företag",
        "",
        "radera mitt meddelande",
        "how do I delete my CV",
    ],
)
def test_keywords_inside_a_sentence_are_not_keywords(message):
    assert keywords.match(message) is None


def test_every_language_has_every_keyword_and_each_word_means_its_kind():
    for kind, by_language in keywords.WORDS.items():
        assert set(by_language) == set(LANGUAGES), kind
        for language, words in by_language.items():
            assert words, f"no {kind} keywords in {language}"
            assert all(keywords.match(word)[0] == kind for word in words)


def test_a_word_two_languages_share_answers_in_the_later_one():
    assert "توقف" in LANGUAGES["ar"].stop and "توقف" in LANGUAGES["fa"].stop
    assert keywords.match("توقف") == ("stop", "fa")


def test_twilios_own_words_are_english_keywords_too():
    # Twilio confirms them itself; the gateway must still record the opt-out or opt-in.
    assert keywords.TWILIO_STOP <= set(LANGUAGES["en"].stop)
    assert keywords.TWILIO_START <= set(LANGUAGES["en"].start)


def test_only_twilios_own_english_words_are_left_to_twilio():
    assert keywords.handled_by_twilio("Stop") and keywords.handled_by_twilio("UNSTOP")
    assert not keywords.handled_by_twilio("STOPP") and not keywords.handled_by_twilio("jooji")


def test_no_erase_word_is_another_keyword_or_chooses_a_language():
    # The erase words never stop, start or help, and never pick a language, in any row.
    for language, words in keywords.WORDS["erase"].items():
        assert words, f"no erase keywords in {language}"
        assert all(keywords.match(word) == ("erase", language) for word in words), language
        assert not [word for word in words if explicit_choice(word)], language
