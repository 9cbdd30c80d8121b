"""Why a row or a whole file is refused, in words a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from smsdrop.errors import SmsdropError
from smsdrop.intake.bounds import COLUMN_NAME_CHARS, COLUMNS_LISTED, REASON_CHARS, REFUSAL_CHARS, cut, listed, within
from smsdrop.masking import mask_number


class Rejection(StrEnum):
    """Every reason a single row is not sent. The value is the code recorded with the row."""

    NOT_TEXT = "NOT_TEXT"
    FIELD_COUNT = "FIELD_COUNT"
    NUMBER_EMPTY = "NUMBER_EMPTY"
    NUMBER_CELL_TOO_LONG = "NUMBER_CELL_TOO_LONG"
    NUMBER_LETTERS = "NUMBER_LETTERS"
    NUMBER_SCIENTIFIC = "NUMBER_SCIENTIFIC"
    NUMBER_CHARACTERS = "NUMBER_CHARACTERS"
    NUMBER_TOO_SHORT_ANY = "NUMBER_TOO_SHORT_ANY"
    NUMBER_TOO_LONG_ANY = "NUMBER_TOO_LONG_ANY"
    NUMBER_COUNTRY_UNKNOWN = "NUMBER_COUNTRY_UNKNOWN"
    NUMBER_TOO_SHORT = "NUMBER_TOO_SHORT"
    NUMBER_TOO_LONG = "NUMBER_TOO_LONG"
    NUMBER_LENGTH = "NUMBER_LENGTH"
    NUMBER_LOCAL_ONLY = "NUMBER_LOCAL_ONLY"
    NUMBER_INVALID = "NUMBER_INVALID"
    NUMBER_NOT_WHOLE = "NUMBER_NOT_WHOLE"
    COUNTRY_NOT_ALLOWED = "COUNTRY_NOT_ALLOWED"
    PLACEHOLDER_NO_COLUMN = "PLACEHOLDER_NO_COLUMN"
    PLACEHOLDER_EMPTY = "PLACEHOLDER_EMPTY"
    CONTENT_EMPTY = "CONTENT_EMPTY"
    CONTENT_TOO_LONG = "CONTENT_TOO_LONG"
    SENDER_TOO_LONG = "SENDER_TOO_LONG"
    ORDER_ID_TOO_LONG = "ORDER_ID_TOO_LONG"
    ORDER_ID_COMMA = "ORDER_ID_COMMA"
    ORDER_ID_REPEATED = "ORDER_ID_REPEATED"
    DUPLICATE = "DUPLICATE"
    OPTED_OUT = "OPTED_OUT"

    def reason(self, **details: object) -> str:
        """The message for this rejection, with `details` (lengths, rows, country codes) filled in."""
        return _ROW_MESSAGES[self].format(**details)


_ROW_MESSAGES: dict[Rejection, str] = {
    Rejection.NOT_TEXT: "row is not UTF-8 text (byte {byte} in {where}): save the file as CSV UTF-8",
    Rejection.FIELD_COUNT: "row has {found} fields, header has {expected}",
    Rejection.NUMBER_EMPTY: "number is empty",
    Rejection.NUMBER_CELL_TOO_LONG: "number is {length} characters, too long to be a phone number (limit {limit})",
    Rejection.NUMBER_LETTERS: "number contains letters",
    Rejection.NUMBER_SCIENTIFIC: (
        "number was turned into scientific notation (like 9.18563E+10) by a spreadsheet: "
        "format the column as text and export again"
    ),
    Rejection.NUMBER_CHARACTERS: (
        "number contains {characters}: only digits, spaces, dashes, dots, brackets and a leading + or 00 are allowed"
    ),
    Rejection.NUMBER_TOO_SHORT_ANY: "number is too short for any country",
    Rejection.NUMBER_TOO_LONG_ANY: "number is too long for any country",
    Rejection.NUMBER_COUNTRY_UNKNOWN: (
        "number does not start with a known country code: write it as + country code and number"
    ),
    Rejection.NUMBER_TOO_SHORT: "too short for +{country_code}",
    Rejection.NUMBER_TOO_LONG: "too long for +{country_code}",
    Rejection.NUMBER_LENGTH: "no number of +{country_code} has {digits} digits",
    Rejection.NUMBER_LOCAL_ONLY: "too short for +{country_code}: the area code seems to be missing",
    Rejection.NUMBER_INVALID: "not a valid number for +{country_code}",
    Rejection.NUMBER_NOT_WHOLE: (
        "number is the decimal number {value} in the spreadsheet, not a phone number: format the column as text"
    ),
    Rejection.COUNTRY_NOT_ALLOWED: "country +{country_code} not allowed (ALLOWED_COUNTRIES: {allowed})",
    Rejection.PLACEHOLDER_NO_COLUMN: "placeholder (({name})) names no column of the file",
    Rejection.PLACEHOLDER_EMPTY: "placeholder (({name})) is empty in this row (column {column})",
    Rejection.CONTENT_EMPTY: "content is empty",
    Rejection.CONTENT_TOO_LONG: "content is {length} characters, limit {limit}",
    Rejection.SENDER_TOO_LONG: "senderId is {length} characters, limit {limit}",
    Rejection.ORDER_ID_TOO_LONG: "orderId is {length} characters, limit {limit}",
    Rejection.ORDER_ID_COMMA: "orderId contains a comma, which the API uses to separate orderIds",
    Rejection.ORDER_ID_REPEATED: "orderId {order_id!r} repeats row {row}",
    Rejection.DUPLICATE: "duplicate of row {row}: same number and content",
    Rejection.OPTED_OUT: "opted out",
}


class Rejected(SmsdropError, ValueError):  # noqa: N818 - a verdict on a row, not an error of ours
    """A row cannot be sent: the rejection, and its reason with the details filled in (bounded, see bounds.py)."""

    def __init__(self, rejection: Rejection, **details: object) -> None:
        self.rejection = rejection
        self.reason = within(rejection.reason(**details), REASON_CHARS)
        super().__init__(self.reason)


class FileProblem(StrEnum):
    """Every reason a whole file is refused. The value is the code recorded with the job."""

    EMPTY = "EMPTY"
    BINARY = "BINARY"
    UTF16_TRUNCATED = "UTF16_TRUNCATED"
    NOT_GZIP = "NOT_GZIP"
    NOT_XLSX = "NOT_XLSX"
    NO_SUCH_SHEET = "NO_SUCH_SHEET"
    NO_HEADER = "NO_HEADER"
    HEADER_ONLY = "HEADER_ONLY"
    NO_NUMBER_COLUMN = "NO_NUMBER_COLUMN"
    NO_CONTENT_COLUMN = "NO_CONTENT_COLUMN"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
    EMPTY_COLUMN_NAME = "EMPTY_COLUMN_NAME"
    LINE_TOO_LONG = "LINE_TOO_LONG"
    UNCLOSED_QUOTE = "UNCLOSED_QUOTE"
    TOO_MANY_BLANK_LINES = "TOO_MANY_BLANK_LINES"
    OVER_MAX_ROWS = "OVER_MAX_ROWS"
    OVER_MAX_COST = "OVER_MAX_COST"

    def reason(self, **details: object) -> str:
        """The message for this problem, with `details` filled in."""
        return _FILE_MESSAGES[self].format(**details)


_FILE_MESSAGES: dict[FileProblem, str] = {
    FileProblem.EMPTY: "the file is empty",
    FileProblem.BINARY: "the file contains NUL bytes, so it is not CSV text (is it a spreadsheet?)",
    FileProblem.UTF16_TRUNCATED: "the file ends in the middle of a UTF-16 character: is it truncated?",
    FileProblem.NOT_GZIP: "the file is not valid gzip data ({detail})",
    FileProblem.NOT_XLSX: "the file is not an XLSX workbook smsdrop can read ({detail})",
    FileProblem.NO_SUCH_SHEET: "the workbook has no sheet named {sheet!r} (its sheets: {sheets})",
    FileProblem.NO_HEADER: "the first line is empty: the file must start with a header row",
    FileProblem.HEADER_ONLY: "the file has a header but no rows",
    FileProblem.NO_NUMBER_COLUMN: "no number column (named number, phone, mobile, msisdn or numbers)",
    FileProblem.NO_CONTENT_COLUMN: "no content column (named content, message, text or body)",
    FileProblem.DUPLICATE_COLUMN: "columns {first} and {second} both name the {field}",
    FileProblem.EMPTY_COLUMN_NAME: "column {position} has no name",
    FileProblem.LINE_TOO_LONG: "the line at byte {offset} is longer than {limit} bytes: is this a CSV file?",
    FileProblem.UNCLOSED_QUOTE: (
        "a quoted field in row {row} is not closed properly (a quote is missing or misplaced, "
        "or the field is longer than any CSV cell should be)"
    ),
    FileProblem.TOO_MANY_BLANK_LINES: "the file has more than {limit} blank lines: is this a CSV file?",
    FileProblem.OVER_MAX_ROWS: "{rows} rows is over MAX_ROWS_PER_JOB {limit}: nothing was sent",
    FileProblem.OVER_MAX_COST: "estimated cost {cost} ({rows} rows) is over MAX_COST_PER_JOB {limit}: nothing was sent",
}


class FileRefused(SmsdropError):  # noqa: N818 - a verdict on the file, not an error of ours
    """The whole file cannot be sent. The message names the problem and the first columns found, if any;
    it is at most REFUSAL_CHARS long, whatever the header holds."""

    def __init__(self, problem: FileProblem, columns: Sequence[str] = (), **details: object) -> None:
        found = f"; columns found: {column_list(columns)}" if columns else ""
        super().__init__(within(problem.reason(**details) + found, REFUSAL_CHARS))
        self.problem = problem


def column_list(names: Sequence[str]) -> str:
    """Column names as messages and logs show them: the first few, each cut and quoted, phone numbers masked."""
    return listed(names, COLUMNS_LISTED, column_name)


def column_name(name: str) -> str:
    """One column name as shown: quoted, cut, and masked to its last 4 digits if it is a phone number
    (the first row of a header-less file)."""
    return repr(cut(mask_number(name) if sum(c.isdigit() for c in name) >= 7 else name, COLUMN_NAME_CHARS))
