"""Behaviour of resident-language detection (common/langid.py).

The messages here are written for these tests, not taken from the
evaluation set (../shared/eval/langid), which measures accuracy instead.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common import langid, languages
from common.languages import DEFAULT_LANGUAGE, LANGUAGES

ROOT = Path(__file__).resolve().parents[2]


def confident(text: str) -> str | None:
    detection = langid.detect(text)
    return detection.language if detection.confident else None


# --- script ---------------------------------------------------------------------


def test_ethiopic_script_is_tigrinya():
    assert confident("ሰላም፣ ኣብ ጎተቦርግ ስራሕ እደሊ ኣለኹ") == "ti"
    assert confident("ስራሕ") == "ti"


def test_tigrinya_with_a_swedish_word_is_still_tigrinya():
    assert confident("ስራሕ jobb ኣሎ ድዩ") == "ti"


def test_persian_letters_mean_persian():
    assert confident("سلام، من دنبال کار هستم") == "fa"
    assert confident("چطور می‌توانم کار پیدا کنم؟") == "fa"


def test_persian_typed_on_an_arabic_keyboard_is_still_persian():
    # ي and ك instead of ی and ک, but پ and گ only Persian has
    assert confident("ميخواهم كار پيدا كنم") == "fa"


def test_arabic_is_arabic():
    assert confident("أبحث عن عمل في المدينة") == "ar"
    assert confident("هل يمكنني الحصول على مساعدة؟") == "ar"


def test_arabic_with_swedish_words_mixed_in_is_arabic():
    assert langid.detect("ابحث عن jobb في Angered").language == "ar"
    assert langid.decide("ابحث عن jobb في Angered", stored="sv") == "ar"


@pytest.mark.parametrize("text", ["دەمەوێت کار بکەم", "سڵاو، چۆنی؟"])
def test_sorani_letters_make_a_message_unsupported(text):
    detection = langid.detect(text)
    assert detection.unsupported and detection.language is None and not detection.confident


def test_cyrillic_is_unsupported():
    assert langid.detect("Тражим посао у Гетеборгу").unsupported


# --- Latin script ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Merhaba, Göteborg'da iş arıyorum ama bulamadım",  # Turkish
        "Hola, estoy buscando trabajo en la ciudad",  # Spanish
        "Szukam pracy w Göteborgu od zaraz",  # Polish, with a Swedish place name
        "Ez li Göteborgê li kar digerim û alîkarî dixwazim",  # Kurmanji, which lingua does not know
        "Ich suche seit einem Monat eine Arbeit",  # German
    ],
)
def test_a_clear_sentence_in_an_unsupported_language_is_unsupported(text):
    detection = langid.detect(text)
    assert detection.unsupported and not detection.confident


def test_swedish_with_and_without_a_ring_and_dots():
    assert confident("Hej, jag söker jobb och behöver hjälp med mitt CV") == "sv"
    assert confident("hej jag soker jobb och behover hjalp med mitt cv") == "sv"


def test_a_foreign_name_in_a_swedish_sentence_stays_swedish():
    assert confident("Hej, jag heter Şükrü Yılmaz och jag vill starta ett företag") == "sv"


def test_english_and_somali_sentences():
    assert confident("I am looking for a job in Gothenburg") == "en"
    assert confident("Waxaan raadinayaa shaqo, fadlan i caawi") == "so"
    assert confident("waxaan rabaa jobb") == "so"


@pytest.mark.parametrize(("text", "language"), [("jobb", "sv"), ("shaqo", "so"), ("کار", "fa"), ("ስራሕ", "ti")])
def test_one_word_messages(text, language):
    detection = langid.detect(text)
    assert detection.language == language and not detection.unsupported


def test_arabic_and_persian_in_latin_letters():
    assert confident("ana abgha shughl") == "ar"
    assert confident("ana 3ayez shoghl") == "ar"
    assert langid.detect("salam, man kar mikham").language == "fa"


@pytest.mark.parametrize("text", ["🙂👍", "12345", "  ", "?!", "070-123 45 67"])
def test_no_letters_detects_nothing(text):
    assert langid.detect(text) == langid.Detection(None, 0.0)


# --- decide: the order -------------------------------------------------------------


def test_a_chosen_language_wins_over_everything():
    assert langid.decide("jag vill ha jobb", stored="sv", chosen="en") == "en"
    assert langid.decide("English please", stored="sv", chosen="so") == "so"
    assert langid.decide("ሰላም", stored=None, chosen="ar") == "ar"


def test_an_unsupported_choice_is_ignored():
    assert langid.decide("Waxaan raadinayaa shaqo, fadlan i caawi", stored="sv", chosen="xx") == "so"


def test_an_explicit_request_beats_detection_and_the_stored_language():
    assert langid.decide("English please", stored="sv") == "en"
    assert langid.decide("بالعربي", stored="fa") == "ar"
    assert langid.decide("på svenska tack", stored="so") == "sv"


def test_a_button_payload_keeps_the_stored_language():
    assert langid.decide("/affirm", stored="so") == "so"
    assert langid.decide('/choose_language{"language": "x"}', stored="fa") == "fa"
    assert langid.decide("/affirm", stored=None) == DEFAULT_LANGUAGE


def test_a_confident_detection_switches_the_stored_language():
    assert langid.decide("Waxaan raadinayaa shaqo, fadlan i caawi", stored="sv") == "so"
    assert langid.decide("أبحث عن عمل في المدينة", stored="en") == "ar"
    assert langid.decide("I am looking for a job in Gothenburg", stored="sv") == "en"
    assert langid.decide("ስራሕ", stored="sv") == "ti"


def test_an_unsure_detection_keeps_the_stored_language():
    assert langid.decide("ok", stored="so") == "so"
    assert langid.decide("hello", stored="ar") == "ar"
    assert langid.decide("salam, man kar mikham", stored="sv") == "sv"


def test_arabic_script_replaces_a_stored_latin_script_language_even_when_unsure():
    assert not langid.detect("سلام").confident  # Arabic or Persian?
    assert langid.decide("سلام", stored="sv") in ("ar", "fa")
    assert langid.decide("سلام", stored="fa") == "fa"
    assert langid.decide("سلام", stored="ar") == "ar"


def test_without_a_stored_language_the_best_guess_is_taken():
    assert langid.decide("jobb", stored=None) == "sv"
    assert langid.decide("hello", stored=None) == "en"
    assert langid.decide("salam, man kar mikham", stored=None) == "fa"


@pytest.mark.parametrize("text", ["🙂🙂", "12", "👍 !!", " "])
def test_a_message_without_letters_changes_nothing(text):
    assert langid.decide(text, stored="ti") == "ti"
    assert langid.decide(text, stored=None) is None  # the caller uses the default


def test_a_short_message_that_merely_looks_foreign_keeps_the_stored_language():
    assert langid.detect("iş").unsupported
    assert langid.decide("iş", stored="so") == "so"
    assert langid.decide("سڵاو", stored="fa") == "fa"


def test_a_clearly_unsupported_message_asks_for_the_language():
    turkish = "Merhaba, Göteborg'da iş arıyorum ama bulamadım"
    assert langid.decide(turkish, stored="sv") is None
    assert langid.decide(turkish, stored=None) is None
    assert langid.decide("iş", stored=None) is None
    assert langid.decide("دەمەوێت کار بکەم", stored=None) is None


# --- backends and environments -------------------------------------------------------


def test_the_reference_backends_answer_in_supported_languages_only():
    for backend in ("langdetect", "lingua"):
        detection = langid.detect("I am looking for a job in Gothenburg", backend=backend)
        assert detection.language in (None, *LANGUAGES)
    assert langid.detect("Jag söker ett jobb i Göteborg nu", backend="lingua").language == "sv"
    assert langid.detect("🙂", backend="langdetect") == langid.Detection(None, 0.0)


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError):
        langid.detect("hej", backend="nonsense")


def run_python(code: str, **env: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_latin_script_language_lingua_knows_is_detected_once_its_row_is_in_the_table(tmp_path):
    # Turkish is unsupported today (above); a row with its lingua code and its letters is all detection needs.
    table = yaml.safe_load(languages.TABLE.read_text(encoding="utf-8"))
    table["languages"].append(
        {
            "code": "tr",
            "name": "Turkish",
            "endonym": "Türkçe",
            "script": "latin",
            "lingua": "tr",
            "letters": "çğıöşüâî",
            "choose": ["türkçe"],
        }
    )
    path = tmp_path / "languages.yml"
    path.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    code = (
        "from common import langid; print(langid.decide(\"Merhaba, Göteborg'da iş arıyorum ama bulamadım\", 'sv'), "
        "langid.decide('Hej, jag söker jobb och behöver hjälp med mitt CV', 'tr'), "
        "langid.detect('Ich suche seit einem Monat eine Arbeit').unsupported)"
    )
    assert run_python(code, LANGUAGES_FILE=str(path)) == "tr sv True"


def test_the_default_backend_comes_from_the_environment():
    assert run_python("from common import langid; print(langid.BACKEND)", LANGID_BACKEND="lingua") == "lingua"
    environment = {k: v for k, v in os.environ.items() if k != "LANGID_BACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", "from common import langid; print(langid.BACKEND)"],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "hubguide"


def test_the_module_imports_nothing_from_either_stack():
    code = (
        "import sys; from common import langid; langid.decide('jag vill ha jobb', None); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'rasa', 'fastapi', 'sqlalchemy', 'pydantic', 'pydantic_settings', 'tensorflow', 'twilio'}))"
    )
    assert run_python(code) == "[]"
