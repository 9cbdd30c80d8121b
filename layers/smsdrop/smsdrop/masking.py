"""Phone numbers in logs and messages: only ever the last four digits."""


def mask_number(number: str) -> str:
    """`919876543210` -> `••••3210`: enough to find a row, not enough to text someone."""
    digits = "".join(c for c in number if c.isdigit())
    return f"••••{digits[-4:]}" if len(digits) > 4 else "••••"
