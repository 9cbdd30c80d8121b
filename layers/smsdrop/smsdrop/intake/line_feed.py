"""The bytes of an upload as lines of text: streamed from S3, inflated if gzip, cut at line ends byte-exactly.

Every line knows the byte offset (in the inflated bytes, whatever the encoding) where it starts, so a row can be
found again on a resume. The encoding is decided once, from the first bytes (text_encoding.py). Bytes it cannot
decode do not stop the feed: their block is decoded with the bad bytes as lone surrogates (NUL as U+DC00), and
the rows that hold them are rejected downstream.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from itertools import accumulate, chain
from typing import Any

from aws_lambda_powertools.utilities.streaming import S3Object

from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.intake.text_encoding import (
    ENCODING_WINDOW,
    UTF16,
    TextEncoding,
    decided,
    utf16_by_mark,
    utf16_sizes,
    utf16_text,
)

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
        chunks = _reads(self._stream())
        head = next(chunks)
        if self._key.endswith(".gz") or head.startswith(_GZIP_MAGIC):
            return _gunzip(chain([head], chunks))
        return chain([head], chunks)

    def from_offset(self, offset: int) -> Iterator[bytes] | None:
        """Chunks of the object's bytes from `offset` on, or None for a gzip file (it cannot be entered midway)."""
        if self._key.endswith(".gz") or self.head(len(_GZIP_MAGIC)) == _GZIP_MAGIC:
            return None
        stream = self._stream()
        stream.seek(offset)
        return _reads(stream)

    def head(self, size: int) -> bytes:
        """The object's first `size` bytes, as stored."""
        with closing(self._stream()) as stream:
            return stream.read(size)

    def _stream(self) -> S3Object:
        return S3Object(bucket=self._bucket, key=self._key, version_id=self._version_id, boto3_client=self._client)


def _reads(stream: S3Object) -> Iterator[bytes]:
    """READ_BYTES at a time (the first chunk even if empty), closing the stream at the end."""
    with closing(stream):
        yield stream.read(READ_BYTES)
        while chunk := stream.read(READ_BYTES):
            yield chunk


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
    """Lines of text from chunks of bytes, with the byte offset (in those bytes) where each line starts.

    The encoding is decided from the first bytes (text_encoding.py), unless it is given (a part of a file read from its
    middle keeps the whole file's), and kept in `encoding`. Lines are cut at LF, CR
    or CRLF; a block of whole lines is decoded at once. A block with bytes its encoding cannot decode (or NUL
    bytes) is decoded with them as lone surrogates (NUL as U+DC00), so the rows that hold them can be rejected;
    `dirty_until` is the line number after the last such block. `problem` is set when the first block holds NUL
    bytes: not text at all (a UTF-16 file without its byte order mark is refused so too).
    """

    def __init__(self, chunks: Iterable[bytes], encoding: TextEncoding | None = None) -> None:
        self._chunks = chunks
        self._preset = encoding
        self._base = 0
        self._offsets = [0]
        self.dirty_until = 0
        self.problem: FileRefused | None = None
        self.encoding: TextEncoding | None = None

    def lines(self) -> Iterator[str]:
        """Every line, line ends kept (csv.reader needs them inside quoted fields)."""
        return chain.from_iterable(self._blocks())

    def offset_at(self, line: int) -> int:
        """The byte offset where line number `line` (0-based, of those read so far or the next) starts."""
        return self._offsets[line - self._base]

    def _blocks(self) -> Iterator[list[str]]:
        chunks, pieces, size, final = iter(self._chunks), [], 0, True
        for chunk in chunks:  # the bytes the encoding is decided on, however small the chunks
            pieces.append(chunk)
            size += len(chunk)
            if size >= ENCODING_WINDOW:
                final = False
                break
        head = b"".join(pieces)
        self.encoding = self._preset or utf16_by_mark(head) or decided(head, final)
        if self.encoding in UTF16:
            return self._whole_lines(utf16_text(chain(pieces, chunks), self.encoding), self._text_block)
        return self._whole_lines(chain(pieces, chunks), self._block)

    def _whole_lines(self, pieces: Iterable[Any], block: Callable[[Any], list[str]]) -> Iterator[list[str]]:
        """Blocks of whole lines from pieces of bytes (or of UTF-16 text, alike), each decoded by `block`."""
        carry = None
        for piece in pieces:
            data = piece if carry is None else carry + piece
            lf, cr = _LINE_ENDS[type(piece)]
            cut = max(data.rfind(lf), data.rfind(cr, 0, len(data) - 1)) + 1
            carry = data[cut:]
            if len(carry) > MAX_LINE_BYTES:
                raise FileRefused(FileProblem.LINE_TOO_LONG, offset=self._offsets[-1], limit=MAX_LINE_BYTES)
            if cut:
                yield block(data[:cut])
        if carry:
            yield block(carry)

    def _block(self, data: bytes) -> list[str]:
        """The lines of a block of bytes in a one-byte line-end encoding (UTF-8 or Windows-1252)."""
        lines = data.splitlines(keepends=True)
        if len(self._offsets) == 1 and b"\0" in data and self._preset is None:
            self.problem = FileRefused(FileProblem.BINARY)
        self._advance(list(map(len, lines)))
        codec = self.encoding.codec  # type: ignore[union-attr]  # decided by the first block, before any line
        if b"\0" not in data:
            try:
                return list(map(bytes.decode, lines)) if codec == _UTF8 else [line.decode(codec) for line in lines]
            except UnicodeDecodeError:
                pass
        self.dirty_until = self._base + len(lines)
        return [line.decode(codec, errors="surrogateescape").replace("\0", "\udc00") for line in lines]

    def _text_block(self, text: str) -> list[str]:
        """The lines of a block of UTF-16 text; NUL characters and unpaired surrogates make it dirty."""
        lines = _TEXT_LINE.findall(text)
        self._advance(utf16_sizes(lines, self.encoding))  # type: ignore[arg-type]
        if "\0" in text or _SURROGATE.search(text):
            self.dirty_until = self._base + len(lines)
            return [line.replace("\0", "\udc00") for line in lines]
        return lines

    def _advance(self, sizes: list[int]) -> None:
        """Note the byte sizes of the next lines."""
        self._base += len(self._offsets) - 1
        self._offsets = list(accumulate(sizes, initial=self._offsets[-1]))


_LINE_ENDS: dict[type, tuple[Any, Any]] = {bytes: (b"\n", b"\r"), str: ("\n", "\r")}
_UTF8 = TextEncoding.UTF8.codec
_TEXT_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # bytes.splitlines' line ends, in text
_SURROGATE = re.compile("[\ud800-\udfff]")
