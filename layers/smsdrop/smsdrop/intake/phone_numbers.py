"""Phone numbers as people write them, turned into what the provider takes: E.164 digits without '+'.

The rules are libphonenumber's (`phonenumbers` and its metadata). Its `parse` is generic and slow (about
15 µs a number), so what `parse`, `is_valid_number` and `is_possible_number` do with digit-only input is
replayed here on metadata compiled once per country; the rare national prefix that rewrites digits
(national_prefix_transform_rule) is left to `phonenumbers.parse`. Tests compare the two on every region.

A cell longer than NUMBER_CELL_CHARS is no number and is rejected before any pattern sees it; the patterns
themselves are linear (no two ways to match the same text), so no cell can hold up a job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum, StrEnum
from functools import cache, lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, PhoneMetadata, PhoneNumberDesc

from smsdrop.intake.bounds import CHARACTERS_LISTED, NUMBER_CELL_CHARS, listed
from smsdrop.intake.rejections import Rejected, Rejection

_MIN_NSN = 2
_MAX_NSN = 17
_NON_GEO = "001"
_SPACES = " \t\u00a0\u2009\u202f"
_ALLOWED = frozenset("0123456789().-" + _SPACES)
_WRITTEN = re.compile(f"(?:[({_SPACES}]*\\+)?[0-9().\\-{_SPACES}]*")  # a + only after brackets and spaces
_SCIENTIFIC = re.compile(r"\s*\d+([.,]\d+)?[eE]\+?\d+\s*")
_NOT_DIGITS = str.maketrans("", "", "+().-" + _SPACES)
_CODES = frozenset(map(str, COUNTRY_CODE_TO_REGION_CODE))


class NumberCheck(StrEnum):
    """How strictly a number is checked: `valid` (in an allocated range) or `possible` (length fits)."""

    VALID = "valid"
    POSSIBLE = "possible"


class PhoneNumber(NamedTuple):
    """A number fit to send: E.164 digits without '+', and its country calling code."""

    digits: str
    country_code: int


class NumberRules:
    """Normalises and checks numbers for one default region and check level.

    `normalise(written)` gives the PhoneNumber, or raises Rejected with a reason naming the country and
    the level ("not a valid number for +91", "too short for +44"). Recent answers are cached.
    """

    def __init__(
        self, default_region: str = "", check: NumberCheck | str = NumberCheck.VALID, cache_size: int = 4096
    ) -> None:
        self._home = _region_plan(default_region.upper()) if default_region else None
        self._checks: Callable[[_Country, str], None] = _CHECKS[NumberCheck(check)]
        self._cached: Callable[[str], PhoneNumber] = lru_cache(maxsize=cache_size)(self._normalise)

    def normalise(self, written: str) -> PhoneNumber:
        """The number to send; Rejected with the reason if `written` is not one (see the class)."""
        if len(written) > NUMBER_CELL_CHARS:
            raise Rejected(Rejection.NUMBER_CELL_TOO_LONG, length=len(written), limit=NUMBER_CELL_CHARS)
        return self._cached(written)

    def _normalise(self, written: str) -> PhoneNumber:
        international, digits = _digits(written)
        if international or self._home is None:
            country, nsn = _split_international(digits)
        else:
            country, nsn = _split_national(digits, self._home)
        self._checks(country, nsn)
        return PhoneNumber(country.code + nsn, country.country_code)


def _digits(written: str) -> tuple[bool, str]:
    """Whether the number is written internationally (+ or 00), and its digits after that prefix."""
    if not (written.isdigit() and written.isascii()):
        written = _only_digits(written)
    if written.startswith("00"):
        return True, written[2:]
    return written.startswith("+"), written.lstrip("+")


def _only_digits(written: str) -> str:
    """The digits of a number written with separators, keeping a leading '+'; Rejected for anything else."""
    if _WRITTEN.fullmatch(written) is None:
        rejection, details = _character_problem(written)
        raise Rejected(rejection, **details)
    digits = written.translate(_NOT_DIGITS)
    if not digits:
        raise Rejected(Rejection.NUMBER_EMPTY)
    return "+" + digits if "+" in written else digits


def _character_problem(written: str) -> tuple[Rejection, dict[str, str]]:
    if _SCIENTIFIC.fullmatch(written):
        return Rejection.NUMBER_SCIENTIFIC, {}
    if any(c.isalpha() for c in written):
        return Rejection.NUMBER_LETTERS, {}
    text = written.strip(_SPACES).lstrip("(" + _SPACES)
    odd = {c for c in text if c not in _ALLOWED} - {"+"} | ({"+"} if "+" in text[1:] else set())
    return Rejection.NUMBER_CHARACTERS, {"characters": listed(sorted(odd), CHARACTERS_LISTED)}


def _split_international(digits: str) -> tuple[_Country, str]:
    """The country and national significant number of country code + national number digits."""
    if len(digits) <= _MIN_NSN:
        raise Rejected(Rejection.NUMBER_TOO_SHORT_ANY)
    country = _country(_country_code(digits))
    nsn = digits[len(country.code) :]
    if country.main.transforms_prefix(nsn):
        return _library_split("+" + digits, None)
    return country, _national(country.main, nsn)


def _split_national(digits: str, home: _Plan) -> tuple[_Country, str]:
    """The country and national significant number of digits written as dialled in `home`."""
    if home.dials_abroad(digits) or home.transforms_prefix(digits.removeprefix(home.code)):
        return _library_split(digits, home.region)
    country = _country(home.code)
    rest = home.strip_country_code(digits)
    plan, nsn = (home, digits) if rest is None else (country.main, rest)
    if plan.transforms_prefix(nsn):
        return _library_split(digits, home.region)
    return country, _national(plan, nsn)


def _country_code(digits: str) -> str:
    """The country calling code the digits start with (codes are prefix-free)."""
    for code in (digits[:1], digits[:2], digits[:3]):
        if code in _CODES:
            return code
    raise Rejected(Rejection.NUMBER_COUNTRY_UNKNOWN)


def _national(plan: _Plan, nsn: str) -> str:
    """parse's last steps: a national significant number of 2 to 17 digits, its trunk prefix stripped."""
    if len(nsn) < _MIN_NSN:
        raise Rejected(Rejection.NUMBER_TOO_SHORT_ANY)
    nsn = plan.strip_national_prefix(nsn)
    if len(nsn) > _MAX_NSN:
        raise Rejected(Rejection.NUMBER_TOO_LONG_ANY)
    return nsn


_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: Rejection.NUMBER_COUNTRY_UNKNOWN,
    NumberParseException.TOO_LONG: Rejection.NUMBER_TOO_LONG_ANY,
}


def _library_split(text: str, region: str | None) -> tuple[_Country, str]:
    """The slow, complete path: libphonenumber's own parse."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        raise Rejected(_PARSE_ERRORS.get(error.error_type, Rejection.NUMBER_TOO_SHORT_ANY)) from None
    return _country(str(number.country_code)), phonenumbers.national_significant_number(number)


class _Length(Enum):
    """libphonenumber's ValidationResult for a length, with the rejection it leads to."""

    POSSIBLE = None
    LOCAL_ONLY = Rejection.NUMBER_LOCAL_ONLY
    TOO_SHORT = Rejection.NUMBER_TOO_SHORT
    TOO_LONG = Rejection.NUMBER_TOO_LONG
    INVALID = Rejection.NUMBER_LENGTH


_LONG_ENOUGH = (_Length.POSSIBLE, _Length.TOO_LONG)
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


class _Plan:
    """One region's numbering plan, compiled once from libphonenumber's metadata."""

    def __init__(self, metadata: PhoneMetadata, region: str) -> None:
        general = _general_desc(metadata)
        self.region = region
        self.code = str(metadata.country_code)
        self.leading_digits = _compiled(metadata.leading_digits)
        self._general = re.compile(general.national_number_pattern or "(?!)")
        self._types = _types_by_length(metadata, self._general.pattern)
        self._lengths: tuple[int, ...] = tuple(general.possible_length)
        self._local: tuple[int, ...] = tuple(general.possible_length_local_only)
        self._prefix = _compiled(metadata.national_prefix_for_parsing)
        self._transform = bool(metadata.national_prefix_transform_rule)
        self._abroad = _compiled(metadata.international_prefix)

    def is_valid(self, nsn: str) -> bool:
        """libphonenumber's `_number_type_helper(nsn, metadata) != UNKNOWN`."""
        types = self._types.get(len(nsn))
        return types is not None and types.fullmatch(nsn) is not None

    def length(self, nsn: str) -> _Length:
        """libphonenumber's `_test_number_length(nsn, metadata)`."""
        size = len(nsn)
        if size in self._local:
            return _Length.LOCAL_ONLY
        if size in self._lengths:
            return _Length.POSSIBLE
        if size < self._lengths[0]:
            return _Length.TOO_SHORT
        return _Length.TOO_LONG if size > self._lengths[-1] else _Length.INVALID

    def dials_abroad(self, digits: str) -> bool:
        """Whether `digits` start with this region's own international prefix (011 in the US...)."""
        match = self._abroad.match(digits) if self._abroad else None
        return match is not None and digits[match.end() : match.end() + 1] != "0"

    def transforms_prefix(self, nsn: str) -> bool:
        """Whether stripping the national prefix would rewrite digits (that is left to libphonenumber)."""
        match = self._prefix.match(nsn) if self._transform and self._prefix else None
        return match is not None and bool(match.groups()) and match.groups()[-1] is not None

    def strip_country_code(self, digits: str) -> str | None:
        """What follows this country's code in `digits` if parse would take it as one, else None."""
        if not digits.startswith(self.code):
            return None
        rest = self._without_prefix(digits[len(self.code) :])
        if (not self._is_viable(digits) and self._is_viable(rest)) or self.length(digits) is _Length.TOO_LONG:
            return rest
        return None

    def strip_national_prefix(self, nsn: str) -> str:
        """`nsn` without a national (trunk) prefix such as 0, when what is left is long enough."""
        rest = self._without_prefix(nsn)
        return nsn if rest is nsn or self.length(rest) not in _LONG_ENOUGH else rest

    def _without_prefix(self, nsn: str) -> str:
        match = self._prefix.match(nsn) if self._prefix else None
        if match is None or (self._is_viable(nsn) and not self._is_viable(nsn[match.end() :])):
            return nsn
        return nsn[match.end() :]

    def _is_viable(self, nsn: str) -> bool:
        return self._general.fullmatch(nsn) is not None


class _Country:
    """The plans sharing one country calling code, main region first, as libphonenumber orders them."""

    def __init__(self, code: str, plans: tuple[_Plan, ...]) -> None:
        self.code = code
        self.country_code = int(code)
        self.main = plans[0]
        self._others = plans[1:]
        self._plans = plans

    def is_valid(self, nsn: str) -> bool:
        """libphonenumber's `is_valid_number`: valid for the region that claims it."""
        if not self._others:
            return self.main.is_valid(nsn)
        for plan in self._plans:
            if plan.leading_digits is not None:
                if plan.leading_digits.match(nsn):
                    return plan.is_valid(nsn)
            elif plan.is_valid(nsn):
                return True
        return False


def _types_by_length(metadata: PhoneMetadata, general: str) -> dict[int, re.Pattern[str]]:
    """For each possible length, one pattern for "matches the general pattern and that of some type"."""
    descs = [d for d in (getattr(metadata, name) for name in _TYPES) if d and d.national_number_pattern]
    patterns = {}
    for size in _general_desc(metadata).possible_length:
        fits = [d.national_number_pattern for d in descs if not d.possible_length or size in d.possible_length]
        if fits:
            patterns[size] = re.compile(f"(?=(?:{general})\\Z)(?:" + "|".join(f"(?:{p})" for p in fits) + ")")
    return patterns


def _general_desc(metadata: PhoneMetadata) -> PhoneNumberDesc:
    """The general description every region's metadata carries (the library types it as optional)."""
    if metadata.general_desc is None:
        raise ValueError(f"no general number description for {metadata.id}")
    return metadata.general_desc


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


@cache
def _region_plan(region: str) -> _Plan:
    """The plan of a region such as IN; ValueError if libphonenumber does not know it."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        raise ValueError(f"unknown region {region!r}")
    return _Plan(metadata, region)


@cache
def _country(code: str) -> _Country:
    """The plans of a country calling code (a region or, for codes like 800, the non-geographic entity)."""
    regions = COUNTRY_CODE_TO_REGION_CODE[int(code)]
    if regions == (_NON_GEO,):
        metadata = PhoneMetadata.metadata_for_nongeo_region(int(code))
        if metadata is None:
            raise ValueError(f"unknown calling code {code}")
        return _Country(code, (_Plan(metadata, _NON_GEO),))
    return _Country(code, tuple(_region_plan(region) for region in regions))


def _check_possible(country: _Country, nsn: str) -> None:
    """libphonenumber's `is_possible_number_with_reason` is IS_POSSIBLE (a local-only length is not)."""
    length = country.main.length(nsn)
    if length is not _Length.POSSIBLE:
        raise Rejected(length.value, country_code=country.code, digits=len(nsn))


def _check_valid(country: _Country, nsn: str) -> None:
    """libphonenumber's `is_valid_number`; the reason names the length if that is what is wrong."""
    if not country.is_valid(nsn):
        _check_possible(country, nsn)
        raise Rejected(Rejection.NUMBER_INVALID, country_code=country.code)


_CHECKS: dict[NumberCheck, Callable[[_Country, str], None]] = {
    NumberCheck.VALID: _check_valid,
    NumberCheck.POSSIBLE: _check_possible,
}
