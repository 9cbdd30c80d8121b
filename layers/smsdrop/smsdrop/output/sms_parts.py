"""How many SMS parts a text costs (GSM-7 or UCS-2, 3GPP TS 23.038 / 23.040), and what they are likely to cost.

GSM-7: 160 septets in one part, else 153 per part; an extension-table character (^{}\\[~]|€ and form feed)
takes two septets (escape + char) and is never split across parts. UCS-2 (any character outside the GSM
tables): 70 UTF-16 code units in one part, else 67 per part; a surrogate pair (most emoji) takes two
units and is never split across parts either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

_NOT_GSM7 = re.compile(f"[^{re.escape(GSM7_BASIC + GSM7_EXTENSION)}]")
_EXTENSION = re.compile(f"[{re.escape(GSM7_EXTENSION)}]")
_EXTENSION_SET = frozenset(GSM7_EXTENSION)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class Encoding(StrEnum):
    """The alphabet a text is sent in."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class Parts:
    """A text's encoding, its length in that encoding's units (septets or UTF-16 code units), and its parts."""

    encoding: Encoding
    units: int
    parts: int


@lru_cache(maxsize=4096)
def sms_parts(text: str) -> Parts:
    """The encoding, units and number of parts of `text` (an empty text still costs one part). Cached."""
    if _NOT_GSM7.search(text) is None:
        doubled = len(_EXTENSION.findall(text))
        units = len(text) + doubled
        wide = _is_extension if doubled else None
        return Parts(Encoding.GSM7, units, _count(text, units, GSM7_SINGLE, GSM7_PART, wide))
    astral = len(_ASTRAL.findall(text))
    units = len(text) + astral
    wide = _is_astral if astral else None
    return Parts(Encoding.UCS2, units, _count(text, units, UCS2_SINGLE, UCS2_PART, wide))


def ucs2_culprit(text: str) -> tuple[str, int] | None:
    """The first character of `text` that GSM-7 cannot carry, and its position (from 1); None for a GSM-7 text."""
    found = _NOT_GSM7.search(text)
    return None if found is None else (found[0], found.start() + 1)


def gsm7_parts(text: str) -> int:
    """The parts `text` would take in GSM-7 if each character GSM-7 cannot carry were one it can."""
    return sms_parts(_NOT_GSM7.sub("?", text)).parts


def _is_extension(char: str) -> bool:
    return char in _EXTENSION_SET


def _is_astral(char: str) -> bool:
    return ord(char) > 0xFFFF


def _count(text: str, units: int, single: int, per_part: int, wide: Callable[[str], bool] | None) -> int:
    """Parts of `units`; when some characters take two units (`wide` matches them), none is split."""
    if units <= single:
        return 1
    if wide is None:
        return -(-units // per_part)
    parts, used = 1, 0
    for char in text:
        size = 1 + wide(char)
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


class PriceTable:
    """Price per part by country calling code (longest prefix of the E.164 number wins), with a default."""

    def __init__(self, prices: dict[str, Decimal], default: Decimal) -> None:
        self._prices = prices
        self._default = default
        self._lengths = sorted({len(code) for code in prices}, reverse=True)

    @classmethod
    def from_json(cls, text: str) -> PriceTable:
        """From `{"91": 0.0022, "44": 0.035, "default": 0.01}`; keys are calling codes (digits), or "default"."""
        raw = json.loads(text, parse_float=Decimal, parse_int=Decimal)
        if not isinstance(raw, dict):
            raise ValueError("a price table must be a JSON object of calling code to price per part")
        prices: dict[str, Decimal] = {}
        for code, price in raw.items():
            if not isinstance(price, Decimal) or price < 0:
                raise ValueError(f"price of {code!r} must be a non-negative number")
            if code != "default" and not code.isdigit():
                raise ValueError(f"price key {code!r} must be a calling code (digits) or 'default'")
            prices[code] = price
        default = prices.pop("default", Decimal(0))
        return cls(prices, default)

    def price_per_part(self, number: str) -> Decimal:
        """The price of one part to `number` (E.164 digits, or just a calling code)."""
        digits = number.lstrip("+")
        for length in self._lengths:
            if (price := self._prices.get(digits[:length])) is not None:
                return price
        return self._default

    def estimate(self, number: str, text: str) -> Decimal:
        """The estimated cost of sending `text` to `number`."""
        return self.price_per_part(number) * sms_parts(text).parts
