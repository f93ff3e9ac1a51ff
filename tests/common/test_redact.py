"""Personal data in residents' messages is masked before the text reaches Rasa
or a log line (common.redact); ordinary numbers residents write are kept."""

import re

import pytest

from common.redact import CARD, EMAIL, PERSONAL_NUMBER, PHONE, redact

# (message, the part that must go, what it is masked as). Personal identity
# numbers here pass the Luhn check; 701063-2391 and 990561-2348 are
# samordningsnummer (day of birth + 60).
MASKED = [
    # Swedish mobile and landline numbers as residents write them
    ("Ring mig på 070-123 45 67 tack", "070-123 45 67", PHONE),
    ("mitt nummer är 0701234567", "0701234567", PHONE),
    ("kan ni ringa 073 123 45 67 efter lunch", "073 123 45 67", PHONE),
    ("Nummer: 076-1234567", "076-1234567", PHONE),
    ("079 - 123 45 67 är mitt nya nummer", "079 - 123 45 67", PHONE),
    ("ring +46 70 123 45 67", "+46 70 123 45 67", PHONE),
    ("+46701234567", "+46701234567", PHONE),
    ("mobil +46 (0)70-123 45 67", "+46 (0)70-123 45 67", PHONE),
    ("(+46) 72 123 45 67 är jag", "+46) 72 123 45 67", PHONE),
    ("0046 70 123 45 67", "0046 70 123 45 67", PHONE),
    ("ring 0046701234567!", "0046701234567", PHONE),
    ("hemtelefon 031-123 45 67", "031-123 45 67", PHONE),
    ("Borås 033-35 70 00", "033-35 70 00", PHONE),
    ("08-123 456 78 jobbet", "08-123 456 78", PHONE),
    ("46701234567 ring mig", "46701234567", PHONE),
    # English
    ("Please call me on +44 20 7946 0958 after 5", "+44 20 7946 0958", PHONE),
    ("my number is 0735-55 12 34, thanks", "0735-55 12 34", PHONE),
    ("text me: 0701234567.", "0701234567", PHONE),
    # Arabic, in Arabic-Indic digits too
    ("رقمي ٠٧٠١٢٣٤٥٦٧ اتصلوا بي", "٠٧٠١٢٣٤٥٦٧", PHONE),
    ("اتصل بي على +٤٦٧٠١٢٣٤٥٦٧", "+٤٦٧٠١٢٣٤٥٦٧", PHONE),
    ("رقم أخي في العراق +964 770 123 4567", "+964 770 123 4567", PHONE),
    ("رقمي 070-123 45 67", "070-123 45 67", PHONE),
    # Persian, in Persian digits too
    ("شماره من ۰۷۳۱۲۳۴۵۶۷ است", "۰۷۳۱۲۳۴۵۶۷", PHONE),
    ("شماره ام ۰۷۰-۱۲۳ ۴۵ ۶۷", "۰۷۰-۱۲۳ ۴۵ ۶۷", PHONE),
    ("شماره +98 912 345 6789 مال مادرم است", "+98 912 345 6789", PHONE),
    # Somali
    ("lambarkaygu waa 076-123 45 67 i soo wac", "076-123 45 67", PHONE),
    ("hooyaday +252 61 5123456", "+252 61 5123456", PHONE),
    ("lambarka 00252615123456", "00252615123456", PHONE),
    # Tigrinya
    ("ቁጽሪ ስልከይ 072 123 45 67 እዩ", "072 123 45 67", PHONE),
    ("ኣብ ኤርትራ +291 7 123456", "+291 7 123456", PHONE),
    # personal identity numbers and samordningsnummer
    ("mitt personnummer är 850709-9805", "850709-9805", PERSONAL_NUMBER),
    ("personnummer 19850709-9805 hjälp", "19850709-9805", PERSONAL_NUMBER),
    ("8507099805", "8507099805", PERSONAL_NUMBER),
    ("198507099805 är mitt", "198507099805", PERSONAL_NUMBER),
    ("811228-9874", "811228-9874", PERSONAL_NUMBER),
    ("min farfar 121212+1212", "121212+1212", PERSONAL_NUMBER),
    ("samordningsnummer 701063-2391", "701063-2391", PERSONAL_NUMBER),
    ("my coordination number is 990561-2348", "990561-2348", PERSONAL_NUMBER),
    ("born 2005, personal number 050709-1239", "050709-1239", PERSONAL_NUMBER),
    ("رقمي الشخصي ٨٥٠٧٠٩-٩٨٠٥", "٨٥٠٧٠٩-٩٨٠٥", PERSONAL_NUMBER),
    ("نمبر شخصی من ۸۱۱۲۲۸-۹۸۷۴ است", "۸۱۱۲۲۸-۹۸۷۴", PERSONAL_NUMBER),
    ("lambarka shakhsiga 640823 3234", "640823 3234", PERSONAL_NUMBER),
    ("ቁጽሪ መንነት 200301-2347", "200301-2347", PERSONAL_NUMBER),
    # e-mail addresses
    ("maila mig på anna.svensson@gmail.com", "anna.svensson@gmail.com", EMAIL),
    ("email: mohamed_1985@hotmail.se!", "mohamed_1985@hotmail.se", EMAIL),
    ("بريدي ahmed+jobb@example.co.uk شكرا", "ahmed+jobb@example.co.uk", EMAIL),
    ("iimaylkaygu waa Faadumo.Cali@outlook.com", "Faadumo.Cali@outlook.com", EMAIL),
    ("ایمیل من reza.ahmadi@yahoo.com است", "reza.ahmadi@yahoo.com", EMAIL),
    # card-like numbers: 13 to 19 digits that pass the Luhn check
    ("kortet 4111 1111 1111 1111 är spärrat", "4111 1111 1111 1111", CARD),
    ("5555-5555-5555-4444", "5555-5555-5555-4444", CARD),
    ("card 4012888888881881", "4012888888881881", CARD),
    ("amex 3782 822463 10005", "3782 822463 10005", CARD),
]

# What residents write that is not personal data: postal codes, amounts, years,
# ages, the hub menu's numbers, times, dates, public numbers.
ORDINARY = [
    "1",
    "2",
    "9",
    "2.",
    "3)",
    "10",
    "415 05",
    "41505",
    "mitt postnummer är 424 37",
    "postnummer 424 65 Angered",
    "SE-415 05 Göteborg",
    "my postcode is 41830",
    "الرمز البريدي ٤١٥ ٠٥",
    "کدپستی من ۴۲۴ ۳۷ است",
    "lambarka boostada waa 42437",
    "ፖስታ ኮድ 415 05",
    "15 000 kr",
    "hyran är 8 500 kr i månaden",
    "1 500 000 kronor",
    "12000 SEK",
    "2.500 kr",
    "$300",
    "jag tjänar 25 000 - 30 000 kr",
    "۲۰۰۰۰ کرون",
    "٣٠٠٠ كرون",
    "lacag 5000 kr",
    "2024",
    "född 1985",
    "2019-2024",
    "sedan 2015 2018",
    "I came to Sweden in 2016",
    "jag är 34 år",
    "barn 3, 5 och 12 år",
    "I have 2 children aged 4 and 7",
    "waxaan ahay 34 sano",
    "ዕድመይ 34 እዩ",
    "عمري ٣٥ سنة",
    "سنم ۴۲ سال است",
    "13.30",
    "kl 08.30-16.00",
    "08:00 - 17:00",
    "9-17",
    "öppet 10-18 mån-fre",
    "at 13:30 tomorrow",
    "12/05/2024",
    "05/12/2024",
    "2024-05-12",
    "05-12-2024",
    "1/1",
    "den 3 mars",
    "1177",
    "ring 112",
    "polisen 114 14",
    "Buss 16, spårvagn 11",
    "Hjällbogatan 12",
    "Rymdtorget 6 lgh 1102",
    "Kör linje 6 och 11 till Hjällbo",
    "jag har ansökt om 3 jobb 2 veckor sedan",
    "ett nummer som inte klarar Luhn: 811228-9875",
    "4111 1111 1111 1112",
    "850709-9806",
    "ordernummer 123456",
    "1 2 3 4 5",
]


@pytest.mark.parametrize("message,secret,token", MASKED)
def test_personal_data_is_masked_and_nothing_else(message, secret, token):
    assert redact(message) == message.replace(secret, token)


@pytest.mark.parametrize("message", ORDINARY)
def test_ordinary_numbers_are_kept(message):
    assert redact(message) == message


def test_every_kind_in_one_message_and_no_digit_of_them_left():
    message = (
        "Hej! Jag heter Amina, personnummer 19850709-9805, mobil 070-123 45 67 eller +46 73 123 45 67, "
        "mejl amina@example.org, kort 4111 1111 1111 1111. Jag bor på 424 37 sedan 2019."
    )
    masked = redact(message)
    assert masked == (
        f"Hej! Jag heter Amina, personnummer {PERSONAL_NUMBER}, mobil {PHONE} eller {PHONE}, "
        f"mejl {EMAIL}, kort {CARD}. Jag bor på 424 37 sedan 2019."
    )


def test_numbers_side_by_side_are_each_masked():
    assert redact("0701234567 850709-9805") == f"{PHONE} {PERSONAL_NUMBER}"
    assert redact("850709-9805 0701234567") == f"{PERSONAL_NUMBER} {PHONE}"


def test_tokens_hold_no_digit_so_masking_twice_changes_nothing():
    once = redact("ring 070-123 45 67, 850709-9805, a@b.se, 4111111111111111")
    assert not re.search(r"\d", once)
    assert redact(once) == once


def test_twilios_error_text_loses_the_number():
    error = "twilio 400 21211: Unable to create record: The 'To' number +46701234567 is not a valid phone number."
    assert redact(error) == (
        f"twilio 400 21211: Unable to create record: The 'To' number {PHONE} is not a valid phone number."
    )


def test_empty_and_digitless_text_is_returned_as_is():
    assert redact("") == ""
    assert redact("jag vill ha jobb") == "jag vill ha jobb"
