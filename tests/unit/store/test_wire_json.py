"""The wire writer's JSON is botocore's, byte for byte: whatever the items, the request body is botocore's."""

from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.awsrequest import AWSResponse
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdrop.store.wire_json import batch_write_body, item_json, unprocessed_body

TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # every code point, lone surrogates included
NUMBER = st.integers(-(10**30), 10**30) | st.decimals(-(10**6), 10**6, places=3).map(Decimal.normalize)
SCALAR = TEXT | NUMBER | st.booleans() | st.none()
VALUE = st.recursive(
    SCALAR | st.sets(TEXT, min_size=1, max_size=3) | st.sets(st.integers(-999, 999), min_size=1, max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
ITEM = st.dictionaries(st.text(min_size=1, max_size=10), VALUE, min_size=1, max_size=8)
TABLE = st.from_regex(r"[A-Za-z0-9_.-]{3,40}", fullmatch=True)


class _Raw:
    def stream(self, **_):
        yield b"{}"


class BotocoreBodies:
    """A DynamoDB client that sends nothing: a `before-send` hook keeps each request's body and answers `{}`."""

    def __init__(self):
        self.client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
        self.bodies = []
        self.client.meta.events.register("before-send.dynamodb.BatchWriteItem", self._keep)

    def _keep(self, request, **_):
        self.bodies.append(request.body)
        return AWSResponse(request.url, 200, {}, _Raw())

    def batch_write_body(self, table, items):
        self.client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]})
        return self.bodies.pop()


BOTOCORE = BotocoreBodies()
SERIALIZE = TypeSerializer().serialize


def wire(item):
    """A Python item as DynamoDB JSON (boto3's TypeSerializer)."""
    return {name: SERIALIZE(value) for name, value in item.items()}


@settings(max_examples=150, deadline=None)
@given(st.lists(ITEM, min_size=1, max_size=25), TABLE)
def test_a_batch_of_any_items_is_the_body_botocore_sends_byte_for_byte(items, table):
    items = [wire(item) for item in items]
    assert batch_write_body(table, [item_json(item) for item in items]) == BOTOCORE.batch_write_body(table, items)


@settings(max_examples=100, deadline=None)
@given(TEXT, TEXT, st.integers(0, 10**10))
def test_a_row_item_of_texts_and_numbers_is_the_text_botocore_sends(number, reason, row):
    item = wire({"job_id": "3f0c#7", "rec": f"N#{row:010d}", "row": row, "number": number, "reason": reason})
    body = BOTOCORE.batch_write_body("SendResults", [item])
    assert body == b'{"RequestItems": {"SendResults": [{"PutRequest": {"Item": ' + item_json(item).encode() + b"}}]}}"


def test_unprocessed_items_are_sent_again_as_botocore_would_send_them():
    unprocessed = {"SendResults": [{"PutRequest": {"Item": wire({"job_id": "j", "rec": "N#1", "s": 'é"\\'})}}]}
    expected = BOTOCORE.batch_write_body("SendResults", [unprocessed["SendResults"][0]["PutRequest"]["Item"]])
    assert unprocessed_body(unprocessed) == expected


@pytest.mark.parametrize(
    "value",
    [{"B": b"\x00"}, {"BS": [b"a"]}, {"M": {"x": {"B": "YQ=="}}}, {"L": [{"N": "1"}, {"BS": [b"a"]}]}],
    ids=["binary", "binary set", "binary in a map", "binary set in a list"],
)
def test_binary_values_are_refused_rather_than_sent_unlike_botocore(value):
    with pytest.raises(TypeError, match="binary"):
        item_json({"a": value})


def test_a_map_member_named_like_a_binary_type_is_not_binary():
    item = {"m": {"M": {"B": {"S": "not binary"}}}}
    assert item_json(item) == '{"m": {"M": {"B": {"S": "not binary"}}}}'
