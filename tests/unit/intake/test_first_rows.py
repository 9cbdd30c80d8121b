import random
import sys
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdrop.intake.first_rows import FirstRows


@given(st.lists(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), max_size=300))
def test_the_index_answers_like_a_dict_that_keeps_the_first_row_of_each_key(keys):
    index, first = FirstRows(capacity=4), {}
    for row, key in enumerate(keys, start=2):
        assert index.first(key, row) == first.setdefault(key, row)


def test_key_zero_is_a_key_like_any_other():
    index = FirstRows(capacity=4)
    assert (index.first(0, 2), index.first(0, 3), index.first(5, 4)) == (2, 2, 4)


def test_a_million_keys_take_about_25_bytes_each_and_no_object_per_key():
    index, rng = FirstRows(), random.Random(1)
    for row in range(2, 1_000_002):
        index.first(rng.getrandbits(64) - 2**63 + 1, row)
    size = sys.getsizeof(index._keys) + sys.getsizeof(index._rows)
    assert size / 1_000_000 < 26


def test_an_index_restored_from_its_table_answers_as_the_original_and_goes_on_growing():
    index, rng = FirstRows(capacity=4), random.Random(2)
    keys = [rng.getrandbits(64) - 2**63 + 1 for _ in range(100)]
    for row, key in enumerate(keys, start=2):
        index.first(key, row)
    table_keys, table_rows = index.table
    restored = FirstRows.restored(array("q", table_keys), array("I", table_rows))
    assert [restored.first(key, 999) for key in keys] == list(range(2, 102))
    more = [rng.getrandbits(64) - 2**63 + 1 for _ in range(500)]
    assert [restored.first(key, row) for row, key in enumerate(more, start=200)] == list(range(200, 700))


@pytest.mark.parametrize(
    ("keys", "rows"),
    [
        (array("q", [0, 1, 2]), array("I", [0, 2, 3])),
        (array("q", [1, 2]), array("I", [2, 3])),
        (array("q", [0] * 4), array("I", [0] * 2)),
    ],
)
def test_what_is_no_index_table_is_refused(keys, rows):
    with pytest.raises(ValueError, match="not the table of an index"):
        FirstRows.restored(keys, rows)
