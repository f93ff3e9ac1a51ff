"""SMS segment arithmetic (GSM-7 and UCS-2), as carriers and Twilio count."""

from __future__ import annotations

import math

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each takes two septets

MAX_BODY = 1600  # Twilio refuses longer bodies (error 21617)
SMS_SEGMENTS = 3  # a reply's budget, the privacy notice included (README, "SMS")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def units(text: str) -> tuple[int, str]:
    """Length in the units a segment is counted in, and the encoding."""
    if is_gsm7(text):
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text), "GSM-7"
    return len(text.encode("utf-16-le")) // 2, "UCS-2"


def segments(text: str) -> int:
    length, encoding = units(text)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    return 1 if length <= single else math.ceil(length / multi)


def budget(text: str, max_segments: int) -> int:
    """How many units fit ``max_segments`` segments in ``text``'s encoding."""
    _, encoding = units(text)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    return single if max_segments == 1 else multi * max_segments
