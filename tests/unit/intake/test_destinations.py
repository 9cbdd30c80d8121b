"""ALLOWED_COUNTRIES: rows to any other country are rejected before anything is sent."""

import pytest

from smsdrop.intake.row_checks import Destinations
from tests.unit.intake.reading import read, reader

FILE = "number,content\n+919876543210,Hi\n+447911123456,Hi\n+12125550100,Hi\n"


def test_rows_to_a_country_that_is_not_allowed_are_rejected_naming_it():
    rows = read(FILE, allowed_countries=frozenset({91, 44}))
    assert [getattr(r, "code", None) for r in rows] == [None, None, "COUNTRY_NOT_ALLOWED"]
    assert rows[2].reason == "country +1 not allowed (ALLOWED_COUNTRIES: 44, 91)"


def test_no_allowed_countries_means_every_country():
    assert all(not hasattr(r, "code") for r in read(FILE))


def test_a_number_that_is_not_a_number_is_rejected_for_that_first():
    (row,) = read("number,content\n+44 12,Hi\n", allowed_countries=frozenset({91}))
    assert row.code == "NUMBER_TOO_SHORT"


def test_the_rule_is_in_the_reader_report():
    source = reader(FILE, allowed_countries=frozenset({91, 44}))
    assert source.report()["allowed_countries"] == [44, 91]
    assert reader(FILE).report()["allowed_countries"] == "all"


@pytest.mark.parametrize(
    ("setting", "allowed"),
    [("", set()), ("91", {91}), (" 91 , +44,", {91, 44}), ("1,358", {1, 358})],
    ids=["empty-is-all", "one", "spaces-plus-and-trailing-comma", "one-and-three-digits"],
)
def test_the_setting_is_calling_codes_separated_by_commas(setting, allowed):
    assert Destinations.parse(setting).allowed == allowed


@pytest.mark.parametrize(
    "setting", ["IN", "91;44", "9144", "+", "٩١"], ids=["region", "semicolon", "four", "plus", "arabic-digits"]
)
def test_a_setting_that_is_not_calling_codes_is_an_error_naming_it(setting):
    with pytest.raises(ValueError, match="ALLOWED_COUNTRIES"):
        Destinations.parse(setting)
