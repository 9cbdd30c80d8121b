"""The opt-out list's reads and writes on an in-memory stand-in for DynamoDB's batch calls: keys a number each, 100
keys a read, 25 writes a request with no key twice, unprocessed keys and writes asked again."""

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdrop.store.optouts import GET_LIMIT, WRITE_LIMIT, OptOutList, OptOutsNotDone
from smsdrop.store.schema import PARTITION, RecordKind, opt_out_key, opted_out_number

TABLE = "SendResults"


class BatchDynamoDB:
    """BatchGetItem and BatchWriteItem over a dict of items by key; the first `unprocessed` calls of each kind
    leave the last key or write of their request unprocessed."""

    def __init__(self, unprocessed: int = 0) -> None:
        self.items: dict[tuple[str, str], dict] = {}
        self.gets: list[dict] = []
        self.writes: list[list] = []
        self._unprocessed = {"get": unprocessed, "write": unprocessed}
        self._lock = threading.Lock()

    def batch_get_item(self, RequestItems):  # noqa: N803 - boto3's name
        request = RequestItems[TABLE]
        with self._lock:
            self.gets.append(request)
            keys, left = self._split("get", request["Keys"])
        assert len(keys) + len(left) <= GET_LIMIT
        assert request["ConsistentRead"]
        found = [{PARTITION: k[PARTITION]} for k in keys if _key(k) in self.items]
        unprocessed = {TABLE: {**request, "Keys": left}} if left else {}
        return {"Responses": {TABLE: found}, "UnprocessedKeys": unprocessed}

    def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's name
        requests = RequestItems[TABLE]
        keys = [_key(r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"]) for r in requests]
        assert len(requests) <= WRITE_LIMIT
        assert len(set(keys)) == len(keys), "DynamoDB refuses a key twice"
        with self._lock:
            self.writes.append(requests)
            done, left = self._split("write", requests)
            for request in done:
                if "PutRequest" in request:
                    self.items[_key(request["PutRequest"]["Item"])] = request["PutRequest"]["Item"]
                else:
                    self.items.pop(_key(request["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": {TABLE: left} if left else {}}

    def _split(self, kind, values):
        if self._unprocessed[kind] > 0:
            self._unprocessed[kind] -= 1
            return values[:-1], values[-1:]
        return values, []


def _key(item):
    return item[PARTITION]["S"], item["rec"]["S"]


def optouts(db):
    return OptOutList(db, TABLE, sleep=lambda s: None)


def test_each_number_is_a_partition_key_of_its_own_and_its_item_never_expires():
    db = BatchDynamoDB()
    optouts(db).add(["919876543210", "447700900123"], "optouts/stop.csv", 1_800_000_000)
    assert set(db.items) == {("optout#919876543210", "OPTOUT"), ("optout#447700900123", "OPTOUT")}
    item = db.items[("optout#919876543210", "OPTOUT")]
    assert item["source"] == {"S": "optouts/stop.csv"}
    assert "expires_at" not in item
    assert RecordKind.of("OPTOUT") is RecordKind.OPT_OUT
    assert opted_out_number(opt_out_key("919876543210")) == "919876543210"


@pytest.mark.parametrize("count", [1, 100, 101, 1000], ids=["one", "one-request", "two-requests", "a-whole-batch"])
def test_a_check_asks_100_keys_a_request_and_finds_exactly_the_numbers_listed(count):
    db = BatchDynamoDB()
    numbers = [f"9198{n:08d}" for n in range(count)]
    optouts(db).add(numbers[::3], "cli", 0)
    assert optouts(db).opted_out(numbers + numbers[:5]) == set(numbers[::3])
    assert len(db.gets) == -(-count // GET_LIMIT)


def test_unprocessed_keys_and_writes_are_asked_again_until_none_is_left():
    db = BatchDynamoDB(unprocessed=3)
    numbers = [f"9198{n:08d}" for n in range(60)]
    assert optouts(db).add(numbers, "cli", 0) == 60
    assert len(db.items) == 60
    assert optouts(db).opted_out(numbers) == set(numbers)
    assert len(db.writes) == 3 + 3
    assert len(db.gets) == 1 + 3


def test_a_read_still_unprocessed_after_every_try_fails_loudly_rather_than_let_a_number_through():
    db = BatchDynamoDB(unprocessed=100)
    with pytest.raises(OptOutsNotDone, match="UnprocessedKeys"):
        OptOutList(db, TABLE, attempts=3, sleep=lambda s: None).opted_out(["919876543210", "447700900123"])


def test_a_bulk_add_never_names_a_number_twice_in_one_request():
    db = BatchDynamoDB()
    assert optouts(db).add(["919876543210"] * 30 + ["447700900123"], "optouts/x.csv", 0) == 2
    assert len(db.items) == 2


@given(
    adds=st.lists(st.integers(0, 40), max_size=60),
    removes=st.lists(st.integers(0, 40), max_size=30),
    asked=st.lists(st.integers(0, 40), max_size=60),
)
def test_the_list_is_what_was_added_less_what_was_removed(adds, removes, asked):
    db = BatchDynamoDB()
    number = "9198765{:05d}".format
    optouts(db).add(map(number, adds), "cli", 0)
    optouts(db).remove(map(number, removes))
    assert optouts(db).opted_out(map(number, asked)) == {number(n) for n in set(asked) & (set(adds) - set(removes))}
