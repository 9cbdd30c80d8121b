"""SMS parts: GSM-7 versus UCS-2, septets and UTF-16 units, part boundaries; and the price estimate."""

import time
from decimal import Decimal

import pytest

from smsdrop.output.sms_parts import GSM7_BASIC, GSM7_EXTENSION, Encoding, Parts, PriceTable, sms_parts

GSM, UCS = Encoding.GSM7, Encoding.UCS2

CASES = [
    ("empty", "", GSM, 0, 1),
    ("short ascii", "Hi Asha, your order #10001 has shipped.", GSM, 39, 1),
    ("160 plain is one part", "a" * 160, GSM, 160, 1),
    ("161 plain is two parts", "a" * 161, GSM, 161, 2),
    ("306 plain fills two parts of 153", "a" * 306, GSM, 306, 2),
    ("307 plain needs a third part", "a" * 307, GSM, 307, 3),
    ("euro counts two", "€", GSM, 2, 1),
    ("every extension char counts two", "^{}\\[~]|€", GSM, 18, 1),
    ("form feed is an extension char", "\f", GSM, 2, 1),
    ("159 plus euro is 161 septets", "a" * 159 + "€", GSM, 161, 2),
    ("158 plus euro is exactly 160", "a" * 158 + "€", GSM, 160, 1),
    ("escape pair never split across parts", "a" * 152 + "€" + "a" * 152, GSM, 306, 3),
    ("escape pair fits at the end of a part", "a" * 151 + "€" + "a" * 153, GSM, 306, 2),
    ("accented latin of the basic table", "èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà¿¡§£¥", GSM, 28, 1),
    ("greek capitals of the basic table", "ΔΦΓΛΩΠΨΣΘΞ", GSM, 10, 1),
    ("newline and carriage return are gsm", "a\r\nb", GSM, 4, 1),
    ("small c cedilla is not gsm", "ç", UCS, 1, 1),
    ("backtick is not gsm", "`", UCS, 1, 1),
    ("a lone escape char is not text", "\x1b", UCS, 1, 1),
    ("one cyrillic letter switches the whole text", "a" * 70 + "ж", UCS, 71, 2),
    ("70 ucs-2 units is one part", "ж" * 70, UCS, 70, 1),
    ("134 ucs-2 units is two parts", "ж" * 134, UCS, 134, 2),
    ("135 ucs-2 units is three parts", "ж" * 135, UCS, 135, 3),
    ("devanagari", "नमस्ते", UCS, 6, 1),
    ("emoji counts two units", "😀", UCS, 2, 1),
    ("35 emoji fill one part", "😀" * 35, UCS, 70, 1),
    ("36 emoji need two parts", "😀" * 36, UCS, 72, 2),
    ("surrogate pair never split across parts", "a" * 66 + "😀" + "a" * 66, UCS, 134, 3),
    ("bmp symbol counts one unit", "★" * 70, UCS, 70, 1),
    ("flag is two astral chars", "🇮🇳", UCS, 4, 1),
]


@pytest.mark.parametrize(("text", "encoding", "units", "parts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_text_is_counted_in_its_encoding_units_and_parts(text, encoding, units, parts):
    assert sms_parts(text) == Parts(encoding, units, parts)


def test_every_basic_and_extension_character_keeps_gsm7():
    assert sms_parts(GSM7_BASIC).encoding is GSM
    assert sms_parts(GSM7_EXTENSION) == Parts(GSM, 2 * len(GSM7_EXTENSION), 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a" * 1024, 7), ("€" * 512, 7), ("ж" * 1024, 16), ("😀" * 512, 16)],
    ids=["gsm-max", "euro-max", "ucs2-max", "emoji-max"],
)
def test_the_longest_allowed_content_gets_a_bounded_part_count(text, expected):
    assert sms_parts(text).parts == expected


def test_counting_is_fast_enough_for_every_row_of_a_big_file():
    texts = [f"Hi {i}, your order #{i} has shipped. Reply STOP to opt out. {'€' * (i % 3)}" for i in range(20_000)]
    started = time.perf_counter()
    for text in texts:
        sms_parts(text)
    assert time.perf_counter() - started < 1.0


PRICES = '{"91": 0.0022, "44": 0.035, "1": 0.0079, "1876": 0.05, "default": 0.01}'


@pytest.mark.parametrize(
    ("number", "text", "cost"),
    [
        ("919876543210", "hello", Decimal("0.0022")),
        ("447700900123", "a" * 161, Decimal("0.070")),
        ("18765550100", "hi", Decimal("0.05")),
        ("12025550100", "hi", Decimal("0.0079")),
        ("+919876543210", "ж" * 71, Decimal("0.0044")),
        ("4915112345678", "hi", Decimal("0.01")),
    ],
    ids=["india", "uk-two-parts", "jamaica-longest-prefix", "usa", "plus-sign-ucs2", "default"],
)
def test_the_estimate_is_the_price_per_part_of_the_longest_matching_code_times_parts(number, text, cost):
    assert PriceTable.from_json(PRICES).estimate(number, text) == cost


def test_a_table_without_default_prices_unknown_countries_at_zero():
    assert PriceTable.from_json('{"91": 0.0022}').price_per_part("447700900123") == Decimal(0)


@pytest.mark.parametrize(
    "text",
    ["[]", '{"91": "cheap"}', '{"91": -1}', '{"+91": 0.1}', '{"91": true}'],
    ids=["not-object", "string-price", "negative", "plus-key", "bool"],
)
def test_a_malformed_price_table_is_refused(text):
    with pytest.raises(ValueError, match="price"):
        PriceTable.from_json(text)
