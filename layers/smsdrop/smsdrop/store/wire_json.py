"""DynamoDB's JSON wire format, byte for byte as botocore writes it, without botocore's per-call machinery.

botocore serialises a request as `json.dumps` of it (default separators, non-ASCII escaped) with every map in the
order it was given, so an item written here is the text botocore would send for it: S and N values (all our items
hold) take a fast path, any other value goes through the same JSON encoder. Binary values (B, BS) are refused:
botocore would base64 them, and no item of ours has one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from json import JSONEncoder
from json.encoder import encode_basestring_ascii as quoted
from typing import Any

_ENCODER = JSONEncoder(check_circular=False)  # json.dumps's output for acyclic data, without its cycle checks
_BINARY = frozenset({"B", "BS"})

Item = Mapping[str, Mapping[str, Any]]


def item_json(item: Item) -> str:
    """An item in DynamoDB JSON (`{"name": {"S": "text"}, ...}`) as the text botocore would send for it."""
    parts = []
    for name, value in item.items():
        if len(value) == 1:
            text = value.get("S")
            if type(text) is str:
                parts.append(f'{quoted(name)}: {{"S": {quoted(text)}}}')
                continue
            text = value.get("N")
            if type(text) is str:
                parts.append(f'{quoted(name)}: {{"N": {quoted(text)}}}')
                continue
        parts.append(f"{quoted(name)}: {_other(value)}")
    return "{" + ", ".join(parts) + "}"


def batch_write_body(table: str, items: Sequence[str]) -> bytes:
    """A BatchWriteItem request putting `items` (each from `item_json`) into `table`."""
    puts = ", ".join([f'{{"PutRequest": {{"Item": {item}}}}}' for item in items])
    return f'{{"RequestItems": {{{quoted(table)}: [{puts}]}}}}'.encode()


def unprocessed_body(unprocessed: Mapping[str, Any]) -> bytes:
    """A BatchWriteItem request sending again the `UnprocessedItems` DynamoDB answered, as they came back."""
    return _ENCODER.encode({"RequestItems": unprocessed}).encode()


def _other(value: Mapping[str, Any]) -> str:
    if _has_binary(value):
        raise TypeError("binary attribute values (B, BS) are not supported")
    return _ENCODER.encode(value)


def _has_binary(value: Mapping[str, Any]) -> bool:
    for kind, payload in value.items():
        if kind in _BINARY:
            return True
        if kind == "M" and any(_has_binary(member) for member in payload.values()):
            return True
        if kind == "L" and any(_has_binary(member) for member in payload):
            return True
    return False
