"""Patches moto's DynamoDB `Table.query` in the benches' moto server process (`python -m bench.servers moto`).

moto 5.2 sorts the whole table for every Query page, so paging through a 1M-item partition takes hours. For a forward
query on the table's own string keys, with at most `begins_with` on the range key and no filter, `install()` answers
from a cached sorted list of the partition's range keys (bisect, then walk the page: O(page + log n)), with results
identical to moto's; every other query goes to moto's own method. `put_item`/`delete_item` are wrapped to version the
cache.
"""

from __future__ import annotations

import copy
import functools
import inspect
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.comparisons import OpDefault
from moto.dynamodb.models import table as _table_module
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_ORIGINALS: dict[str, Any] = {}
_STATE_ATTR = "_bench_fast_moto"
_installs = 0  # counted into every version: writes made while uninstalled were not counted


@dataclass(slots=True)
class _Sorted:
    """One partition's range keys in moto's order, and what they were built from."""

    part: dict[DynamoType, Item]  # the partition dict itself: a table whose `items` were replaced will not match
    version: tuple[int, int, int]
    length: int
    values: list[str]  # the range-key strings, ascending
    keys: list[DynamoType]  # the partition dict's keys, in the same order


@dataclass(slots=True)
class _State:
    """Per table: a version per partition (bumped by every put and delete), an epoch for writes whose partition is
    unknown, and the sorted keys. A deep copy (moto's transaction rollback copies tables) starts afresh."""

    epoch: int = 0
    versions: dict[DynamoType, int] = field(default_factory=dict)
    sorted: dict[DynamoType, _Sorted] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, Any]) -> _State:
        return _State()

    def __copy__(self) -> _State:
        return _State()

    def version(self, hash_key: DynamoType) -> tuple[int, int, int]:
        return _installs, self.epoch, self.versions.get(hash_key, 0)

    def bump(self, hash_value: Any) -> None:
        try:
            key = hash_value if isinstance(hash_value, DynamoType) else DynamoType(hash_value)
            self.versions[key] = self.versions.get(key, 0) + 1
        except Exception:  # a write whose partition cannot be told (moto rejects it anyway): every partition is stale
            self.epoch += 1


def _state(table: Table) -> _State:
    state = table.__dict__.get(_STATE_ATTR)
    if state is None:
        state = _State()
        setattr(table, _STATE_ATTR, state)
    return state


def _sorted_partition(table: Table, hash_key: DynamoType) -> _Sorted | None:
    """The partition's range keys, sorted as moto sorts them (str order); None if a key is not a string."""
    part = table.items.get(hash_key)  # .get: `items` is a defaultdict, and a query must not add a partition
    if part is None:
        return _Sorted({}, (0, 0, 0), 0, [], [])
    state = _state(table)
    version = state.version(hash_key)  # read before the keys, so a concurrent write makes this entry stale
    entry = state.sorted.get(hash_key)
    if entry is not None and entry.part is part and entry.version == version and entry.length == len(part):
        return entry
    keys = list(part)
    if not all(type(k) is DynamoType and k.type == "S" and type(k.value) is str for k in keys):
        return None
    keys.sort(key=lambda k: k.value)
    entry = _Sorted(part, version, len(keys), [k.value for k in keys], keys)
    state.sorted[hash_key] = entry
    return entry


def _string_key(value: Any) -> str | None:
    """The string of `{"S": "..."}`, else None."""
    if isinstance(value, dict) and len(value) == 1 and type(value.get("S")) is str:
        return value["S"]
    return None


def _fast_query(table: Table, a: dict[str, Any]) -> tuple[list[Item], int, dict[str, Any] | None] | None:
    """moto's query for the one shape; None means "not that shape": ask moto."""
    hash_key, range_comparison, range_objs = a["hash_key"], a["range_comparison"], a["range_objs"]
    limit, start_key = a["limit"], a["exclusive_start_key"]
    range_key_conditions = a["range_key_conditions"]
    if (
        a["index_name"]
        or a["scan_index_forward"] is not True
        or a["filter_kwargs"]
        or not (a["filter_expression"] is None or type(a["filter_expression"]) is OpDefault)
        or table.range_key_attr is None
        or table.hash_key_type != "S"
        or table.range_key_type != "S"
        or type(hash_key) is not DynamoType
        or hash_key.type != "S"
        or not (limit is None or (type(limit) is int and limit >= 1))
    ):
        return None
    prefix: str | None = None
    if range_comparison is None:
        if range_key_conditions:
            return None
    elif range_comparison == "BEGINS_WITH":
        if range_key_conditions and (
            len(range_key_conditions) != 1
            or range_key_conditions[0][0] != table.range_key_attr
            or range_key_conditions[0][1] != range_comparison
        ):
            return None
        if len(range_objs) != 1 or type(range_objs[0]) is not DynamoType or range_objs[0].type != "S":
            return None
        prefix = range_objs[0].value
        if type(prefix) is not str:
            return None
    else:
        return None
    start_after: str | None = None
    if start_key is not None:
        # moto skips items "before or at" the key, comparing the hash key first: only an in-partition key is simple
        if not isinstance(start_key, dict) or _string_key(start_key.get(table.hash_key_attr)) != hash_key.value:
            return None
        start_after = _string_key(start_key.get(table.range_key_attr))
        if start_after is None:
            return None

    entry = _sorted_partition(table, hash_key)
    if entry is None:
        return None
    part, values, keys = entry.part, entry.values, entry.keys
    start = 0 if start_after is None else bisect_right(values, start_after)
    if prefix is not None:
        # Items before the prefix are only walked past by moto: with no result yet, neither limit can be reached
        start = max(start, bisect_left(values, prefix))

    size_limit = _table_module.RESULT_SIZE_LIMIT
    results: list[Item] = []
    result_size = 0
    scanned_count = 0
    last_evaluated_key = None
    for i in range(start, len(values)):
        item = part.get(keys[i])
        if item is None:  # the partition changed under us: let moto answer
            return None
        # moto checks both limits on every item it walks, matching or not (past the prefix too)
        size = item.size()
        if len(results) == limit or (result_size + size) > size_limit:
            last_evaluated_key = table._get_last_evaluated_key(results[-1], a["index_name"])
            break
        if prefix is None or values[i].startswith(prefix):
            results.append(item)
            result_size += size
            scanned_count += 1

    results = copy.deepcopy(results)
    if a["filter_expression"] is not None:
        results = [item for item in results if a["filter_expression"].expr(item)]
    if a["projection_expressions"]:
        results = [r.project(a["projection_expressions"]) for r in results]
    return results, scanned_count, last_evaluated_key


def install() -> None:
    """Patch moto's Table (query, and put_item/delete_item to version the partitions). Idempotent."""
    global _installs
    if _ORIGINALS:
        return
    _installs += 1
    query, put_item, delete_item = Table.query, Table.put_item, Table.delete_item
    signature = inspect.signature(query)

    @functools.wraps(query)
    def fast_query(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        answer = _fast_query(self, bound.arguments)
        return query(self, *args, **kwargs) if answer is None else answer

    @functools.wraps(put_item)
    def versioned_put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        try:
            return put_item(self, *args, **kwargs)
        finally:
            attrs = args[0] if args else kwargs.get("item_attrs")
            _state(self).bump(attrs.get(self.hash_key_attr) if isinstance(attrs, dict) else None)

    @functools.wraps(delete_item)
    def versioned_delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        try:
            return delete_item(self, *args, **kwargs)
        finally:
            _state(self).bump(args[0] if args else kwargs.get("hash_key"))

    _ORIGINALS.update(query=query, put_item=put_item, delete_item=delete_item)
    Table.query = fast_query  # type: ignore[method-assign]
    Table.put_item = versioned_put_item  # type: ignore[method-assign]
    Table.delete_item = versioned_delete_item  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto's own methods back (for tests)."""
    for name, method in _ORIGINALS.items():
        setattr(Table, name, method)
    _ORIGINALS.clear()
