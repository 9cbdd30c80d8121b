"""Rows of a recipients CSV in S3, streamed and checked one at a time: each becomes a Recipient or a RowError.

Bytes come in chunks (gzip inflated on the fly), are cut into lines whose byte offsets are known (line_feed.py),
and the lines go to `csv.reader`, which joins the lines of quoted fields; its `line_num` tells where each record
ends, so every row knows the exact offset it starts at, and a checkpoint can resume there.

Whole-file problems found before the first row (empty, binary, not UTF-8 in the first block, missing
columns) raise FileRefused before any row; bytes that are not UTF-8 further on reject only their rows.
Corrupt gzip, a line over MAX_LINE_BYTES, a quote that never closes or more than MAX_BLANK_LINES blank
lines can only be found where they are, so they raise FileRefused there, after earlier rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from smsdrop.intake.columns import Columns
from smsdrop.intake.line_feed import LineFeed, ObjectBytes
from smsdrop.intake.phone_numbers import NumberRules
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.intake.row_checks import RowCheck
from smsdrop.models import Position, Row

MAX_BLANK_LINES = 1 << 20  # more than a spreadsheet has rows: only a generated file has more


@dataclass(frozen=True, slots=True)
class RowRules:
    """How rows are checked: the default region and level for numbers, duplicates, the job for orderIds."""

    default_region: str = ""
    number_check: str = "valid"
    reject_duplicates: bool = True
    job_id: str = ""

    def check(self, columns: Columns) -> RowCheck:
        """The check of the data rows under these columns."""
        numbers = NumberRules(self.default_region, self.number_check)
        return RowCheck(columns, numbers, self.reject_duplicates, self.job_id)


class RecipientReader:
    """Streams the rows of one S3 object (plain or gzip CSV) and checks each; never holds the whole file."""

    def __init__(self, s3_client: Any, bucket: str, key: str, version_id: str | None, rules: RowRules) -> None:
        self._open = ObjectBytes(s3_client, bucket, key, version_id)
        self._rules = rules
        self._row = 1
        self._end = 0
        self._blank_lines = 0

    @property
    def position(self) -> Position:
        """Right after the last record read (a row yielded or a blank line skipped), or the data start."""
        return Position(offset=self._end, row=self._row)

    @property
    def blank_lines(self) -> int:
        """Blank lines skipped so far in the file, those before a resume point included."""
        return self._blank_lines

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """Every data row from `start` (default: the first), checked; FileRefused if the file cannot be used.

        Rows are numbered as records (header = 1). On a resume the part before `start` is read and checked
        again, not yielded: duplicates and repeated orderIds are still found, and blank lines still counted.
        """
        feed = LineFeed(self._open())
        records = csv.reader(feed.lines(), strict=True)  # a quote left open must not swallow the rows after it
        columns = _header(records, feed)
        self._row, self._end, self._blank_lines = 1, feed.offset_at(records.line_num), 0
        checked = self._checked(records, feed, self._rules.check(columns))
        fresh = start is None or start.offset <= self._end
        if not fresh:
            self._skip(checked, start)  # type: ignore[arg-type]
        rows = (row for row in checked if row is not None)
        first = next(rows, None)
        if first is None and fresh:
            raise FileRefused(FileProblem.HEADER_ONLY, columns.names)
        if first is not None:
            yield first
            yield from rows

    def _skip(self, checked: Iterator[Row | None], start: Position) -> None:
        """Read the records before `start`; ValueError if no record starts there."""
        for _ in checked:
            if self._end >= start.offset:
                break
        if self.position != start:
            raise ValueError(f"{start} is not a record boundary of this file (reached {self.position})")

    def _checked(self, records: Iterator[list[str]], feed: LineFeed, check: RowCheck) -> Iterator[Row | None]:
        """Each record checked (None for a blank line); the position moves past each as it is read."""
        row, end, line = self._row, self._end, records.line_num  # type: ignore[attr-defined]
        try:
            for fields in records:
                row += 1
                first_line, line = line, records.line_num  # type: ignore[attr-defined]
                offset, end = end, feed.offset_at(line)
                if first_line < feed.dirty_until and (undecoded := check.undecoded(fields)):
                    result: Row | None = check.refuse(fields, row, offset, undecoded)
                else:
                    result = check(fields, row, offset)
                self._row, self._end = row, end
                if result is None:
                    self._blank_lines += 1
                    if self._blank_lines > MAX_BLANK_LINES:  # skipped without a batch, so without a time check
                        raise FileRefused(FileProblem.TOO_MANY_BLANK_LINES, limit=MAX_BLANK_LINES)
                yield result
        except csv.Error:
            raise FileRefused(FileProblem.UNCLOSED_QUOTE, row=row + 1) from None


def _header(records: Iterator[list[str]], feed: LineFeed) -> Columns:
    """The columns named by the first record; FileRefused if the file is empty, not text or lacks a column."""
    header = next(records, None)
    if feed.problem is not None:
        raise feed.problem
    return Columns.of(header)
