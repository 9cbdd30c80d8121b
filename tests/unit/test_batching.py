import json
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdrop.models import Batch, Position, Recipient, RowError
from smsdrop.send.batching import CALL_BYTES, MIN_BODY_BYTES, BatchLimits, _Group, _recipient_bytes, batches

APP_ID = "A" * 64


def body_bytes(batch: Batch) -> int:
    """The request body exactly as the gateway serialises it."""
    array = [
        {
            "numbers": ",".join(r.number for r in item.recipients),
            "content": item.content,
            "senderId": item.sender_id,
            "orderId": ",".join(r.order_id for r in item.recipients),
        }
        for item in batch.items
    ]
    body = {"appId": APP_ID, "array": array}
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def recipient(row: int, content: str = "Hi", sender_id: str = "ACME", order_id: str = "") -> Recipient:
    return Recipient(row, row * 100, f"4479111{row:05d}", 44, content, sender_id, order_id or f"job-{row}")


def rejected(row: int) -> RowError:
    return RowError(row, row * 100, "bad", "", f"job-{row}", "NUMBER_LETTERS", "number contains letters")


class Reader:
    """Rows handed out one by one, with the position right after the last one, like RecipientReader."""

    def __init__(self, rows: list, sent: list[Batch] | None = None) -> None:
        self._rows = rows
        self._sent = [] if sent is None else sent
        self.consumed = 0
        self.most_pending = 0
        self.position = Position(offset=100, row=1)

    def rows(self) -> Iterator:
        for row in self._rows:
            read = sum(isinstance(r, Recipient) for r in self._rows[: self.consumed])
            self.most_pending = max(self.most_pending, read - sum(len(b.recipients) for b in self._sent))
            self.consumed += 1
            self.position = Position(offset=(row.row + 1) * 100, row=row.row)
            yield row


DEFAULT_LIMITS = BatchLimits()


def run(rows: list, limits: BatchLimits = DEFAULT_LIMITS, first_seq: int = 0) -> list[Batch]:
    reader = Reader(rows)
    return list(batches(reader.rows(), lambda: reader.position, limits, first_seq))


def test_rows_sharing_content_and_sender_make_one_item():
    rows = [recipient(2), recipient(3, "Bye"), recipient(4), recipient(5, sender_id="OTHER")]
    (batch,) = run(rows)
    assert sorted((i.content, i.sender_id, [r.row for r in i.recipients]) for i in batch.items) == [
        ("Bye", "ACME", [3]),
        ("Hi", "ACME", [2, 4]),
        ("Hi", "OTHER", [5]),
    ]


def test_a_group_that_fills_a_call_is_sent_before_more_rows_are_read():
    reader = Reader([recipient(row) for row in range(2, 12)])
    first = next(batches(reader.rows(), lambda: reader.position, BatchLimits(numbers_per_call=4)))
    assert [r.row for r in first.recipients] == [2, 3, 4, 5]
    assert reader.consumed == 4


def test_a_full_window_is_packed_into_calls_largest_groups_first():
    rows = [recipient(2, "a"), recipient(3, "b"), recipient(4, "b"), recipient(5, "c")]
    out = run(rows, BatchLimits(numbers_per_call=3, window_rows=4))
    assert [[(i.content, len(i.recipients)) for i in b.items] for b in out] == [[("b", 2), ("a", 1)], [("c", 1)]]
    assert [b.resume_at for b in out] == [Position(offset=500, row=4), Position(offset=600, row=5)]


def test_rejected_rows_ride_with_the_next_batch():
    out = run([rejected(2), recipient(3), rejected(4)])
    assert [([r.row for r in b.recipients], [r.row for r in b.rejected]) for b in out] == [([3], [2, 4])]


def test_rejected_rows_piling_up_go_out_alone():
    out = run([recipient(2), *map(rejected, range(3, 8))], BatchLimits(max_rejected=2))
    assert [(len(b.items), [r.row for r in b.rejected]) for b in out] == [(0, [3, 4]), (0, [5, 6]), (1, [7])]
    assert out[0].resume_at == Position(offset=200, row=1)


def test_no_row_waits_more_than_the_lag_behind_the_reader_however_its_text_lags():
    # row 2's text never fills a call and the window never fills: only the lag sends it out
    rows = [recipient(2, "rare")] + [recipient(row, "common") for row in range(3, 40)]
    out = run(rows, BatchLimits(numbers_per_call=4, window_rows=100, lag_rows=10))
    first_with_row_2 = next(i for i, b in enumerate(out) if 2 in [r.row for r in b.recipients])
    assert max(r.row for b in out[: first_with_row_2 + 1] for r in b.recipients) <= 11
    read_so_far = 1
    for batch in out:
        read_so_far = max([read_so_far, *(r.row for r in batch.recipients)])
        assert batch.resume_at.row >= read_so_far - 10  # what is recorded past a checkpoint stays within the lag


def test_rejected_rows_count_towards_the_lag():
    out = run([recipient(2, "rare"), *map(rejected, range(3, 9))], BatchLimits(window_rows=100, lag_rows=4))
    assert [r.row for r in out[0].recipients] == [2]


def test_batches_are_numbered_from_the_first_seq():
    out = run([recipient(row) for row in range(2, 8)], BatchLimits(numbers_per_call=2), first_seq=40)
    assert [b.seq for b in out] == [40, 41, 42]


def test_nothing_in_gives_nothing_out():
    assert run([]) == []


def test_the_last_batch_resumes_where_the_reader_stands():
    out = run([recipient(2), rejected(3)])
    assert out[-1].resume_at == Position(offset=400, row=3)


@pytest.mark.parametrize(
    "limits",
    [
        {"numbers_per_call": 0},
        {"window_rows": 0},
        {"lag_rows": 0},
        {"max_rejected": 0},
        {"max_body_bytes": MIN_BODY_BYTES - 1},
    ],
    ids=["no-numbers", "no-window", "no-lag", "no-rejected", "body-too-small-for-one-recipient"],
)
def test_limits_that_cannot_work_are_refused(limits):
    with pytest.raises(ValueError, match="at least"):
        BatchLimits(**limits)


def test_the_body_estimate_is_never_below_the_real_body_and_close_to_it():
    rows = [recipient(row, '"quoted"\\ \u00e9 😀 \x01' * 20, "S\u00e9nder", f"o,{row}\u00e9") for row in range(2, 60)]
    (batch,) = run(rows)
    group = _Group((batch.items[0].content, batch.items[0].sender_id))
    estimate = CALL_BYTES + group.text_bytes + sum(_recipient_bytes(r) for r in batch.recipients)
    assert body_bytes(batch) <= estimate <= body_bytes(batch) + 4


# ---- properties ---------------------------------------------------------------------------------------------

HINDI = "\u0928\u092e\u0938\u094d\u0924\u0947 😀"
CONTENTS = st.sampled_from(["Hi", "Hello there", "x" * 900, "😀" * 1024, "\x01" * 1024, HINDI * 100, '"\\'])


@st.composite
def rows_and_limits(draw):
    count = draw(st.integers(min_value=0, max_value=120))
    rows = []
    for row in range(2, count + 2):
        if draw(st.integers(0, 5)) == 0:
            rows.append(rejected(row))
        else:
            order_id = draw(st.sampled_from(["", "ref-\u00e9" * 8, "o" * 64]))
            rows.append(recipient(row, draw(CONTENTS), draw(st.sampled_from(["ACME", "", "S" * 32])), order_id))
    limits = BatchLimits(
        numbers_per_call=draw(st.integers(1, 40)),
        max_body_bytes=draw(st.integers(MIN_BODY_BYTES, 60_000)),
        window_rows=draw(st.integers(1, 60)),
        max_rejected=draw(st.integers(1, 10)),
    )
    return rows, limits


@settings(max_examples=300, deadline=None)
@given(rows_and_limits(), st.integers(0, 5))
def test_batching_keeps_every_promise(case, first_seq):
    rows, limits = case
    out: list[Batch] = []
    reader = Reader(rows, out)
    for batch in batches(reader.rows(), lambda: reader.position, limits, first_seq):
        out.append(batch)
        done = {r.row for b in out for r in (*b.recipients, *b.rejected)}
        assert all(r.row in done for r in rows if r.row <= batch.resume_at.row)  # the checkpoint is safe
    every = Counter(r.row for b in out for r in (*b.recipients, *b.rejected))
    assert every == Counter(r.row for r in rows)  # every row, recipient or error, exactly once
    assert [b.seq for b in out] == list(range(first_seq, first_seq + len(out)))
    for batch in out:
        assert len(batch.recipients) <= limits.numbers_per_call
        assert body_bytes(batch) <= limits.max_body_bytes
        assert len(batch.rejected) <= limits.max_rejected
        assert batch.has_call or batch.rejected
        for item in batch.items:
            assert all((r.content, r.sender_id) == (item.content, item.sender_id) for r in item.recipients)
    assert all(a.resume_at.row <= b.resume_at.row for a, b in pairwise(out))
    assert all(a.resume_at.offset <= b.resume_at.offset for a, b in pairwise(out))
    assert reader.most_pending < limits.window_rows  # the window is flushed as it fills
