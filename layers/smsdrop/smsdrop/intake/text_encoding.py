"""Which text encoding a file is in, decided once from its first bytes, by one rule (README.md, "The CSV").

- A UTF-16 byte order mark (Excel's "Unicode text") means UTF-16, little- or big-endian as the mark says.
- Otherwise the first ENCODING_WINDOW bytes (256 KiB) decide: valid UTF-8 (with or without a BOM) is UTF-8,
  always; bytes that are not valid UTF-8 mean Windows-1252 (what Excel's "CSV" saves on a western Windows; a
  superset of Latin-1's printable characters). A file that is UTF-8 in its first 256 KiB stays UTF-8: a bad byte
  later rejects only its row, it never turns the file into another encoding half way.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from enum import StrEnum

from smsdrop.intake.rejections import FileProblem, FileRefused

ENCODING_WINDOW = 1 << 18


class TextEncoding(StrEnum):
    """An encoding smsdrop reads, as the summary names it."""

    UTF8 = "UTF-8"
    UTF16LE = "UTF-16LE"
    UTF16BE = "UTF-16BE"
    WINDOWS_1252 = "Windows-1252"

    @property
    def codec(self) -> str:
        """Python's name for it."""
        return _CODECS[self]


_CODECS = {
    TextEncoding.UTF8: "utf-8",
    TextEncoding.UTF16LE: "utf-16-le",
    TextEncoding.UTF16BE: "utf-16-be",
    TextEncoding.WINDOWS_1252: "cp1252",
}
_UTF16_MARKS = {codecs.BOM_UTF16_LE: TextEncoding.UTF16LE, codecs.BOM_UTF16_BE: TextEncoding.UTF16BE}
UTF16 = frozenset(_UTF16_MARKS.values())


def utf16_by_mark(head: bytes) -> TextEncoding | None:
    """UTF-16LE or UTF-16BE if the file starts with that byte order mark, else None."""
    return _UTF16_MARKS.get(head[:2])


def decided(head: bytes, final: bool) -> TextEncoding:
    """UTF-8 if the file's first bytes are valid UTF-8 (a character cut at their end aside, unless they are the
    whole file: `final`), else Windows-1252. NUL bytes are judged elsewhere."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final)
    except UnicodeDecodeError:
        return TextEncoding.WINDOWS_1252
    return TextEncoding.UTF8


def utf16_text(chunks: Iterable[bytes], encoding: TextEncoding) -> Iterator[str]:
    """The text of UTF-16 chunks (a character split between chunks is joined; an unpaired surrogate is kept as a
    lone surrogate, so its row is rejected and every character still stands for its bytes); FileRefused if the
    file ends in the middle of a character."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="surrogatepass")
    for chunk in chunks:
        yield decoder.decode(chunk)
    if decoder.getstate()[0]:
        raise FileRefused(FileProblem.UTF16_TRUNCATED)


def utf16_sizes(lines: list[str], encoding: TextEncoding) -> list[int]:
    """How many bytes each line took in the file."""
    return [len(line.encode(encoding.codec, "surrogatepass")) for line in lines]
