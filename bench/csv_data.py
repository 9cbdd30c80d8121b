"""Realistic synthetic CSVs for the benches: Indian mobiles written four ways, shared and personalised texts."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path

HEADER = ("Phone", "Message", "Sender", "Reference")

_NAMES = ("Asha", "Karan", "Meera", "Sneha", "Rahul", "Priya", "Vikram", "Anjali", "Arjun", "Divya", "Rohan", "Kavya")
_CAMPAIGNS = (
    ("Flash sale! 20% off everything until midnight. Reply STOP to opt out.", "ACMESHOP"),
    ("Your appointment at City Clinic is tomorrow at 10:30. Reply Y to confirm.", "CITYCLN"),
    ("Reminder: your electricity bill of ₹1,240 is due on 30 Nov. Pay online at powerco.example to avoid a fee.",
     "POWERCO"),
    ("Big Diwali sale starts tomorrow: up to 50% off on electronics, fashion and home. Free delivery on orders "
     "above ₹499. T&C apply.", "ACMESHOP"),
    ("नमस्ते! आपका ऑर्डर भेज दिया गया है।", "ACMESHOP"),
)  # fmt: skip
_LONG = (
    "Dear customer, your policy renewal is due on 15 Dec. Renew online before the due date to keep your cover "
    "without a break and to keep your no-claim bonus. Log in at insure.example with your policy number, or call "
    "1800 000 000 (toll free, 9am to 9pm, Monday to Saturday). Ignore this message if you have already renewed. "
    "Reply STOP to opt out."
)
_BAD_NUMBERS = ("9.18563E+10", "98765-ABCDE", "12345", "")


def synthetic_rows(count: int, seed: int = 7) -> Iterator[tuple[str, str, str, str]]:
    """`count` realistic rows: Indian mobiles written four ways; shared campaign texts (~45%), personalised
    texts (~45%), long multi-part texts (~5%), Hindi OTPs (~4%); ~0.5% bad numbers, ~0.5% repeated rows."""
    rng = random.Random(seed)
    previous: tuple[str, str, str, str] | None = None
    for i in range(count):
        national = f"{rng.choice('6789')}{(i * 7_919_993 + 1_234_567) % 1_000_000_000:09d}"
        number = _written(national, i % 4)
        order = f"CMP-{100_000 + i}"
        pick = rng.random()
        if pick < 0.45:
            content, sender = _CAMPAIGNS[i % len(_CAMPAIGNS)]
        elif pick < 0.90:
            name = _NAMES[i % len(_NAMES)]
            content = f"Hi {name}, your order #{10_000 + i} has shipped and will arrive within {1 + i % 5} days."
            sender = "ACMESHOP"
        elif pick < 0.95:
            content, sender = _LONG, "INSURECO"
        elif pick < 0.99:
            content, sender = f"आपका OTP {rng.randrange(100_000, 999_999)} है। इसे किसी से साझा न करें।", "ACMEOTP"
        elif pick < 0.995 or previous is None:
            number, content, sender = _BAD_NUMBERS[i % len(_BAD_NUMBERS)], _CAMPAIGNS[0][0], "ACMESHOP"
        else:
            number, content, sender = previous[0], previous[1], previous[2]
        row = (number, content, sender, order)
        previous = row
        yield row


def _written(national: str, style: int) -> str:
    if style == 0:
        return f"91{national}"
    if style == 1:
        return f"+91{national}"
    if style == 2:
        return f"+91 {national[:5]} {national[5:]}"
    return f"0091{national}"


def write_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """Write a CSV of `rows` synthetic rows (streamed; never all in memory)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(synthetic_rows(rows, seed))
    return path


def csv_bytes(rows: int, seed: int = 7) -> bytes:
    """The same CSV in memory (for small inputs)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(synthetic_rows(rows, seed))
    return out.getvalue().encode()
