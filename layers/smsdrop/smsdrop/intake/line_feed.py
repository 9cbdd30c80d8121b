"""The bytes of an upload as lines of text: streamed from S3, inflated if gzip, cut at line ends byte-exactly.

Every line knows the byte offset (in the inflated text) where it starts, so a row can be found again on a
resume. Bytes that are not UTF-8 do not stop the feed: their block is decoded with the bad bytes as lone
surrogates (NUL as U+DC00), and the rows that hold them are rejected downstream.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from itertools import accumulate, chain
from typing import Any

from aws_lambda_powertools.utilities.streaming import S3Object

from smsdrop.intake.rejections import FileProblem, FileRefused

READ_BYTES = 1 << 18
MAX_LINE_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 31


class ObjectBytes:
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


class LineFeed:
    """Lines of text from chunks of bytes, with the byte offset where each line starts.

    Lines are cut at LF, CR or CRLF; a block of whole lines is decoded at once. A block that is not
    UTF-8 (or holds NUL bytes) is decoded with its bad bytes as lone surrogates, so the rows that hold
    them can be rejected; `dirty_until` is the line number after the last such block, `problem`
    describes the first one.
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
