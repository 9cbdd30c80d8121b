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
    """Just enough S3 for powertools' S3Object: ranged GETs of one object held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_object(self, *, Bucket: str, Key: str, Range: str, VersionId: str | None = None) -> dict:  # noqa: N803
        return {"Body": io.BytesIO(self.data[int(Range.removeprefix("bytes=").removesuffix("-")) :])}


def reader(data: bytes | str, key: str = "incoming/r.csv", **rules) -> RecipientReader:
    raw = data.encode() if isinstance(data, str) else data
    return RecipientReader(FakeS3(raw), "bucket", key, None, RowRules(**rules))


def read(data: bytes | str, key: str = "incoming/r.csv", start: Position | None = None, **rules) -> list:
    return list(reader(data, key, **rules).rows(start))


def one(line: str, header: str = HEADER, **rules):
    (row,) = read(header + line + "\n", **rules)
    return row


@contextmanager
def chunks_of(size: int) -> Iterator[None]:
    """S3 objects read `size` bytes at a time (where monkeypatch cannot go: inside a hypothesis test)."""
    saved, line_feed.READ_BYTES = line_feed.READ_BYTES, size
    try:
        yield
    finally:
        line_feed.READ_BYTES = saved
