"""Row sets as the job item keeps them: small for the usual shapes, exact for any, and the old text still read."""

import random

import pytest

from smsdrop.store import row_sets


@pytest.mark.parametrize(
    "rows",
    [[], [2], [2, 3, 4], list(range(1_000, 2_000)), [9_999_999_999, 5], random.Random(3).sample(range(2, 50_000), 900)],
    ids=["none", "one", "a-run", "a-batch-of-1000-in-a-row", "far-apart-and-the-largest-row", "scattered"],
)
def test_a_packed_set_unpacks_to_its_rows_ascending(rows):
    assert row_sets.unpack(row_sets.pack(rows)) == tuple(sorted(rows))


def test_repeats_are_kept_once():
    assert row_sets.unpack(row_sets.pack([7, 3, 7, 3])) == (3, 7)


@pytest.mark.parametrize(
    ("rows", "at_most"),
    [
        (range(2, 1_002), 40),  # a batch of one text in a one-text file
        (range(2, 2_002, 2), 40),  # a batch of one text in a file alternating two texts
        (random.Random(1).sample(range(2, 22_002), 5_000), 3_000),  # past the checkpoint, scattered over a lag
    ],
    ids=["contiguous-batch", "every-other-row", "scattered-over-the-lag"],
)
def test_a_set_costs_the_job_item_a_few_bytes_not_seven_a_row(rows, at_most):
    assert len(row_sets.pack(rows)) <= at_most


def test_marks_written_as_text_by_an_earlier_version_still_read():
    assert row_sets.unpack("4,5,12") == (4, 5, 12)
    assert row_sets.unpack("") == ()
