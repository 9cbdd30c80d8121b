"""Phone numbers in logs and messages: only ever the last four digits, always behind the same mask."""

import re

MASK = "••••"
_LONG_DIGITS = re.compile(r"\d{7,}")


def mask_number(number: str) -> str:
    """`919876543210` -> `••••3210`: enough to find a row, not enough to text someone."""
    digits = "".join(c for c in number if c.isdigit())
    return f"{MASK}{digits[-4:]}" if len(digits) > 4 else MASK


def mask_digits(text: str) -> str:
    """`text` with every run of 7+ digits (a phone number) cut to its last 4: "abnormal ••••1412"."""
    return _LONG_DIGITS.sub(lambda m: MASK + m.group()[-4:], text)
