"""The Plan step: the file read once with the job's own reader (so its CSV rules and whole-file refusals hold),
cut into chunks of `chunk_rows` data rows on record boundaries, and the plan written for the Distributed Maps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from smsdrop.models import Position, Row
from smsdrop.scale.chunks import Chunk
from smsdrop.send.ports import Reader

DATA_START = Position(0, 1)
"""Where the first chunk starts: the data rows right after the header (row 1)."""


class Unindexed:
    """A FirstSeen that answers "first" to every row: the plan only cuts the file, Merge decides duplicates."""

    def order(self, order_id: str, row: int) -> int:
        """`row`: no index is kept."""
        return row

    def send(self, number: str, content: str, row: int) -> int:
        """`row`: no index is kept."""
        return row


def cut(reader: Reader, chunk_rows: int, seen: Callable[[Row], object] = lambda row: None) -> Iterator[Chunk]:
    """The chunks of the reader's file, every `chunk_rows` data rows, `seen` told of each; FileRefused if the file
    cannot be used."""
    return _cut(reader.rows(), reader, chunk_rows, seen)


def _cut(rows: Iterable[Row], reader: Reader, chunk_rows: int, seen: Callable[[Row], object]) -> Iterator[Chunk]:
    start, count, index = DATA_START, 0, 0
    for row in rows:
        seen(row)
        count += 1
        if count == chunk_rows:
            yield Chunk(index, start, reader.position, count)
            index, start, count = index + 1, reader.position, 0
    if count or index == 0:
        yield Chunk(index, start, reader.position, count)


def write_plan(s3: Any, bucket: str, key: str, chunks: Iterable[Chunk], source: str = "") -> int:
    """Write the plan object (a JSON array, one item a chunk, read from `source` if not from the upload); how many
    chunks it holds."""
    items = [replace(chunk, source=source).as_json() for chunk in chunks]
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(items).encode(), ContentType="application/json")
    return len(items)
