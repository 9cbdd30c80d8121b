"""`smsdrop optout add|remove|check NUMBER...`: the opt-out list by hand, as an operator takes a STOP reply.

Numbers are read as a job's are (national numbers in the stack's DEFAULT_REGION, or `--region`), so the list holds
what a row's number is compared with; what is printed names numbers only by their last four digits."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from smsdrop.intake.optout_file import OptOutNumbers
from smsdrop.intake.rejections import Rejected
from smsdrop.masking import mask_number
from smsdrop.store.optouts import OptOutList


def numbers_of(written: Iterable[str], region: str) -> tuple[list[str], list[str]]:
    """(E.164 digits of the numbers, what could not be read as a number) of the numbers as the operator typed them."""
    rules = OptOutNumbers.for_region(region).rules
    good, bad = [], []
    for one in written:
        try:
            good.append(rules.normalise(one.strip()).digits)
        except Rejected as rejected:
            bad.append(f"{mask_number(one)}: {rejected}")
    return good, bad


def apply(optouts: OptOutList, action: str, numbers: list[str], by: str) -> Iterator[str]:
    """Do `action` (add, remove or check) to `numbers`; a line for the operator per number."""
    if action == "check":
        listed = optouts.opted_out(numbers)
        yield from (f"{mask_number(n)}: {'opted out' if n in listed else 'not on the list'}" for n in numbers)
    elif action == "add":
        optouts.add(numbers, f"smsdrop optout add, by {by}", time.time())
        yield from (f"{mask_number(n)}: added to the opt-out list" for n in numbers)
    else:
        optouts.remove(numbers)
        yield from (f"{mask_number(n)}: taken off the opt-out list" for n in numbers)
