"""A chunk of a scaled-out file: the records between two record boundaries, as the plan cut them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smsdrop.intake.uploads import Upload
from smsdrop.models import Position
from smsdrop.store.schema import chunk_id


@dataclass(frozen=True, slots=True)
class Chunk:
    """Chunk `index`: the records after `start` up to `end` (positions right after a record, as the reader gives
    them), its data rows, and the object to read them from when it is not the upload (a gzip file's plain copy)."""

    index: int
    start: Position
    end: Position
    rows: int
    source: str = ""

    def as_json(self) -> dict[str, Any]:
        """The plan's item for this chunk (one Distributed Map item)."""
        return {
            "index": self.index,
            "start": [self.start.offset, self.start.row],
            "end": [self.end.offset, self.end.row],
            "rows": self.rows,
            "source": self.source,
        }

    @classmethod
    def of(cls, item: dict[str, Any]) -> Chunk:
        """The chunk of a plan item."""
        start, end = Position(*item["start"]), Position(*item["end"])
        return cls(item["index"], start, end, item["rows"], item.get("source", ""))


@dataclass(frozen=True, slots=True)
class ChunkUpload(Upload):
    """An upload's chunk as the job runner sees it: the same object, a job item of its own (lease, marks,
    checkpoint), its rows under the whole job's shards."""

    parent: str = ""
    chunk: Chunk = field(default_factory=lambda: Chunk(0, Position(0, 1), Position(0, 1), 0))

    @property
    def job_id(self) -> str:
        """The key of the chunk's own item."""
        return chunk_id(self.parent, self.chunk.index)

    @property
    def source(self) -> tuple[str, str | None]:
        """The object (key and version) the chunk's rows are read from."""
        return (self.chunk.source, None) if self.chunk.source else (self.key, self.version_id)

    @property
    def row_span(self) -> tuple[int, int]:
        """The chunk's own rows (after its start, through its end) among the job's row items."""
        return self.chunk.start.row, self.chunk.end.row

    @property
    def rows_of(self) -> str:
        """The job whose shards hold this chunk's row items."""
        return self.parent

    @classmethod
    def of(cls, upload: Upload, chunk: Chunk) -> ChunkUpload:
        """Chunk `chunk` of `upload`."""
        return cls(upload.bucket, upload.key, upload.version_id, upload.etag, upload.size, upload.job_id, chunk)
