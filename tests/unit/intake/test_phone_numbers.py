import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType, ValidationResult

from smsdrop.intake import phone_numbers
from smsdrop.intake.bounds import NUMBER_CELL_CHARS
from smsdrop.intake.phone_numbers import _SPACES, _WRITTEN, NumberCheck, NumberRules, PhoneNumber, _digits
from smsdrop.intake.rejections import Rejected, Rejection

# (written, default region, E.164 digits sent, country code)
SENDABLE = [
    ("+91 98765 43210", "", "919876543210", 91),
    ("0091 98765 43210", "", "919876543210", 91),
    ("919876543210", "", "919876543210", 91),
    ("98765 43210", "IN", "919876543210", 91),
    ("919876543210", "IN", "919876543210", 91),
    ("098765-43210", "IN", "919876543210", 91),
    ("(+91) 98765 43210", "IN", "919876543210", 91),
    ("+44 7911 123456", "", "447911123456", 44),
    ("+44 (0)7911 123456", "", "447911123456", 44),
    ("07911 123456", "GB", "447911123456", 44),
    ("020 7946 0958", "GB", "442079460958", 44),
    ("+44 7797 712345", "", "447797712345", 44),
    ("+1 (212) 555-0100", "", "12125550100", 1),
    ("212.555.0100", "US", "12125550100", 1),
    ("1-212-555-0100", "US", "12125550100", 1),
    ("011 44 7911 123456", "US", "447911123456", 44),
    ("+1 506 234 5678", "", "15062345678", 1),
    ("+49 1512 3456789", "", "4915123456789", 49),
    ("01512 3456789", "DE", "4915123456789", 49),
    ("+234 803 123 4567", "", "2348031234567", 234),
    ("0803 123 4567", "NG", "2348031234567", 234),
    ("+55 11 96123-4567", "", "5511961234567", 55),
    ("(11) 96123-4567", "BR", "5511961234567", 55),
    ("+54 9 11 2345-6789", "", "5491123456789", 54),
    ("011 15 2345-6789", "AR", "5491123456789", 54),
    ("+800 1234 5678", "", "80012345678", 800),
    ("\u00a0+91\u00a098765\u00a043210 ", "", "919876543210", 91),
]
SENDABLE_IDS = [
    "IN-plus", "IN-00", "IN-digits-no-region", "IN-national", "IN-national-with-country-code",
    "IN-trunk-0", "IN-plus-in-brackets", "GB-plus", "GB-plus-with-(0)", "GB-national-mobile",
    "GB-national-london", "GB-crown-dependency-JE", "US-plus", "US-dots", "US-1-prefix", "US-011-abroad",
    "CA-shares-plus-1", "DE-plus", "DE-national", "NG-plus", "NG-national", "BR-plus", "BR-national",
    "AR-plus-9", "AR-national-15-rewritten", "non-geographic-800", "no-break-spaces",
]  # fmt: skip


@pytest.mark.parametrize(("written", "region", "digits", "country_code"), SENDABLE, ids=SENDABLE_IDS)
def test_a_sendable_number_becomes_e164_digits_and_its_country_code(written, region, digits, country_code):
    assert NumberRules(region).normalise(written) == PhoneNumber(digits, country_code)


# (written, default region, check level, rejection, reason)
UNSENDABLE = [
    ("", "", "valid", Rejection.NUMBER_EMPTY, "number is empty"),
    (" - ", "IN", "valid", Rejection.NUMBER_EMPTY, "number is empty"),
    ("98765abc", "IN", "valid", Rejection.NUMBER_LETTERS, "number contains letters"),
    ("1800 FLOWERS", "US", "valid", Rejection.NUMBER_LETTERS, "number contains letters"),
    ("9.18563E+10", "", "valid", Rejection.NUMBER_SCIENTIFIC, None),
    ("91+9876543210", "", "valid", Rejection.NUMBER_CHARACTERS, None),
    ("#123", "", "valid", Rejection.NUMBER_CHARACTERS, None),
    ("98765/43210", "IN", "valid", Rejection.NUMBER_CHARACTERS, None),
    ("\u0669\u0668\u0667", "", "valid", Rejection.NUMBER_CHARACTERS, None),
    ("12", "", "valid", Rejection.NUMBER_TOO_SHORT_ANY, "number is too short for any country"),
    ("12345", "", "valid", Rejection.NUMBER_TOO_SHORT, "too short for +1"),
    ("+999 1234 5678", "", "valid", Rejection.NUMBER_COUNTRY_UNKNOWN, None),
    ("0 98765 43210", "", "valid", Rejection.NUMBER_COUNTRY_UNKNOWN, None),
    ("+1 2125550100123456789", "", "valid", Rejection.NUMBER_TOO_LONG_ANY, "number is too long for any country"),
    ("+91 98765 4321", "", "valid", Rejection.NUMBER_INVALID, "not a valid number for +91"),
    ("+44 7911 12345", "", "valid", Rejection.NUMBER_INVALID, "not a valid number for +44"),
    ("+1 555 555 5555", "", "valid", Rejection.NUMBER_INVALID, "not a valid number for +1"),
    ("+44 791112", "", "valid", Rejection.NUMBER_LOCAL_ONLY, None),
    ("+44 7911 1234567", "", "possible", Rejection.NUMBER_TOO_LONG, "too long for +44"),
    ("+1 212 555 01", "", "possible", Rejection.NUMBER_TOO_SHORT, "too short for +1"),
    ("987 6543", "IN", "possible", Rejection.NUMBER_LOCAL_ONLY, None),
]
UNSENDABLE_IDS = [
    "empty", "only-separators", "letters", "vanity-letters-never-keypad-digits", "excel-scientific",
    "plus-in-the-middle", "hash", "slash", "arabic-indic-digits", "two-digits", "short-no-region-is-+1",
    "unknown-country-code", "leading-0-without-region", "longer-than-any", "IN-invalid", "GB-invalid",
    "US-555-invalid", "GB-local-only", "GB-too-long-possible", "US-too-short-possible", "IN-local-possible",
]  # fmt: skip


@pytest.mark.parametrize(("written", "region", "check", "rejection", "reason"), UNSENDABLE, ids=UNSENDABLE_IDS)
def test_an_unsendable_number_is_rejected_with_a_reason(written, region, check, rejection, reason):
    with pytest.raises(Rejected) as caught:
        NumberRules(region, check).normalise(written)
    assert caught.value.rejection is rejection
    if reason is not None:
        assert caught.value.reason == reason


PASS_ONLY_AS_POSSIBLE = ["+91 98765 4321", "+1 555 555 5555", "+44 7911 12345"]


@pytest.mark.parametrize("written", PASS_ONLY_AS_POSSIBLE, ids=["IN", "US", "GB"])
def test_the_possible_level_takes_a_number_of_the_right_length_the_valid_level_refuses(written):
    with pytest.raises(Rejected):
        NumberRules("", NumberCheck.VALID).normalise(written)
    assert NumberRules("", "possible").normalise(written).digits == written.translate({32: None, 43: None})


def test_characters_that_are_not_allowed_are_named():
    with pytest.raises(Rejected, match=r"number contains '#', '\+': only digits"):
        NumberRules().normalise("91#98765+43210")


# (written, rejection or None if sent): where a + may stand, and what else a number may be written with
WRITTEN = [
    ("+91 98765 43210", None),
    ("  +91 98765 43210", None),
    ("(+91) 98765-43210", None),
    ("((+91 98765.43210", None),
    ("+(91) 98765 43210", None),
    ("\u00a0+91\u202f98765\t43210 ", None),
    ("91+98765 43210", Rejection.NUMBER_CHARACTERS),
    ("++91 98765 43210", Rejection.NUMBER_CHARACTERS),
    (")+91 98765 43210", Rejection.NUMBER_CHARACTERS),
    ("-+91 98765 43210", Rejection.NUMBER_CHARACTERS),
    ("+91 98765 43210+", Rejection.NUMBER_CHARACTERS),
    ("+91 98765_43210", Rejection.NUMBER_CHARACTERS),
    ("+91 98765\n43210", Rejection.NUMBER_CHARACTERS),
]
WRITTEN_IDS = [
    "plus-first", "spaces-then-plus", "plus-in-brackets", "brackets-then-plus", "plus-then-brackets",
    "unicode-spaces-and-tab", "plus-in-the-middle", "two-pluses", "closing-bracket-then-plus", "dash-then-plus",
    "plus-at-the-end", "underscore", "newline",
]  # fmt: skip


@pytest.mark.parametrize(("written", "rejection"), WRITTEN, ids=WRITTEN_IDS)
def test_a_number_may_hold_separators_and_one_plus_before_its_digits(written, rejection):
    if rejection is None:
        assert NumberRules().normalise(written).digits == "919876543210"
    else:
        with pytest.raises(Rejected) as caught:
            NumberRules().normalise(written)
        assert caught.value.rejection is rejection


def _written_as_a_number(text: str) -> bool:
    """The rule of _WRITTEN in words: separators and digits, and at most one + with only brackets and spaces before."""
    before, plus, after = text.partition("+")
    separators = set("().-" + _SPACES)
    return set(before) <= set("(" + _SPACES) | (set() if plus else separators | set("0123456789")) and (
        set(after) <= separators | set("0123456789")
    )


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="( )+-.09x\u00a0\t", max_size=24))
def test_the_pattern_of_a_written_number_is_its_rule_in_words(text):
    assert (_WRITTEN.fullmatch(text) is not None) == _written_as_a_number(text)


# (cell, rejection): a cell longer than any number is rejected before anything reads it
CELLS = [
    ("1" * NUMBER_CELL_CHARS, Rejection.NUMBER_TOO_LONG_ANY),
    ("1" * (NUMBER_CELL_CHARS + 1), Rejection.NUMBER_CELL_TOO_LONG),
    (" " * 24 + "+91 98765 43210" + " " * 25, None),
    (" " * 25 + "+91 98765 43210" + " " * 25, Rejection.NUMBER_CELL_TOO_LONG),
    ("(" * 131_071 + "!", Rejection.NUMBER_CELL_TOO_LONG),
    (" " * 131_071 + "x", Rejection.NUMBER_CELL_TOO_LONG),
]


@pytest.mark.parametrize(
    ("cell", "rejection"),
    CELLS,
    ids=["64-digits", "65-digits", "padded-to-64", "padded-to-65", "131072-brackets", "131072-spaces"],
)
def test_a_number_cell_longer_than_any_number_is_rejected_as_such(cell, rejection):
    if rejection is None:
        assert NumberRules().normalise(cell).digits == "919876543210"
        return
    with pytest.raises(Rejected) as caught:
        NumberRules().normalise(cell)
    assert caught.value.rejection is rejection
    if rejection is Rejection.NUMBER_CELL_TOO_LONG:
        assert caught.value.reason == f"number is {len(cell)} characters, too long to be a phone number (limit 64)"


def test_an_unknown_default_region_is_refused_at_once():
    with pytest.raises(ValueError, match="XX"):
        NumberRules("XX")


def test_an_unknown_check_level_is_refused_at_once():
    with pytest.raises(ValueError, match="strict"):
        NumberRules("", "strict")


def test_a_number_seen_again_is_answered_from_the_cache(monkeypatch):
    read = []
    monkeypatch.setattr(phone_numbers, "_digits", lambda written: read.append(written) or _digits(written))
    rules = NumberRules("IN")
    assert rules.normalise("98765 43210") == rules.normalise("98765 43210")
    assert read == ["98765 43210"]


def _library_says(international: bool, digits: str, region: str, check: str) -> str | None:
    """What phonenumbers itself makes of the digits, or None; a leading 00 is international, as in our rules."""
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    text, region = ("+" + digits, None) if international or not region else (digits, region)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if check == "valid":
        ok = phonenumbers.is_valid_number(number)
    else:
        ok = phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE
    return f"{number.country_code}{phonenumbers.national_significant_number(number)}" if ok else None


def _we_say(international: bool, digits: str, region: str, check: str) -> str | None:
    try:
        return NumberRules(region, check).normalise(("+" if international else "") + digits).digits
    except Rejected:
        return None


def _written_forms(region: str, rng: random.Random) -> list[tuple[bool, str]]:
    """Example numbers of the region written every common way, and near misses."""
    code = str(phonenumbers.country_code_for_region(region))
    trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or "0"
    forms = []
    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        nsn = phonenumbers.national_significant_number(example)
        i = rng.randrange(len(nsn))
        for national in (nsn, trunk + nsn, nsn[:-1], nsn + "7", nsn[:i] + str(rng.randrange(10)) + nsn[i + 1 :]):
            forms += [(False, national), (False, code + national), (True, code + national)]
    return forms


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_region_agrees_with_libphonenumber_on_its_example_numbers(region):
    rng = random.Random(region)
    for home in ("", region, rng.choice(sorted(phonenumbers.SUPPORTED_REGIONS))):
        for check in ("valid", "possible"):
            for international, digits in _written_forms(region, rng):
                expected = _library_says(international, digits, home, check)
                assert _we_say(international, digits, home, check) == expected, (international, digits, home)


@settings(max_examples=400, deadline=None)
@given(
    international=st.booleans(),
    digits=st.text(alphabet="0123456789", min_size=1, max_size=18),
    region=st.sampled_from(["", "IN", "GB", "US", "DE", "NG", "BR", "AR", "MX", "JP", "IT", "RU", "FR", "CN"]),
    check=st.sampled_from(["valid", "possible"]),
)
def test_any_digits_get_the_same_answer_as_libphonenumber(international, digits, region, check):
    assert _we_say(international, digits, region, check) == _library_says(international, digits, region, check)
