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
from smsdrop.intake.reader_snapshots import ReaderSnapshots
from smsdrop.intake.reader_state import ReaderState
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

    def check(self, columns: Columns, taken_back: ReaderState | None = None) -> RowCheck:
        """The check of the data rows under these columns; its index and tally those of `taken_back`, if given."""
        numbers = NumberRules(self.default_region, self.number_check)
        destinations = Destinations(self.allowed_countries)
        texts, seen = TextTally(safe=self.gsm_safe), self.first_seen()
        if taken_back is not None:
            texts = TextTally.restored(self.gsm_safe, taken_back.texts, taken_back.read.row)
            seen = LocalFirstSeen(taken_back.orders, taken_back.sends)
        return RowCheck(columns, numbers, self.reject_duplicates, self.job_id, destinations, texts, seen)

    @property
    def mark(self) -> str:
        """What a reader state records of these rules: one taken under others is not taken back."""
        countries = ",".join(map(str, sorted(self.allowed_countries)))
        fields = (self.default_region, self.number_check, self.reject_duplicates, self.job_id, countries, self.gsm_safe)
        return "|".join(map(str, fields))


class RecipientReader:
    """Streams the rows of one S3 object (CSV, gzip CSV or XLSX) and checks each; never holds the whole file."""

    def __init__(
        self,
        s3_client: Any,
        bucket: str,
        key: str,
        version_id: str | None,
        rules: RowRules,
        *,
        ranged: bool = False,
        snapshots: ReaderSnapshots | None = None,
    ) -> None:
        """`ranged`: a plain CSV is entered at the start position (see `_entered`). `snapshots`: where this job's reader
        states are kept at a hand-over (`keep`) and taken back on a resume, which then enters the file too."""
        self._object = (s3_client, bucket, key, version_id)
        self._rules = rules
        self._ranged = ranged
        self._snapshots = snapshots
        self._check: RowCheck | None = None
        self._taken_back: ReaderState | None = None
        self._resumed_at: Position | None = None
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

    def keep(self, checkpoint: Position | None) -> None:
        """At a hand-over: leave what this reader knows of the file, for the invocation that resumes at `checkpoint`
        (nothing without snapshots, for a file that cannot be entered midway, or with another job's index)."""
        check, snapshots = self._check, self._snapshots
        if check is None or snapshots is None or checkpoint is None or not self._enterable():
            return
        seen = check.first_seen
        if not isinstance(seen, LocalFirstSeen):
            return
        state = ReaderState(
            self.position, self._blank_lines, self._texts.state(), self._rules.mark, seen.orders, seen.sends
        )
        snapshots.save(checkpoint, state)
        if self._resumed_at is not None and self._resumed_at != checkpoint:
            snapshots.drop(self._resumed_at)

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """Every data row from `start` (default: the first), checked; FileRefused if the file cannot be used.

        Rows are numbered as records (header = 1). On a resume the part before `start` is read and checked
        again, not yielded: duplicates and repeated orderIds are still found, and blank lines still counted; unless
        the state kept for `start` is taken back (see `keep`): then a plain CSV is entered at `start`.
        """
        source = self._source()
        columns = source.header()
        self._format = source.format
        logger.info("Reading the file as %s", source.format.described())
        self._row, self._end, self._blank_lines = 1, source.header_end, 0
        fresh = start is None or start.offset <= self._end
        taken_back = None if fresh else self._take_back(start)  # type: ignore[arg-type]  # not fresh
        check = self._check = self._rules.check(columns, taken_back)
        self._texts = check.texts
        entered = None if fresh else self._entered(source, start, check)  # type: ignore[arg-type]  # not fresh
        if taken_back is not None:
            self._blank_lines = taken_back.blank_lines
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
        if not (self._ranged or self._taken_back) or not isinstance(source, CsvRecords):
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

    def _take_back(self, start: Position) -> ReaderState | None:
        """The state kept for `start`, if it can be taken back: kept under the same rules, for a file that can be
        entered, through `start` at least. None otherwise (the file is read again up to `start`)."""
        self._resumed_at = start
        if self._snapshots is None or not self._enterable():
            return None
        state = self._snapshots.load(start)
        if state is not None and (state.rules != self._rules.mark or state.read.row < start.row):
            logger.info("Resuming without the reader snapshot: it was kept under other rules or before the checkpoint")
            state = None
        self._taken_back = state
        return state

    def _enterable(self) -> bool:
        """Whether the file can be entered midway: a CSV (a gzip file cannot, a workbook is read from its top)."""
        key = self._object[2]
        return not is_workbook(key) and not key.lower().endswith(".gz")

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
        counted_through = self._taken_back.read.row if self._taken_back else 0  # blank lines counted in the state
        try:
            for fields, offset, end, problem in records:
                row += 1
                result = check(fields, row, offset) if problem is None else check.refuse(fields, row, offset, problem)
                self._row, self._end = row, end
                if result is None and row > counted_through:
                    self._blank_lines += 1
                    if self._blank_lines > MAX_BLANK_LINES:  # skipped without a batch, so without a time check
                        raise FileRefused(FileProblem.TOO_MANY_BLANK_LINES, limit=MAX_BLANK_LINES)
                yield result
        except csv.Error:
            raise FileRefused(FileProblem.UNCLOSED_QUOTE, row=row + 1) from None
