"""A resume that takes back the reader state kept at the hand-over gives every row the answer of one whole read."""

import gzip
import io
import logging
import sys
import zlib
from array import array

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsdrop.intake.first_rows import FirstRows
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.reader_snapshots import ReaderSnapshots
from smsdrop.intake.reader_state import ReaderState, StateUnusableError, decoded, encoded
from smsdrop.models import Position
from tests.unit.intake.reading import chunks_of

HEADER = "number,content,orderId\n"
KEY = "incoming/r.csv"
ROWS = [
    "+447911123456,Hi,A1",  # 2
    "+447911123457,Hi,A2",  # 3
    "",  # 4: blank
    "+447911123456,Caf\u00e9 \u2019ok\u2019,A3",  # 5: UCS-2
    "+447911123456,Hi,A4",  # 6: duplicate of row 2, before the checkpoint
    "+447911123458,Hi,A1",  # 7: orderId of row 2
    "+447911123457,Hi,A5",  # 8: duplicate of row 3, across the checkpoint
    "",  # 9: blank, after the checkpoint
    "+447911123459,Caf\u00e9 \u2019ok\u2019,A6",  # 10: UCS-2 again
    "+447911123460,Yo,A7",  # 11
    "+447911123461,Yo,A7",  # 12: orderId repeated after the state
    "+447911123462,Yo,A2",  # 13: orderId of row 3, across the checkpoint
]


class S3:
    """Objects in memory: ranged GETs (where each one started is kept), HEAD, PUT, DELETE."""

    def __init__(self, key: str, data: bytes) -> None:
        self.objects = {key: data}
        self.starts: list[tuple[str, int]] = []

    def get_object(self, *, Bucket: str, Key: str, Range: str = "bytes=0-", VersionId: str | None = None) -> dict:  # noqa: N803
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        start = int(Range.removeprefix("bytes=").split("-")[0])
        self.starts.append((Key, start))
        return {"Body": io.BytesIO(self.objects[Key][start:])}

    def head_object(self, *, Bucket: str, Key: str, VersionId: str | None = None) -> dict:  # noqa: N803
        return {"ContentLength": len(self.objects[Key]), "Metadata": {}}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> dict:  # noqa: N803
        self.objects[Key] = Body
        return {}

    def delete_object(self, *, Bucket: str, Key: str) -> dict:  # noqa: N803
        self.objects.pop(Key, None)
        return {}


def file_bytes(rows: list[str]) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def job_reader(s3: S3, key: str = KEY, **rules) -> RecipientReader:
    rules = {"job_id": "job", **rules}
    return RecipientReader(s3, "b", key, None, RowRules(**rules), snapshots=ReaderSnapshots(s3, "b", "job"))


def whole(data: bytes, key: str = KEY) -> tuple[list, RecipientReader]:
    """Every row of one read from the top, and its reader."""
    reader = job_reader(S3(key, data), key)
    return list(reader.rows()), reader


def handed_over(s3: S3, key: str, checkpoint_row: int, read_row: int) -> Position:
    """Read up to the row `read_row` (the reader ahead of the checkpoint), keep the state for the position after
    row `checkpoint_row`; that checkpoint."""
    reader = job_reader(s3, key)
    checkpoint = None
    for row in reader.rows():
        if row.row == checkpoint_row:
            checkpoint = reader.position
        if row.row == read_row:
            break
    reader.keep(checkpoint)
    return checkpoint


def resumed(s3: S3, key: str, checkpoint: Position) -> tuple[list, RecipientReader]:
    reader = job_reader(s3, key)
    return list(reader.rows(checkpoint)), reader


def test_a_state_comes_back_from_its_bytes_as_it_was_kept() -> None:
    orders, sends = FirstRows(capacity=4), FirstRows()
    for row, key in enumerate([5, -7, 2**62, 5], start=2):
        orders.first(key, row)
    sends.first(-(2**63) + 1, 9)
    texts = {"counts": [2, 1, 1], "texts": [["Caf\u00e9", 3, 2]]}
    state = decoded(encoded(ReaderState(Position(120, 9), 3, texts, "rules", orders, sends)))
    assert (state.read, state.blank_lines, state.texts, state.rules) == (Position(120, 9), 3, texts, "rules")
    assert state.orders.table == orders.table
    assert state.sends.table == sends.table
    assert [state.orders.first(key, 99) for key in (5, -7, 2**62, 8)] == [2, 3, 4, 99]


def with_texts(texts) -> bytes:
    state = ReaderState(Position(1, 2), 0, texts, "", FirstRows(), FirstRows())
    return encoded(state)


def cut_short() -> bytes:
    state = ReaderState(Position(1, 2), 0, {"counts": [0, 0, 0], "texts": []}, "", FirstRows(), FirstRows())
    raw = zlib.decompress(encoded(state))
    return zlib.compress(raw[: len(raw) - 100])


@pytest.mark.parametrize(
    "data",
    [b"", b"not zlib", zlib.compress(b"smsdrop-reader-state-2\n"), cut_short(), with_texts({"counts": [1]})],
    ids=["empty", "not-zlib", "other-format", "cut-short", "bad-tally"],
)
def test_bytes_that_are_no_state_are_refused(data) -> None:
    with pytest.raises(StateUnusableError):
        decoded(data)


def test_a_resume_with_the_state_answers_every_row_as_one_whole_read_and_starts_reading_at_the_checkpoint() -> None:
    data = file_bytes(ROWS)
    expected, full = whole(data)
    s3 = S3(KEY, data)
    checkpoint = handed_over(s3, KEY, checkpoint_row=7, read_row=10)
    s3.starts.clear()
    rows, reader = resumed(s3, KEY, checkpoint)
    assert rows == [row for row in expected if row.row > 7]
    assert [(row.row, row.reason.split(":")[0]) for row in rows if hasattr(row, "reason")] == [
        (8, "duplicate of row 3"),
        (12, "orderId 'A7' repeats row 11"),
        (13, "orderId 'A2' repeats row 3"),
    ]
    assert (reader.blank_lines, reader.report(), reader.position) == (full.blank_lines, full.report(), full.position)
    assert (KEY, checkpoint.offset) in s3.starts
    assert not [start for key, start in s3.starts if key == KEY and 0 < start < checkpoint.offset]


def test_the_state_kept_for_a_checkpoint_replaces_the_one_the_reader_resumed_from() -> None:
    data = file_bytes(ROWS)
    s3 = S3(KEY, data)
    first = handed_over(s3, KEY, checkpoint_row=3, read_row=5)
    reader = job_reader(s3, KEY)
    rows = reader.rows(first)
    while next(rows).row < 8:
        pass
    reader.keep(reader.position)
    kept = [key for key in s3.objects if key != KEY]
    assert kept == [ReaderSnapshots(s3, "b", "job").key(reader.position)]


@pytest.mark.parametrize("spoil", ["missing", "corrupt", "other-checkpoint", "other-rules"])
def test_a_resume_without_a_usable_state_reads_the_file_again_up_to_the_checkpoint(spoil, caplog) -> None:
    data = file_bytes(ROWS)
    expected, full = whole(data)
    s3 = S3(KEY, data)
    checkpoint = handed_over(s3, KEY, checkpoint_row=7, read_row=10)
    (kept,) = [key for key in s3.objects if key != KEY]
    if spoil == "missing":
        del s3.objects[kept]
    elif spoil == "corrupt":
        s3.objects[kept] = s3.objects[kept][:-20]
    elif spoil == "other-checkpoint":
        s3.objects[ReaderSnapshots(s3, "b", "job").key(Position(checkpoint.offset - 1, 6))] = s3.objects.pop(kept)
    s3.starts.clear()
    rules = {"gsm_safe": True} if spoil == "other-rules" else {}
    with caplog.at_level(logging.INFO):
        reader = job_reader(s3, KEY, **rules)
        rows = list(reader.rows(checkpoint))
    if spoil != "other-rules":
        assert rows == [row for row in expected if row.row > 7]
        assert (reader.blank_lines, reader.report()) == (full.blank_lines, full.report())
    assert (KEY, checkpoint.offset) not in s3.starts
    assert len([r for r in caplog.records if "Resuming without" in r.getMessage()]) == 1


def test_a_gzip_file_keeps_no_state_and_is_read_again_from_the_top() -> None:
    key = "incoming/r.csv.gz"
    data = gzip.compress(file_bytes(ROWS))
    expected, _ = whole(data, key)
    s3 = S3(key, data)
    checkpoint = handed_over(s3, key, checkpoint_row=7, read_row=10)
    assert list(s3.objects) == [key]
    rows, _ = resumed(s3, key, checkpoint)
    assert rows == [row for row in expected if row.row > 7]


NUMBERS = ["+447911123456", "+447911123457", "+447911123458", "12", ""]
CELLS = st.tuples(
    st.sampled_from(NUMBERS),
    st.sampled_from(["Hi", "Yo", "Caf\u00e9 \u2019", ""]),
    st.sampled_from(["", "A", "B", "C,D"]),
)
LINES = st.one_of(
    st.just(""), CELLS.map(lambda cells: ",".join(f'"{cell}"' if "," in cell else cell for cell in cells))
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, min_size=2, max_size=40), st.data())
def test_a_resume_from_any_checkpoint_with_the_state_answers_as_one_whole_read(lines, data) -> None:
    content = file_bytes(["+447911123499,first,Z", *lines])
    expected, full = whole(content)
    rows = [row.row for row in expected]
    checkpoint_row = data.draw(st.sampled_from(rows), label="checkpoint")
    read_row = data.draw(st.sampled_from([row for row in rows if row >= checkpoint_row]), label="read")
    with chunks_of(7):
        s3 = S3(KEY, content)
        checkpoint = handed_over(s3, KEY, checkpoint_row, read_row)
        got, reader = resumed(s3, KEY, checkpoint)
    assert (KEY, checkpoint.offset) in s3.starts  # entered at the checkpoint, the state taken back
    assert got == [row for row in expected if row.row > checkpoint_row]
    assert (reader.blank_lines, reader.report(), reader.position) == (full.blank_lines, full.report(), full.position)


def test_an_index_table_kept_in_the_other_byte_order_is_swapped_back(monkeypatch) -> None:
    orders = FirstRows(capacity=4)
    orders.first(5, 2)
    state = ReaderState(Position(1, 2), 0, {"counts": [0, 0, 0], "texts": []}, "", orders, FirstRows())
    monkeypatch.setattr(sys, "byteorder", "big" if sys.byteorder == "little" else "little")
    data = encoded(state)
    monkeypatch.undo()
    keys = array("q", orders.table[0])
    keys.byteswap()
    assert decoded(data).orders.table[0] == keys
