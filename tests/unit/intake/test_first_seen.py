from smsdrop.intake.first_rows import FirstRows
from smsdrop.intake.first_seen import ORDER, SEND, LocalFirstSeen, MergedLosers
from smsdrop.scale.digests import order_digest, send_digest


def test_local_first_seen_answers_the_first_row_of_each_key() -> None:
    seen = LocalFirstSeen()
    assert [seen.order("A", 2), seen.order("B", 3), seen.order("A", 4)] == [2, 3, 2]
    assert [seen.send("44", "hi", 2), seen.send("44", "ho", 3), seen.send("44", "hi", 5)] == [2, 3, 2]


def test_merged_losers_answer_only_for_their_own_kind() -> None:
    seen = MergedLosers({7: (ORDER, 3), 9: (SEND, 2)})
    assert seen.order("X", 7) == 3
    assert seen.send("44", "hi", 7) == 7
    assert seen.send("44", "hi", 9) == 2
    assert seen.order("X", 9) == 9
    assert seen.order("X", 10) == 10


def test_the_local_index_is_keyed_by_stable_digests_not_by_hash() -> None:
    seen = LocalFirstSeen()
    seen.order("A", 2)
    seen.send("44", "hi", 3)
    keys, rows = seen.orders.table
    assert [(k, r) for k, r in zip(keys, rows, strict=True) if k] == [(order_digest("A"), 2)]
    keys, rows = seen.sends.table
    assert [(k, r) for k, r in zip(keys, rows, strict=True) if k] == [(send_digest("44", "hi"), 3)]


def test_a_local_index_built_on_restored_tables_goes_on_from_them() -> None:
    seen = LocalFirstSeen()
    seen.order("A", 2)
    seen.send("44", "hi", 3)
    again = LocalFirstSeen(FirstRows.restored(*seen.orders.table), FirstRows.restored(*seen.sends.table))
    assert [again.order("A", 9), again.send("44", "hi", 9), again.order("B", 10)] == [2, 3, 10]
