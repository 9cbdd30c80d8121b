"""Cheaper texts: the character that forces UCS-2 and what it costs; GSM_SAFE twins, counted."""

import pytest

from smsdrop.output.cheaper_texts import GSM_TWINS, LISTED, TextTally, gsm_safe
from smsdrop.output.sms_parts import Encoding, gsm7_parts, sms_parts, ucs2_culprit
from tests.unit.intake.reading import read, reader

APOSTROPHE = "\u2019"
QUOTED = f"Don{APOSTROPHE}t miss it"


@pytest.mark.parametrize(
    ("text", "culprit"),
    [(QUOTED, (APOSTROPHE, 4)), ("plain GSM-7 [text] €", None), (f"emoji 😀 then {APOSTROPHE}", ("😀", 7))],
    ids=["curly-apostrophe", "gsm-7", "first-of-several"],
)
def test_the_culprit_is_the_first_character_gsm7_cannot_carry_and_its_position_from_one(text, culprit):
    assert ucs2_culprit(text) == culprit


def test_a_culprit_can_double_the_parts():
    text = QUOTED + "." * 70  # 82 characters: two UCS-2 parts, one GSM-7 part
    assert (sms_parts(text).parts, gsm7_parts(text)) == (2, 1)


@pytest.mark.parametrize(
    ("text", "safe", "replaced"),
    [
        ("\u2018Hi\u2019 \u201cyou\u201d \u2013 \u2014 wait\u2026\u00a0now", "'Hi' \"you\" - - wait... now", 8),
        ("nothing to do [ok] €", "nothing to do [ok] €", 0),
        ("नमस्ते\u2019", "नमस्ते'", 1),
    ],
    ids=["each-kind", "already-gsm", "still-ucs2-after"],
)
def test_gsm_safe_swaps_the_usual_offenders_for_their_twins_and_counts_them(text, safe, replaced):
    assert gsm_safe(text) == (safe, replaced)


def test_every_twin_is_gsm7():
    assert all(sms_parts(twin).encoding is Encoding.GSM7 for twin in GSM_TWINS.values())
    assert all(sms_parts(offender).encoding is Encoding.UCS2 for offender in GSM_TWINS)


def test_the_tally_lists_the_first_distinct_ucs2_texts_with_their_culprit_and_cost():
    tally = TextTally()
    for row in range(2, 2 + LISTED + 5):
        tally.add(f"Offer {row}{APOSTROPHE}s", row, 0)
    tally.add("Offer 2\u2019s", 99, 0)
    tally.add("plain", 100, 0)
    ucs2 = tally.as_json()["ucs2"]
    assert ucs2["rows"] == LISTED + 6
    assert len(ucs2["contents"]) == LISTED
    assert ucs2["contents"][0] == {
        "around": "Offer 2\u2019s",
        "first_row": 2,
        "rows": 2,
        "character": APOSTROPHE,
        "code": "U+2019",
        "position": 8,
        "parts": 1,
        "gsm7_parts": 1,
    }


def test_only_a_few_characters_around_the_culprit_are_shown_never_the_whole_text():
    tally = TextTally()
    tally.add("Your code is 482913. " + "x" * 30 + APOSTROPHE + "y" * 30, 2, 0)
    assert tally.as_json()["ucs2"]["contents"][0]["around"] == "…" + "x" * 10 + APOSTROPHE + "y" * 10 + "…"


FILE = f"number,content\n+447911123456,{QUOTED}\n+447911123457,{QUOTED}\n+447911123458,plain\n"


def test_with_gsm_safe_the_text_sent_is_gsm7_and_the_replacements_are_reported():
    source = reader(FILE, gsm_safe=True)
    rows = list(source.rows())
    assert [r.content for r in rows] == ["Don't miss it", "Don't miss it", "plain"]
    assert source.report()["gsm_safe"] == {"on": True, "characters": 2, "rows": 2}
    assert source.report()["ucs2"] == {"rows": 0, "contents": []}


def test_without_gsm_safe_the_text_is_sent_as_written_and_the_culprit_is_reported():
    source = reader(FILE)
    rows = list(source.rows())
    assert rows[0].content == QUOTED
    report = source.report()
    assert report["gsm_safe"] == {"on": False, "characters": 0, "rows": 0}
    assert report["ucs2"]["rows"] == 2
    assert [(c["character"], c["position"], c["rows"]) for c in report["ucs2"]["contents"]] == [(APOSTROPHE, 4, 2)]


def test_rejected_rows_are_not_in_the_tally():
    rows = read(f"number,content\nnot a number,{QUOTED}\n+447911123456,ok\n")
    assert rows[0].code == "NUMBER_LETTERS"
    source = reader(f"number,content\nnot a number,{QUOTED}\n+447911123456,ok\n")
    list(source.rows())
    assert source.report()["ucs2"]["rows"] == 0
