"""Phone numbers in logs and messages: only ever the last four digits."""

import re

_LONG_DIGITS = re.compile(r"\d{7,}")


def mask_number(number: str) -> str:
    """`919876543210` -> `••••3210`: enough to find a row, not enough to text someone."""
    digits = "".join(c for c in number if c.isdigit())
    return f"••••{digits[-4:]}" if len(digits) > 4 else "••••"


def mask_digits(text: str) -> str:
    """`text` with every run of 7+ digits (a phone number) cut to its last 4: "****1412"."""
    return _LONG_DIGITS.sub(lambda m: "****" + m.group()[-4:], text)
