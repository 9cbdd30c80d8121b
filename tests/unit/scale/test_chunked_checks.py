"""Plan, Index, Merge and the chunk readers, in memory: whatever the chunk size, every row gets the answer one
reader of the whole file gives it (rows, reasons, "duplicate of row N"), and the chunks cover the file exactly."""

from __future__ import annotations

import gzip
from dataclasses import replace
from typing import Any

import pytest

from smsdrop.intake.first_seen import MergedLosers
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.models import Recipient, RowError
from smsdrop.scale.chunk_reader import ChunkReader
from smsdrop.scale.chunks import Chunk
from smsdrop.scale.digests import order_digest, send_digest
from smsdrop.scale.index import DigestTrail
from smsdrop.scale.merge import Merge
from smsdrop.scale.plan import Unindexed, cut
from tests.unit.intake.reading import GB, GB2, HEADER, FakeS3

GB3 = "+447911123458"
FILE = HEADER + "\n".join(
    [
        f"{GB},Hello,ACME,A1",
        f"{GB2},Hello,ACME,A2",
        "",
        f"{GB},Hello,ACME,A3",  # duplicate of row 2
        f"{GB3},Hi,ACME,A1",  # orderId of row 2
        "not a number,Hi,ACME,A9",
        f"{GB3},Hi,ACME,A9",  # A9 is free: row 7 was rejected before its orderId was looked at
        f"{GB2},Hello,ACME,",  # duplicate of row 3, generated orderId
        f"{GB3},Hi,ACME,A3",  # orderId of row 5 (which lost itself, but was the first A3)
        f"{GB},Bye,ACME,A10",
        "",
        f"{GB3},Hi,ACME,A11",  # duplicate of row 8 (row 6 lost on its orderId: never the first Hi to GB3)
    ]
)


def whole_reader(first_seen: Any = None, ranged: bool = False, data: bytes = FILE.encode()) -> RecipientReader:
    rules = RowRules(job_id="job")
    if first_seen is not None:
        rules = replace(rules, first_seen=first_seen)
    return RecipientReader(FakeS3(data), "bucket", "incoming/f.csv", None, rules, ranged=ranged)


def answers(rows: list[Recipient | RowError]) -> list[tuple[int, str, str]]:
    return [(r.row, getattr(r, "code", "OK"), getattr(r, "reason", r.order_id)) for r in rows]


def chunked(chunk_rows: int) -> tuple[list[Chunk], list[Recipient | RowError]]:
    chunks = list(cut(whole_reader(Unindexed), chunk_rows))
    merge, rows = Merge(), []
    for chunk in chunks:
        trail = DigestTrail(after=chunk.start.row)
        list(ChunkReader(whole_reader(lambda trail=trail: trail, ranged=True), chunk).rows())
        losers = {row: (kind, first) for row, kind, first in merge.losers(DigestTrail.from_bytes(trail.to_bytes()))}
        reader = ChunkReader(whole_reader(lambda losers=losers: MergedLosers(losers), ranged=True), chunk)
        rows += list(reader.rows())
        assert reader.position == chunk.end
        assert reader.position.row - 1 - reader.blank_lines == chunk.rows  # the runner counts the chunk's own rows
    return chunks, rows


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 4, 100])
def test_every_row_gets_the_whole_file_s_answer_whatever_the_chunk_size(chunk_rows: int) -> None:
    expected = answers(list(whole_reader().rows()))
    chunks, rows = chunked(chunk_rows)
    assert answers(rows) == expected
    assert sum(chunk.rows for chunk in chunks) == len(expected) == 10
    assert [c.start for c in chunks[1:]] == [c.end for c in chunks[:-1]]  # cut on record boundaries, no gap


def test_the_whole_file_s_answers_are_the_ones_the_rules_say() -> None:
    reasons = {row: reason for row, code, reason in answers(list(whole_reader().rows())) if code != "OK"}
    assert reasons[5].startswith("duplicate of row 2:")
    assert "row 2" in reasons[6]
    assert 8 not in reasons
    assert reasons[9].startswith("duplicate of row 3:")
    assert "row 5" in reasons[10]
    assert reasons[13].startswith("duplicate of row 8:")


def test_the_trail_keeps_only_the_rows_of_its_chunk_and_survives_its_object() -> None:
    trail = DigestTrail(after=3)
    assert trail.order("A1", 3) == 3
    assert trail.order("A1", 4) == 4
    assert trail.send(GB, "Hi", 4) == 4
    assert trail.send(GB, "Hi", 5) == 5
    again = DigestTrail.from_bytes(trail.to_bytes())
    assert (list(again.rows), list(again.orders), list(again.sends)) == (
        [4, 5],
        [order_digest("A1"), 0],
        [send_digest(GB, "Hi"), send_digest(GB, "Hi")],
    )


def test_digests_are_stable_across_processes_and_never_zero() -> None:
    assert (send_digest("447911123456", "Hi"), order_digest("A1")) == (
        2460466116591682817,
        -7670710795487154119,
    )  # BLAKE2b, not hash()
    assert send_digest("4479", "1Hi") != send_digest("44791", "Hi")  # the separator keeps number and text apart


class RangeLog(FakeS3):
    """FakeS3 that notes where each GET starts."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.starts: list[int] = []

    def get_object(self, *, Bucket: str, Key: str, Range: str, VersionId: str | None = None) -> dict:  # noqa: N803
        self.starts.append(int(Range.removeprefix("bytes=").removesuffix("-")))
        return super().get_object(Bucket=Bucket, Key=Key, Range=Range, VersionId=VersionId)


def chunk_rows(data: bytes, key: str, chunk_rows: int, index: int) -> tuple[list[Recipient | RowError], list[int]]:
    """The rows of chunk `index` read by a ranged reader, and where its GETs started."""
    plan = RecipientReader(FakeS3(data), "bucket", key, None, RowRules(first_seen=Unindexed))
    chunk = list(cut(plan, chunk_rows))[index]
    s3 = RangeLog(data)
    reader = RecipientReader(s3, "bucket", key, None, RowRules(first_seen=Unindexed), ranged=True)
    return list(ChunkReader(reader, chunk).rows()), s3.starts


def test_a_ranged_reader_starts_reading_at_its_chunk_and_keeps_the_file_s_windows_1252() -> None:
    data = (HEADER + "".join(f"{GB},Caf\xe9 {i},ACME,O{i}\n" for i in range(40))).encode("cp1252")
    rows, starts = chunk_rows(data, "incoming/f.csv", 10, 3)
    whole = list(RecipientReader(FakeS3(data), "bucket", "incoming/f.csv", None, RowRules(first_seen=Unindexed)).rows())
    assert answers(rows) == answers(whole[30:])
    assert rows[0].content == "Café 30"  # type: ignore[union-attr]  # a Recipient
    assert max(starts) > len(data) // 2  # the chunk's bytes were fetched from its offset, not from the top


def test_a_gzip_file_is_read_from_the_top_through_the_rows_before_its_chunk() -> None:
    data = gzip.compress((HEADER + "".join(f"{GB},Hi {i},ACME,O{i}\n" for i in range(40))).encode())
    rows, starts = chunk_rows(data, "incoming/f.csv.gz", 10, 3)
    assert [row.row for row in rows] == list(range(32, 42))
    assert set(starts) == {0}
