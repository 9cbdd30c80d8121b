from smsdrop.intake.first_seen import ORDER, SEND, LocalFirstSeen, MergedLosers


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
