"""Rows of a recipients CSV in S3, streamed and checked one at a time: each becomes a Recipient or a RowError.

Bytes come in chunks (gzip inflated on the fly), are cut into lines whose byte offsets are known, and the
lines go to `csv.reader`, which joins the lines of quoted fields; its `line_num` tells where each record
ends, so every row knows the exact offset it starts at, and a checkpoint can resume there.

Whole-file problems found before the first row (empty, binary, not UTF-8 in the first block, missing
columns) raise FileRefused before any row; bytes that are not UTF-8 further on reject only their rows.
Corrupt gzip, a line over MAX_LINE_BYTES, a quote that never closes or more than MAX_BLANK_LINES blank
lines can only be found where they are, so they raise FileRefused there, after earlier rows.
"""

from __future__ import annotations

import csv
import logging
import re
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, chain, compress
from typing import Any

from aws_lambda_powertools.utilities.streaming import S3Object

from smsdrop.intake.phone_numbers import NumberRules
from smsdrop.intake.rejections import FileProblem, FileRefused, Rejected, Rejection
from smsdrop.models import Position, Recipient, Row, RowError

logger = logging.getLogger(__name__)

CONTENT_LIMIT = 1024
SENDER_ID_LIMIT = 32
ORDER_ID_LIMIT = 64
READ_BYTES = 1 << 18
MAX_LINE_BYTES = 1 << 20
MAX_BLANK_LINES = 1 << 20  # more than a spreadsheet has rows: only a generated file has more
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 31
_BAD_TEXT = re.compile("[\udc00-\udcff]")
_NAME_NOISE = re.compile(r"[\s_\-]+")
_ALIASES = {
    "number": ("number", "phone", "mobile", "msisdn", "numbers"),
    "content": ("content", "message", "text", "body"),
    "senderId": ("senderid", "sender", "from"),
    "orderId": ("orderid", "order", "reference", "ref"),
}
_FIELD_OF = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}


@dataclass(frozen=True, slots=True)
class RowRules:
    """How rows are checked: the default region and level for numbers, duplicates, the job for orderIds."""

    default_region: str = ""
    number_check: str = "valid"
    reject_duplicates: bool = True
    job_id: str = ""


class RecipientReader:
    """Streams the rows of one S3 object (plain or gzip CSV) and checks each; never holds the whole file."""

    def __init__(self, s3_client: Any, bucket: str, key: str, version_id: str | None, rules: RowRules) -> None:
        self._open = _ObjectBytes(s3_client, bucket, key, version_id)
        self._rules = rules
        self._row = 1
        self._end = 0
        self._blank_lines = 0
        self._extra_columns: tuple[str, ...] = ()

    @property
    def position(self) -> Position:
        """Right after the last record read (a row yielded or a blank line skipped), or the data start."""
        return Position(offset=self._end, row=self._row)

    @property
    def blank_lines(self) -> int:
        """Blank lines skipped so far in the file, those before a resume point included."""
        return self._blank_lines

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Header columns that smsdrop does not use, as written (known once `rows()` has begun)."""
        return self._extra_columns

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """Every data row from `start` (default: the first), checked; FileRefused if the file cannot be used.

        Rows are numbered as records (header = 1). On a resume the part before `start` is read and checked
        again, not yielded: duplicates and repeated orderIds are still found, and blank lines still counted.
        """
        feed = _LineFeed(self._open())
        records = csv.reader(feed.lines(), strict=True)  # a quote left open must not swallow the rows after it
        columns = _header(records, feed)
        self._extra_columns = columns.extra
        self._row, self._end, self._blank_lines = 1, feed.offset_at(records.line_num), 0
        checked = self._checked(records, feed, _RowCheck(columns, self._rules))
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

    def _checked(self, records: Iterator[list[str]], feed: _LineFeed, check: _RowCheck) -> Iterator[Row | None]:
        """Each record checked (None for a blank line); the position moves past each as it is read."""
        row, end, line = self._row, self._end, records.line_num  # type: ignore[attr-defined]
        try:
            for fields in records:
                row += 1
                first_line, line = line, records.line_num  # type: ignore[attr-defined]
                offset, end = end, feed.offset_at(line)
                if first_line < feed.dirty_until and _BAD_TEXT.search("".join(fields)):
                    result: Row | None = check.refuse(fields, row, offset, Rejected(Rejection.NOT_TEXT))
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


@dataclass(frozen=True, slots=True)
class _Columns:
    """Where each field is in a row. Absent optional fields point one past the end (an empty cell)."""

    names: tuple[str, ...]
    number: int
    content: int
    sender_id: int
    order_id: int
    extra: tuple[str, ...]


def _header(records: Iterator[list[str]], feed: _LineFeed) -> _Columns:
    """The columns named by the first record; FileRefused if the file is empty, binary or lacks a column."""
    header = next(records, None)
    if feed.problem is not None:
        raise feed.problem
    if header is None:
        raise FileRefused(FileProblem.EMPTY)
    names = tuple(name.strip() for name in header)
    names = (names[0].removeprefix("\ufeff").strip(), *names[1:]) if names else names
    if not any(names):
        raise FileRefused(FileProblem.NO_HEADER)
    return _columns(names)


def _columns(names: tuple[str, ...]) -> _Columns:
    """Which column holds which field; FileRefused for a missing, unnamed or doubly named column."""
    found: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            raise FileRefused(FileProblem.EMPTY_COLUMN_NAME, names, position=position + 1)
        canonical = _NAME_NOISE.sub("", name).lower()
        field = _FIELD_OF.get(canonical, canonical)
        if field in found:
            first = names[found[field]]
            raise FileRefused(FileProblem.DUPLICATE_COLUMN, names, first=first, second=name, field=field)
        found[field] = position
    for field, problem in (("number", FileProblem.NO_NUMBER_COLUMN), ("content", FileProblem.NO_CONTENT_COLUMN)):
        if field not in found:
            raise FileRefused(problem, names)
    extra = tuple(name for name, field in zip(names, found, strict=True) if field not in _ALIASES)
    if extra:
        logger.info("Ignoring columns smsdrop does not use: %s", ", ".join(extra))
    absent = len(names)
    sender_id, order_id = found.get("senderId", absent), found.get("orderId", absent)
    return _Columns(names, found["number"], found["content"], sender_id, order_id, extra)


class _RowCheck:
    """The rules for one data row: field count, number, content, senderId, orderId, duplicates."""

    def __init__(self, columns: _Columns, rules: RowRules) -> None:
        self._width = len(columns.names)
        self._number, self._content = columns.number, columns.content
        self._sender_id, self._order_id = columns.sender_id, columns.order_id
        self._normalise = NumberRules(rules.default_region, rules.number_check).normalise
        self._order_ids = _FirstRows()
        self._sends = _FirstRows() if rules.reject_duplicates else None
        self._order_prefix = _order_prefix(rules.job_id)

    def __call__(self, fields: list[str], row: int, offset: int) -> Row | None:
        """The row as a Recipient, or a RowError; None for a blank line."""
        if len(fields) != self._width:
            wrong = Rejected(Rejection.FIELD_COUNT, found=len(fields), expected=self._width)
            return self.refuse(fields, row, offset, wrong)
        fields.append("")
        content = fields[self._content].strip()
        sender_id = fields[self._sender_id].strip()
        order_id = fields[self._order_id].strip()
        try:
            number, country_code = self._normalise(fields[self._number])
            if not content or len(content) > CONTENT_LIMIT or len(sender_id) > SENDER_ID_LIMIT:
                _check_text(content, sender_id)
            if order_id:
                self._check_order_id(order_id, row)
            if self._sends is not None:
                self._check_not_sent(number, content, row)
        except Rejected as rejected:
            return self.refuse(fields, row, offset, rejected)
        return Recipient(
            row, offset, number, country_code, content, sender_id, order_id or self._order_prefix + str(row)
        )

    def refuse(self, fields: list[str], row: int, offset: int, rejected: Rejected) -> RowError | None:
        """The row as a RowError with the cells that could be read; None if the line is blank."""
        if not any(map(str.strip, fields)):
            return None
        cells = [*fields, *[""] * self._width]
        number, sender_id = cells[self._number], cells[self._sender_id].strip()
        order_id = cells[self._order_id].strip() or f"{self._order_prefix}{row}"
        return RowError(row, offset, number, sender_id, order_id, rejected.rejection.value, rejected.reason)

    def _check_order_id(self, order_id: str, row: int) -> None:
        if len(order_id) > ORDER_ID_LIMIT:
            raise Rejected(Rejection.ORDER_ID_TOO_LONG, length=len(order_id), limit=ORDER_ID_LIMIT)
        if "," in order_id:
            raise Rejected(Rejection.ORDER_ID_COMMA)
        first = self._order_ids.first(hash(order_id), row)
        if first != row:
            raise Rejected(Rejection.ORDER_ID_REPEATED, order_id=order_id, row=first)

    def _check_not_sent(self, number: str, content: str, row: int) -> None:
        first = self._sends.first(hash((number, content)), row)  # type: ignore[union-attr]
        if first != row:
            raise Rejected(Rejection.DUPLICATE, row=first)


def _check_text(content: str, sender_id: str) -> None:
    if not content:
        raise Rejected(Rejection.CONTENT_EMPTY)
    if len(content) > CONTENT_LIMIT:
        raise Rejected(Rejection.CONTENT_TOO_LONG, length=len(content), limit=CONTENT_LIMIT)
    if len(sender_id) > SENDER_ID_LIMIT:
        raise Rejected(Rejection.SENDER_TOO_LONG, length=len(sender_id), limit=SENDER_ID_LIMIT)


def _order_prefix(job_id: str) -> str:
    """The start of generated orderIds: the job id (no commas, short enough for 10-digit rows) and a dash."""
    job = job_id.replace(",", "")[: ORDER_ID_LIMIT - 11]
    return f"{job or 'row'}-"


class _FirstRows:
    """The first row seen under each 64-bit key: keys and rows in two flat arrays, open addressing.

    12 bytes a slot and at most half the slots used, so 24 to 48 bytes a key and no object per key.
    """

    def __init__(self, capacity: int = 1 << 10) -> None:
        self._allocate(capacity)

    def first(self, key: int, row: int) -> int:
        """The first row recorded under `key`; `row` itself, now recorded, if the key is new."""
        key = key or 1
        keys, mask = self._keys, self._mask
        slot = key & mask
        while (found := keys[slot]) and found != key:
            slot = (slot + 1) & mask
        if found:
            return self._rows[slot]
        keys[slot], self._rows[slot] = key, row
        self._room -= 1
        if not self._room:
            self._grow()
        return row

    def _allocate(self, capacity: int) -> None:
        self._keys = array("q", [0]) * capacity
        self._rows = array("I", [0]) * capacity
        self._mask = capacity - 1
        self._room = capacity // 2

    def _grow(self) -> None:
        old_keys, old_rows = self._keys, self._rows
        self._allocate(2 * len(old_keys))
        keys, rows, mask = self._keys, self._rows, self._mask
        for key, row in compress(zip(old_keys, old_rows, strict=True), old_keys):
            slot = key & mask
            while keys[slot]:
                slot = (slot + 1) & mask
            keys[slot], rows[slot] = key, row
        self._room -= len(old_keys) // 2


class _ObjectBytes:
    """The object's bytes (inflated if gzip, by name or by magic bytes) in chunks, streamed from S3."""

    def __init__(self, s3_client: Any, bucket: str, key: str, version_id: str | None) -> None:
        self._client, self._bucket, self._key, self._version_id = s3_client, bucket, key, version_id

    def __call__(self) -> Iterator[bytes]:
        """Chunks of the (inflated) bytes, from the start."""
        stream = S3Object(bucket=self._bucket, key=self._key, version_id=self._version_id, boto3_client=self._client)
        chunks = _reads(stream)
        head = next(chunks)
        if self._key.endswith(".gz") or head.startswith(_GZIP_MAGIC):
            return _gunzip(chain([head], chunks))
        return chain([head], chunks)


def _reads(stream: S3Object) -> Iterator[bytes]:
    """READ_BYTES at a time (the first chunk even if empty), closing the stream at the end."""
    try:
        yield stream.read(READ_BYTES)
        while chunk := stream.read(READ_BYTES):
            yield chunk
    finally:
        stream.close()


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Inflate gzip data (several members too), never more than READ_BYTES * 4 of output at a time."""
    inflater, fed = zlib.decompressobj(wbits=_GZIP_WBITS), False
    try:
        for data in chunks:
            while data:
                fed = True
                yield inflater.decompress(data, 4 * READ_BYTES)
                data = inflater.unconsumed_tail
                if inflater.eof:
                    data, inflater, fed = inflater.unused_data, zlib.decompressobj(wbits=_GZIP_WBITS), False
        yield inflater.flush()
    except zlib.error as error:
        raise FileRefused(FileProblem.NOT_GZIP, detail=str(error)) from None
    if fed and not inflater.eof:
        raise FileRefused(FileProblem.NOT_GZIP, detail="it ends before the compressed data does")


class _LineFeed:
    """Lines of text from chunks of bytes, with the byte offset where each line starts.

    Lines are cut at LF, CR or CRLF; a block of whole lines is decoded at once. A block that is not
    UTF-8 (or holds NUL bytes) is decoded with its bad bytes as lone surrogates, so the rows that hold
    them can be rejected; `problem` describes the first such block.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._base = 0
        self._offsets = [0]
        self.dirty_until = 0
        self.problem: FileRefused | None = None

    def lines(self) -> Iterator[str]:
        """Every line, line ends kept (csv.reader needs them inside quoted fields)."""
        return chain.from_iterable(self._blocks())

    def offset_at(self, line: int) -> int:
        """The byte offset where line number `line` (0-based, of those read so far or the next) starts."""
        return self._offsets[line - self._base]

    def _blocks(self) -> Iterator[list[str]]:
        carry = b""
        for chunk in self._chunks:
            data = carry + chunk
            cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
            carry = data[cut:]
            if len(carry) > MAX_LINE_BYTES:
                raise FileRefused(FileProblem.LINE_TOO_LONG, offset=self._offsets[-1], limit=MAX_LINE_BYTES)
            if cut:
                yield self._block(data[:cut])
        if carry:
            yield self._block(carry)

    def _block(self, data: bytes) -> list[str]:
        lines = data.splitlines(keepends=True)
        start = self._offsets[-1]
        self._base += len(self._offsets) - 1
        self._offsets = list(accumulate(map(len, lines), initial=start))
        if b"\0" not in data:
            try:
                return list(map(bytes.decode, lines))
            except UnicodeDecodeError:
                pass
        self.dirty_until = self._base + len(lines)
        self.problem = self.problem or _text_problem(data, start)
        return [line.decode(errors="surrogateescape").replace("\0", "\udc00") for line in lines]


def _text_problem(data: bytes, start: int) -> FileRefused:
    try:
        data.decode()
    except UnicodeDecodeError as error:
        if not 0 <= data.find(b"\0") < error.start:
            return FileRefused(FileProblem.NOT_UTF8, offset=start + error.start)
    return FileRefused(FileProblem.BINARY)
