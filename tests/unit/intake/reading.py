"""Reading CSV text through RecipientReader from a fake S3 object: what the intake tests share."""

import io
from collections.abc import Iterator
from contextlib import contextmanager

from smsdrop.intake import line_feed
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.models import Position

HEADER = "number,content,senderId,orderId\n"
GB = "+447911123456"
GB2 = "+447911123457"


class FakeS3:
    """Just enough S3 for powertools' S3Object: ranged GETs of one object held in memory, and its HEAD."""

    def __init__(self, data: bytes, metadata: dict[str, str] | None = None) -> None:
        self.data = data
        self.metadata = metadata or {}
        self.gets = 0

    def get_object(self, *, Bucket: str, Key: str, Range: str, VersionId: str | None = None) -> dict:  # noqa: N803
        self.gets += 1
        return {"Body": io.BytesIO(self.data[int(Range.removeprefix("bytes=").removesuffix("-")) :])}

    def head_object(self, *, Bucket: str, Key: str, VersionId: str | None = None) -> dict:  # noqa: N803
        return {"ContentLength": len(self.data), "Metadata": self.metadata}


def reader(
    data: bytes | str, key: str = "incoming/r.csv", metadata: dict[str, str] | None = None, **rules
) -> RecipientReader:
    raw = data.encode() if isinstance(data, str) else data
    return RecipientReader(FakeS3(raw, metadata), "bucket", key, None, RowRules(**rules))


def read(data: bytes | str, key: str = "incoming/r.csv", start: Position | None = None, **rules) -> list:
    return list(reader(data, key, **rules).rows(start))


def one(line: str, header: str = HEADER, **rules):
    (row,) = read(header + line + "\n", **rules)
    return row


@contextmanager
def chunks_of(size: int, encoding_window: int | None = None) -> Iterator[None]:
    """S3 objects read `size` bytes at a time, their encoding decided on their first `encoding_window` bytes (if
    given), where monkeypatch cannot go: inside a hypothesis test."""
    saved = line_feed.READ_BYTES, line_feed.ENCODING_WINDOW
    line_feed.READ_BYTES, line_feed.ENCODING_WINDOW = size, encoding_window or saved[1]
    try:
        yield
    finally:
        line_feed.READ_BYTES, line_feed.ENCODING_WINDOW = saved
