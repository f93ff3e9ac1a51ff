"""Personal data masked out of residents' words before they leave for Rasa (and
so its tracker store) or a log line: phone numbers, personal identity numbers
(and samordningsnummer), e-mail addresses and card-like numbers. The stored
message keeps the real text for the coordinators.

Each kind becomes one token without letters or digits, in every language:
Rasa's tokenizer drops it, so the intent model reads the rest of the message
as it would without the number (on 28 messages in the six languages, trained
on data/nlu, the tokens below kept every intent of the real text or the text
without the number, where English words such as "[phone]" moved four to
id_card), and a person reading a tracker or a note still sees what was there.

Hand-written, with reasons: the ``phonenumbers`` package (libphonenumber)
finds numbers only against one region's plan; with Sweden's, at its VALID
leniency it took the opening hours "08.30-16.00" for a number and missed a
Somali "0615123456", and at POSSIBLE it also took "25 000 - 30 000" kr. It
knows nothing of personal identity numbers or cards either. A Luhn check is
three lines, not a dependency.
"""

from __future__ import annotations

import re
import unicodedata

PHONE = "[☎]"
PERSONAL_NUMBER = "[🆔]"
EMAIL = "[✉]"
CARD = "[💳]"

# From the start of a word only: a long word without "@" is then scanned once, not once a letter.
EMAIL_ADDRESS = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Digits (after folding: Arabic-Indic and Persian digits become 0-9) in groups
# joined by one to three separators, as numbers are written: "+46 (0)70-123 45 67".
SEPARATORS = " \t\u00a0\u2009\u202f\u200e\u200f\u061c\u2066-\u2069()/+\\-\u2010-\u2013\u2212"
DIGIT_RUN = re.compile(rf"\+?\d+(?:[{SEPARATORS}]{{1,3}}\d+)*")
GROUP = re.compile(r"\d+")
SHORTEST, LONGEST = 7, 19  # no kind has fewer or more digits (a short number abroad, a card)


def fold_digits(text: str) -> str:
    """Every script's decimal digits as 0-9, one character for one."""
    return re.sub(r"\d", lambda m: str(unicodedata.decimal(m[0])), text)


def redact(text: str) -> str:
    """``text`` with each phone number, personal identity number, e-mail address and
    card-like number replaced by its kind's token; everything else as it was."""
    text = EMAIL_ADDRESS.sub(EMAIL, text)
    folded = fold_digits(text)
    found = [span for run in DIGIT_RUN.finditer(folded) for span in _personal(folded, run)]
    for start, end, token in reversed(found):
        text = text[:start] + token + text[end:]
    return text


def _personal(folded: str, run: re.Match) -> list[tuple[int, int, str]]:
    """(start, end, token) of the personal numbers in one run of digit groups,
    the longest at each group first, so two numbers side by side are two."""
    groups = list(GROUP.finditer(folded, run.start(), run.end()))
    texts = [g[0] for g in groups]
    # before[k]: what stands between group k-1 (or the run's start) and group k.
    before = [folded[(groups[k - 1].end() if k else run.start()) : g.start()] for k, g in enumerate(groups)]
    found, i = [], 0
    while i < len(groups):
        plus = "+" in before[i]  # international: "+46 70...", "(+46) 70..."
        ends, length = [], 0
        for j in range(i, len(groups)):
            length += len(texts[j])
            if length > LONGEST:
                break
            if length >= SHORTEST:
                ends.append(j + 1)
        for j in reversed(ends):
            separators = [b.strip() for b in before[i + 1 : j]]
            token = _kind("".join(texts[i:j]), [len(t) for t in texts[i:j]], separators, plus)
            if token:
                start = folded.rindex("+", 0, groups[i].start()) if plus else groups[i].start()
                found.append((start, groups[j - 1].end(), token))
                i = j
                break
        else:
            i += 1
    return found


def _kind(digits: str, sizes: list[int], separators: list[str], plus: bool) -> str | None:
    if not plus and _personal_number(digits, sizes, separators):
        return PERSONAL_NUMBER
    if not plus and 13 <= len(digits) <= 19 and digits[0] != "0" and _card_grouping(sizes) and luhn(digits):
        return CARD
    if _phone(digits, sizes, plus):
        return PHONE
    return None


def _personal_number(digits: str, sizes: list[int], separators: list[str]) -> bool:
    """ÅÅMMDD-XXXX, ÅÅÅÅMMDD-XXXX (or "+" for 100 years and older, a space, or
    nothing); the day is 61-91 in a samordningsnummer; the last digit checks."""
    if sizes not in ([10], [12], [6, 4], [8, 4]) or any(s not in ("", "-", "+", "–", "‐", "‑") for s in separators):
        return False
    if sizes == [10] and digits[0] == "0":
        return False  # 07xxxxxxxx written together is a phone number
    if len(digits) == 12:
        if digits[:2] not in ("19", "20"):
            return False
        digits = digits[2:]
    month, day = int(digits[2:4]), int(digits[4:6])
    return 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91) and luhn(digits)


def _card_grouping(sizes: list[int]) -> bool:
    """Written together, in fours, or as American Express prints it (4-6-5)."""
    return (
        len(sizes) == 1 or sizes in ([4, 6, 5], [4, 6, 4]) or (all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4)
    )


def _phone(digits: str, sizes: list[int], plus: bool) -> bool:
    if plus:  # +46 70 123 45 67, +252 61 5123456: a country code and the number (E.164: 15 at most)
        return 7 <= len(digits) <= 15
    if digits[:2] == "00" and digits[2:3] not in ("", "0") and sizes[0] != 3:  # not "005 467 000" kr
        return 7 <= len(digits) - 2 <= 15  # 0046 70 123 45 67, 00252615123456
    if len(digits) == 11 and digits.startswith("467"):
        return True  # 46701234567: a Swedish mobile without its "+"
    # A national number with its trunk 0: Swedish ones have 8 to 10 digits, Iraqi
    # and Iranian mobiles 11. Not a date written 05/12/2024 or 2024-05-12.
    return 8 <= len(digits) <= 11 and digits[0] == "0" and digits[1] != "0" and sizes not in ([2, 2, 4], [4, 2, 2])


def luhn(digits: str) -> bool:
    """The check digit personal identity numbers and cards end with."""
    total = sum(int(d) for d in digits[-1::-2]) + sum(sum(divmod(2 * int(d), 10)) for d in digits[-2::-2])
    return total % 10 == 0
