"""The records of a CSV upload: its lines (line_feed.py) through `csv.reader`, each with the byte offsets where
it starts and ends, and NOT_TEXT for a record that holds bytes its encoding could not decode.

`csv.reader` joins the lines of quoted fields; its `line_num` tells where each record ends, so every record knows
the exact offset it starts at, and a checkpoint can resume there.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import chain

from smsdrop.intake.columns import Columns
from smsdrop.intake.file_format import FileFormat, sniffed_delimiter
from smsdrop.intake.line_feed import LineFeed
from smsdrop.intake.rejections import Rejected
from smsdrop.intake.row_checks import RowCheck
from smsdrop.intake.text_encoding import TextEncoding

Record = tuple[list[str], int, int, Rejected | None]
"""A record's fields, the offsets where it starts and where the next one starts, and why it cannot be read."""


class CsvRecords:
    """One pass over a CSV's records: first the header, then the data records."""

    def __init__(self, chunks: Iterable[bytes], encoding: TextEncoding | None = None) -> None:
        self._feed = LineFeed(chunks, encoding)
        self._records: Iterator[list[str]] = iter(())
        self.format = FileFormat("CSV")

    def header(self) -> Columns:
        """The columns the first record names; FileRefused if the file is empty, not text or lacks a column."""
        lines = self._feed.lines()
        first = next(lines, None)
        delimiter = sniffed_delimiter(first)
        # strict: a quote left open must not swallow the rows after it
        self._records = csv.reader(chain([first] if first is not None else [], lines), delimiter=delimiter, strict=True)
        header = next(self._records, None)
        if self._feed.problem is not None:
            raise self._feed.problem
        self.format = FileFormat("CSV", str(self._feed.encoding), delimiter)
        return Columns.of(header)

    @property
    def encoding(self) -> TextEncoding | None:
        """The encoding the file is read in, once the header is read."""
        return self._feed.encoding

    @property
    def header_end(self) -> int:
        """The offset where the first data record starts."""
        return self._feed.offset_at(self._records.line_num)  # type: ignore[attr-defined]  # csv's reader has it

    def records(self, check: RowCheck) -> Iterator[Record]:
        """Every data record; csv.Error (a quote that never closes) ends it."""
        feed, records = self._feed, self._records
        line = records.line_num  # type: ignore[attr-defined]  # typed as an iterator; csv's reader has line_num
        end = feed.offset_at(line)
        for fields in records:
            first_line, line = line, records.line_num  # type: ignore[attr-defined]  # as above
            offset, end = end, feed.offset_at(line)
            yield fields, offset, end, check.undecoded(fields) if first_line < feed.dirty_until else None
