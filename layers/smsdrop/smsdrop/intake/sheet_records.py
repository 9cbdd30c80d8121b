"""The records of an XLSX upload: one sheet read as a stream (openpyxl, read-only), cells turned into text.

The workbook is read through a seekable S3 stream (ranged GETs: a ZIP's directory is at its end), row by row;
openpyxl is imported only here, so CSV jobs do not pay for it at a cold start. The sheet is the one named in the
object's metadata `sheet` (x-amz-meta-sheet), else the first. Cells become text as a person reads them: a number
stored as a number keeps every digit (919876543210.0 is "919876543210", never 9.19877E+11, which is only how a
cell may display it); a number with a fraction in the number column is no phone number (NUMBER_NOT_WHOLE). A row
of empty cells is a blank line. A record's offsets are row numbers: a resume reads the sheet again from the top
and skips the rows up to its checkpoint.
"""

from __future__ import annotations

import datetime
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from aws_lambda_powertools.utilities.streaming import S3Object

from smsdrop.intake.bounds import COLUMNS_LISTED, listed
from smsdrop.intake.columns import Columns
from smsdrop.intake.csv_records import Record
from smsdrop.intake.file_format import FileFormat
from smsdrop.intake.rejections import FileProblem, FileRefused, Rejected, Rejection
from smsdrop.intake.row_checks import RowCheck

SHEET_METADATA = "sheet"  # x-amz-meta-sheet: Recipients


class SheetRecords:
    """One pass over a sheet's records: first the header, then the data records."""

    def __init__(self, s3_client: Any, bucket: str, key: str, version_id: str | None) -> None:
        self._client, self._bucket, self._key, self._version_id = s3_client, bucket, key, version_id
        self._rows: Iterator[tuple[Any, ...]] = iter(())
        self._close: Callable[[], None] = _nothing
        self._number = 0
        self._width = 0
        self.format = FileFormat("XLSX")
        self.header_end = 1

    def header(self) -> Columns:
        """The columns the sheet's first row names; FileRefused if the workbook, the sheet or a column is missing."""
        import openpyxl  # type: ignore[import-untyped]  # only XLSX jobs pay for it (see the module)

        stream = S3Object(bucket=self._bucket, key=self._key, version_id=self._version_id, boto3_client=self._client)
        try:
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except _BROKEN as error:
            stream.close()  # type: ignore[no-untyped-call]  # powertools' S3Object.close has no annotations
            raise _not_xlsx(error) from None
        self._close = workbook.close
        sheet = self._sheet(workbook)
        self.format = FileFormat("XLSX", sheet=sheet.title)
        self._rows = sheet.iter_rows(values_only=True)
        header = next(self._rows, None)
        if header is None:
            raise FileRefused(FileProblem.EMPTY)
        columns = Columns.of(_trimmed([_text(value) for value in header], 0))
        self._number, self._width = columns.number, len(columns.names)
        return columns

    def records(self, check: RowCheck) -> Iterator[Record]:
        """Every data record (row 2 on), its offsets row numbers; the workbook is closed at the end."""
        try:
            for row, values in enumerate(self._rows, start=2):
                cells = _trimmed([_text(value) for value in values], self._width)
                yield cells, row - 1, row, self._not_whole(values)
        except _BROKEN as error:
            raise _not_xlsx(error) from None
        finally:
            self._close()

    def _sheet(self, workbook: Any) -> Any:
        named = self._client.head_object(**self._object()).get("Metadata", {}).get(SHEET_METADATA, "").strip()
        if not named:
            return workbook.worksheets[0]
        if named not in workbook.sheetnames:
            self._close()
            raise FileRefused(
                FileProblem.NO_SUCH_SHEET, sheet=named, sheets=listed(workbook.sheetnames, COLUMNS_LISTED)
            )
        return workbook[named]

    def _object(self) -> dict[str, str]:
        return {"Bucket": self._bucket, "Key": self._key} | (
            {"VersionId": self._version_id} if self._version_id else {}
        )

    def _not_whole(self, values: tuple[Any, ...]) -> Rejected | None:
        """NUMBER_NOT_WHOLE if the number cell holds a number with a fraction."""
        value = values[self._number] if self._number < len(values) else None
        if isinstance(value, float) and not value.is_integer():
            return Rejected(Rejection.NUMBER_NOT_WHOLE, value=repr(value))
        return None


_BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, TypeError, SyntaxError)
"""What a damaged workbook raises while it is opened or read (an XML ParseError is a SyntaxError)."""


def _nothing() -> None:
    """Nothing to close yet."""


def _not_xlsx(error: Exception) -> FileRefused:
    return FileRefused(FileProblem.NOT_XLSX, detail=f"{type(error).__name__}: {error}")


def _text(value: Any) -> str:
    """A cell as text: whole numbers without a fraction or exponent, every digit kept; dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _trimmed(cells: list[str], width: int) -> list[str]:
    """The cells without the empty ones past the last that holds something, padded with empty ones to `width`."""
    end = len(cells)
    while end > width and not cells[end - 1]:
        end -= 1
    return cells[:end] + [""] * (width - end)
