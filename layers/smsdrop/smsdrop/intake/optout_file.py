"""Opt-out files: a CSV dropped under `optouts/` puts its numbers on the opt-out list, one under `optouts/remove/`
takes them off. The number column is found by a header named as a job file's (`number`, `phone`, `mobile`,
`msisdn`, `numbers`); without one, the first column of every line is the number (a bare list, as a provider's STOP
export may be). The delimiter is sniffed from the first line as a job file's is. Numbers are normalised as a job's
are, at the `possible` level (a number of the right length is listed, even one a job would reject), so the list
holds exactly what a row's number is compared with. A cell that is no number is counted by row, never stored."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from smsdrop.intake.columns import ALIASES
from smsdrop.intake.file_format import sniffed_delimiter
from smsdrop.intake.phone_numbers import NumberCheck, NumberRules
from smsdrop.intake.rejections import Rejected

OPT_OUT_PREFIX = "optouts/"
REMOVE_PREFIX = f"{OPT_OUT_PREFIX}remove/"
OPT_OUT_SUFFIX = ".csv"
BAD_ROWS_KEPT = 20
_NAME_NOISE = re.compile(r"[\s_\-]+")  # a header name is matched as a job file's (columns.py)


def is_opt_out_file(key: str) -> bool:
    """Whether the object is an opt-out file (a .csv under optouts/, or optouts/remove/)."""
    return key.startswith(OPT_OUT_PREFIX) and key.lower().endswith(OPT_OUT_SUFFIX)


def removes(key: str) -> bool:
    """Whether the opt-out file takes its numbers off the list (under optouts/remove/) rather than adding them."""
    return key.startswith(REMOVE_PREFIX)


@dataclass(slots=True)
class OptOutNumbers:
    """Reads the numbers of an opt-out file; `rows` read and the `bad` rows (no number) are known as it goes."""

    rules: NumberRules
    rows: int = 0
    bad: int = 0
    bad_rows: list[int] = field(default_factory=list)
    """The first BAD_ROWS_KEPT rows (header = 1) whose cell is no number."""

    @classmethod
    def for_region(cls, default_region: str) -> OptOutNumbers:
        """A reader that reads national numbers as numbers of `default_region` (empty: international only)."""
        return cls(NumberRules(default_region, NumberCheck.POSSIBLE))

    def numbers(self, lines: Iterable[bytes]) -> Iterator[str]:
        """The E.164 digits of each row's number, from the file's lines (bytes, UTF-8 with or without a BOM)."""
        text = codecs.iterdecode(lines, "utf-8-sig", errors="replace")
        first = next(text, None)
        if first is None:
            return
        delimiter = sniffed_delimiter(first)
        column, header = _number_column(next(csv.reader([first], delimiter=delimiter), []))
        records = csv.reader(text if header else _again(first, text), delimiter=delimiter)
        for row, cells in enumerate(records, start=2 if header else 1):
            number = self._number(cells[column] if column < len(cells) else "", row)
            if number:
                yield number

    def _number(self, cell: str, row: int) -> str | None:
        self.rows += 1
        if not cell.strip():
            return None
        try:
            return self.rules.normalise(cell.strip()).digits
        except Rejected:
            self.bad += 1
            if len(self.bad_rows) < BAD_ROWS_KEPT:
                self.bad_rows.append(row)
            return None


def _number_column(first: list[str]) -> tuple[int, bool]:
    """The number's column, and whether `first` is a header naming it (else: column 0, and `first` is data)."""
    names = [_NAME_NOISE.sub("", cell).lower().removeprefix("\ufeff") for cell in first]
    found = next((i for i, name in enumerate(names) if name in ALIASES["number"]), None)
    return (0, False) if found is None else (found, True)


def _again(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
