"""`smsdrop export`: the rows of a job in some statuses, as the operator uploaded them, to fix and upload again.

A CSV's rows are cut from the uploaded object's version byte for byte (header line first, in the file's own
encoding, delimiter and line ends: gzip is inflated); a workbook's are written as CSV cells of its sheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from smsdrop.intake.csv_records import CsvRecords
from smsdrop.intake.line_feed import ObjectBytes
from smsdrop.intake.sheet_records import SheetRecords
from smsdrop.intake.uploads import is_workbook
from smsdrop.store.controls import JobView
from smsdrop.store.row_reader import RowReader
from smsdrop.store.schema import JobRows


def rows_in(dynamodb: Any, table: str, job: JobView, statuses: set[str]) -> set[int]:
    """The rows of the job whose items are in one of `statuses`."""
    rows = JobRows(job.record.job_id, job.record.row_shards)
    items = RowReader(dynamodb, table).items(rows)
    return {int(item["row"]["N"]) for item in items if item["status"]["S"] in statuses}


def export(s3: Any, job: JobView, wanted: set[int], out: BinaryIO) -> int:
    """Write the header and the `wanted` rows of the job's upload to `out`; how many rows were written."""
    upload = job.upload
    if is_workbook(upload.key):
        return _sheet_rows(SheetRecords(s3, upload.bucket, upload.key, upload.version_id), wanted, out)
    tape = _Tape(ObjectBytes(s3, upload.bucket, upload.key, upload.version_id)())
    records = CsvRecords(tape)
    records.header()
    out.write(tape.cut(0, records.header_end))
    written = 0
    for row, (_, offset, end, _) in enumerate(records.records(_NoCheck()), start=2):  # type: ignore[arg-type]
        if row in wanted:
            out.write(tape.cut(offset, end))
            written += 1
        tape.forget(end)
    return written


def _sheet_rows(sheet: SheetRecords, wanted: set[int], out: BinaryIO) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(sheet.header().names)
    written = 0
    for row, (fields, _, _, _) in enumerate(sheet.records(_NoCheck()), start=2):  # type: ignore[arg-type]
        if row in wanted:
            writer.writerow(fields)
            written += 1
    text.detach()
    return written


class _NoCheck:
    """Records are only cut, never checked: no cell is judged."""

    def undecoded(self, fields: list[str]) -> None:
        return None


class _Tape:
    """The object's bytes as they stream past, kept from the first record not yet cut."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._kept = bytearray()
        self._base = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._kept += chunk
            yield chunk

    def cut(self, start: int, end: int) -> bytes:
        """The bytes from offset `start` to `end` (both at or after the first one kept)."""
        return bytes(self._kept[start - self._base : end - self._base])

    def forget(self, before: int) -> None:
        """Drop the bytes before offset `before`."""
        del self._kept[: before - self._base]
        self._base = before
