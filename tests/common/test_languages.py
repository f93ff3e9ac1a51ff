import pytest

from common import langid, languages
from common.languages import DEFAULT_LANGUAGE, LANGUAGES, explicit_choice


def test_the_table_is_read_from_the_data_file_in_its_order():
    assert list(LANGUAGES) == ["sv", "en", "ar", "so", "fa", "ti"]  # the language menu's numbers
    for code, lang in LANGUAGES.items():
        assert lang.code == code and len(code) == 2
    assert [code for code, lang in LANGUAGES.items() if lang.rtl] == ["ar", "fa"]
    assert LANGUAGES["ti"].script == "ethiopic" and LANGUAGES["ti"].lingua is None


def test_every_word_that_chooses_a_language_chooses_it_with_or_without_please():
    for code, lang in LANGUAGES.items():
        for word in lang.choose:
            assert explicit_choice(word) == code
            assert explicit_choice(f"{word.upper()}, {lang.please[0] if lang.please else 'please'}!") == code


def test_the_language_menu_offers_every_language_in_the_tables_order():
    from common.texts import language_menu

    _, buttons = language_menu()
    assert [explicit_choice(b["payload"]) for b in buttons] == list(LANGUAGES)
    assert [b["title"] for b in buttons] == [lang.endonym for lang in LANGUAGES.values()]


def test_explicit_choice_forgives_case_and_punctuation():
    assert explicit_choice("English please!") == "en"
    assert explicit_choice("  PÅ SVENSKA ") == "sv"
    assert explicit_choice("I want a job") is None


def test_an_explicit_choice_beats_the_stored_language_and_detection():
    assert langid.decide("jag vill ha jobb", stored="sv", chosen="en") == "en"
    assert langid.decide("english please", stored="sv") == "en"


def test_confident_detection_switches_the_language():
    assert langid.decide("I am looking for a job in Gothenburg", stored="sv") == "en"
    assert langid.decide("jag letar efter ett jobb i Göteborg", stored="en") == "sv"


def test_a_short_ambiguous_message_keeps_the_stored_language():
    assert langid.decide("ok", stored="en") == "en"
    assert langid.decide("ok", stored="sv") == "sv"
    assert langid.decide("3", stored="en") == "en"


def test_a_button_payload_keeps_the_stored_language():
    assert langid.decide("/affirm", stored="en") == "en"
    assert langid.decide("/affirm", stored=None) == DEFAULT_LANGUAGE


def test_detection_never_names_an_unsupported_language():
    assert langid.detect("Ich suche eine Arbeit in Göteborg").language in (None, *LANGUAGES)
    assert langid.detect("🙂🙂").language is None


@pytest.mark.parametrize(
    "a, b",
    [
        ("مساعدة", "مساعده"),  # taa marbuta written as haa
        ("أريد", "اريد"),  # hamza on alef left out
        ("مرحباً", "مرحبا"),  # vowel mark
        ("كار", "کار"),  # Arabic kaf in a Persian word
        ("مي\u200cخواهم", "مي خواهم"),  # zero-width non-joiner
        ("بیمۀ بیکاری", "بیمه بیکاری"),  # Dari's heh with hamza (ezafe), as official texts write it
        ("HJÄLP", "hjalp"),
    ],
)
def test_fold_makes_residents_spelling_variants_alike(a, b):
    assert languages.fold(a) == languages.fold(b)


def test_fold_keeps_words_that_differ_apart():
    assert languages.fold("ስራሕ") == "ስራሕ"  # Ge'ez syllables are letters, not letter + mark
    assert languages.fold("jobb") != languages.fold("job")


@pytest.mark.parametrize(
    "latin, native",
    [
        ("shughl", "شغل"),  # work, Arabic in Latin letters
        ("mat3am", "مطعم"),  # digits for letters: 3 is ع
        ("madrase", "مدرسة"),  # vowels written in Latin letters, left out in Arabic
        ("7ki", "حكي"),  # 7 is ح
        ("tabib", "طبيب"),  # t for ط: ت and ط sound alike
        ("mikham", "میخوام"),  # Persian in Latin letters
        ("kar", "كار"),  # either kaf
    ],
)
def test_skeleton_makes_a_word_in_latin_letters_and_in_its_own_alike(latin, native):
    assert languages.skeleton(latin) == languages.skeleton(native) != ""


def test_skeleton_keeps_different_words_apart_and_leaves_numbers_out():
    assert languages.skeleton("shughl") != languages.skeleton("shukran")
    assert languages.skeleton("عمل") != languages.skeleton("امل")  # ع is a consonant, not a vowel
    assert languages.skeleton("3") == languages.skeleton("٣") == languages.skeleton("aaa") == ""
