"""Rows of a recipients file in S3, streamed and checked one at a time: each becomes a Recipient or a RowError.

A CSV (plain or gzip) is read as bytes in chunks, cut into lines whose byte offsets are known and joined into
records (csv_records.py: encoding and delimiter decided once, from the first bytes and the header line); an XLSX
is read as a sheet, row by row (sheet_records.py). Every row knows where it starts, so a checkpoint can resume
there: a byte offset in a CSV, a row number in a sheet.

Whole-file problems found before the first row (empty, binary, not a workbook, missing columns) raise FileRefused
before any row; cells that cannot be read further on reject only their rows. Corrupt gzip, a line over
MAX_LINE_BYTES, a quote that never closes or more than MAX_BLANK_LINES blank lines can only be found where they
are, so they raise FileRefused there, after earlier rows.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from smsdrop.intake.columns import Columns
from smsdrop.intake.csv_records import CsvRecords, Record
from smsdrop.intake.file_format import FileFormat
from smsdrop.intake.first_seen import FirstSeen, LocalFirstSeen
from smsdrop.intake.line_feed import ObjectBytes
from smsdrop.intake.phone_numbers import NumberRules
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.intake.row_checks import Destinations, RowCheck
from smsdrop.intake.sheet_records import SheetRecords
from smsdrop.intake.uploads import is_workbook
from smsdrop.models import Position, Row
from smsdrop.output.cheaper_texts import TextTally

logger = logging.getLogger(__name__)

MAX_BLANK_LINES = 1 << 20  # more than a spreadsheet has rows: only a generated file has more


@dataclass(frozen=True, slots=True)
class RowRules:
    """How rows are checked: the default region and level for numbers, duplicates, the job for orderIds, the
    countries allowed (calling codes; none = all) and whether texts are made GSM-safe."""

    default_region: str = ""
    number_check: str = "valid"
    reject_duplicates: bool = True
    job_id: str = ""
    allowed_countries: frozenset[int] = frozenset()
    gsm_safe: bool = False
    first_seen: Callable[[], FirstSeen] = LocalFirstSeen
    """Where the duplicate and orderId checks find a key's first row (the scale-out engine gives Merge's answers)."""

    def check(self, columns: Columns) -> RowCheck:
        """The check of the data rows under these columns."""
        numbers = NumberRules(self.default_region, self.number_check)
        destinations = Destinations(self.allowed_countries)
        texts = TextTally(safe=self.gsm_safe)
        seen = self.first_seen()
        return RowCheck(columns, numbers, self.reject_duplicates, self.job_id, destinations, texts, seen)


class RecipientReader:
    """Streams the rows of one S3 object (CSV, gzip CSV or XLSX) and checks each; never holds the whole file."""

    def __init__(
        self, s3_client: Any, bucket: str, key: str, version_id: str | None, rules: RowRules, *, ranged: bool = False
    ) -> None:
        self._object = (s3_client, bucket, key, version_id)
        self._rules = rules
        self._ranged = ranged
        self._row = 1
        self._end = 0
        self._blank_lines = 0
        self._format: FileFormat | None = None
        self._texts = TextTally(safe=rules.gsm_safe)

    @property
    def position(self) -> Position:
        """Right after the last record read (a row yielded or a blank line skipped), or the data start."""
        return Position(offset=self._end, row=self._row)

    @property
    def blank_lines(self) -> int:
        """Blank lines skipped so far in the file, those before a resume point included."""
        return self._blank_lines

    def report(self) -> dict[str, Any]:
        """What the job's summary says of the file as read so far: its format, the rules, the texts' cost."""
        allowed = sorted(self._rules.allowed_countries) or "all"
        fmt = self._format.as_json() if self._format else {}
        return {**fmt, "allowed_countries": allowed, **self._texts.as_json()}

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """Every data row from `start` (default: the first), checked; FileRefused if the file cannot be used.

        Rows are numbered as records (header = 1). On a resume the part before `start` is read and checked
        again, not yielded: duplicates and repeated orderIds are still found, and blank lines still counted.
        """
        source = self._source()
        columns = source.header()
        self._format = source.format
        logger.info("Reading the file as %s", source.format.described())
        check = self._rules.check(columns)
        self._texts = check.texts
        self._row, self._end, self._blank_lines = 1, source.header_end, 0
        fresh = start is None or start.offset <= self._end
        entered = None if fresh else self._entered(source, start, check)  # type: ignore[arg-type]  # not fresh
        checked = self._checked(entered or source.records(check), check)
        if not fresh and entered is None:
            self._skip(checked, start)  # type: ignore[arg-type]  # not fresh: start is a Position
        rows = (row for row in checked if row is not None)
        first = next(rows, None)
        if first is None and fresh:
            raise FileRefused(FileProblem.HEADER_ONLY, columns.names)
        if first is not None:
            yield first
            yield from rows

    def _source(self) -> CsvRecords | SheetRecords:
        if is_workbook(self._object[2]):
            return SheetRecords(*self._object)
        return CsvRecords(ObjectBytes(*self._object)())

    def _entered(self, source: CsvRecords | SheetRecords, start: Position, check: RowCheck) -> Iterator[Record] | None:
        """With `ranged`, a plain CSV's records from `start` on, read from there (the header's bytes, then the bytes
        from `start`, in the whole file's encoding): rows numbered and placed as in the whole file, the records before
        `start` neither read nor checked (so duplicates before it are not seen: the scale-out engine's Merge saw them).
        None otherwise: a workbook or a gzip file is read from the top."""
        if not self._ranged or not isinstance(source, CsvRecords):
            return None
        stored = ObjectBytes(*self._object)
        tail = stored.from_offset(start.offset)
        if tail is None:
            return None
        part = CsvRecords(chain([stored.head(source.header_end)], tail), source.encoding)
        part.header()
        shift = start.offset - source.header_end
        self._row, self._end = start.row, start.offset
        return ((fields, offset + shift, end + shift, problem) for fields, offset, end, problem in part.records(check))

    def _skip(self, checked: Iterator[Row | None], start: Position) -> None:
        """Read the records before `start`; ValueError if no record starts there."""
        for _ in checked:
            if self._end >= start.offset:
                break
        if self.position != start:
            raise ValueError(f"{start} is not a record boundary of this file (reached {self.position})")

    def _checked(self, records: Iterator[Record], check: RowCheck) -> Iterator[Row | None]:
        """Each record checked (None for a blank line); the position moves past each as it is read."""
        row = self._row
        try:
            for fields, offset, end, problem in records:
                row += 1
                result = check(fields, row, offset) if problem is None else check.refuse(fields, row, offset, problem)
                self._row, self._end = row, end
                if result is None:
                    self._blank_lines += 1
                    if self._blank_lines > MAX_BLANK_LINES:  # skipped without a batch, so without a time check
                        raise FileRefused(FileProblem.TOO_MANY_BLANK_LINES, limit=MAX_BLANK_LINES)
                yield result
        except csv.Error:
            raise FileRefused(FileProblem.UNCLOSED_QUOTE, row=row + 1) from None
