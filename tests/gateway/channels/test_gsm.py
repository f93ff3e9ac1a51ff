import pytest

from gateway.channels.gsm import is_gsm7, segments, units


@pytest.mark.parametrize(
    "text, encoding",
    [
        ("Hej! Vad heter du? åäö ÅÄÖ", "GSM-7"),
        ("shaqo ma haysaa", "GSM-7"),
        ("أريد عمل", "UCS-2"),
        ("ስራሕ", "UCS-2"),
        ("Hej 🙂", "UCS-2"),
    ],
)
def test_encoding_follows_the_characters(text, encoding):
    assert units(text)[1] == encoding
    assert is_gsm7(text) == (encoding == "GSM-7")


@pytest.mark.parametrize("length, expected", [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)])
def test_gsm7_segments(length, expected):
    assert segments("a" * length) == expected


@pytest.mark.parametrize("length, expected", [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3)])
def test_ucs2_segments(length, expected):
    assert segments("ع" * length) == expected


def test_extended_characters_take_two_septets_and_emoji_two_units():
    assert units("€[]")[0] == 6
    assert units("🙂")[0] == 2
