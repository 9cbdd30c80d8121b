"""The first row seen under each key, for a million rows without a million objects: duplicates, repeated orderIds."""

from __future__ import annotations

from array import array
from itertools import compress


class FirstRows:
    """The first row seen under each 64-bit key: keys and rows in two flat arrays, open addressing.

    12 bytes a slot and at most half the slots used, so 24 to 48 bytes a key and no object per key.
    """

    def __init__(self, capacity: int = 1 << 10) -> None:
        self._allocate(capacity)

    def first(self, key: int, row: int) -> int:
        """The first row recorded under `key`; `row` itself, now recorded, if the key is new."""
        key = key or 1
        keys, mask = self._keys, self._mask
        slot = key & mask
        while (found := keys[slot]) and found != key:
            slot = (slot + 1) & mask
        if found:
            return self._rows[slot]
        keys[slot], self._rows[slot] = key, row
        self._room -= 1
        if not self._room:
            self._grow()
        return row

    @property
    def table(self) -> tuple[array[int], array[int]]:
        """The slots as they are (keys, rows; key 0 marks an empty slot): what a snapshot keeps, copied by C."""
        return self._keys, self._rows

    @classmethod
    def restored(cls, keys: array[int], rows: array[int]) -> FirstRows:
        """The index whose `table` was (keys, rows): taken over as they are, no key inserted again."""
        if len(keys) != len(rows) or len(keys) < 2 or len(keys) & (len(keys) - 1):
            raise ValueError(f"not the table of an index: {len(keys)} keys, {len(rows)} rows")
        index = cls.__new__(cls)
        index._keys, index._rows, index._mask = keys, rows, len(keys) - 1
        index._room = len(keys) // 2 - (len(keys) - keys.count(0))
        if index._room <= 0:
            raise ValueError("not the table of an index: more than half its slots are used")
        return index

    def _allocate(self, capacity: int) -> None:
        self._keys = array("q", [0]) * capacity
        self._rows = array("I", [0]) * capacity
        self._mask = capacity - 1
        self._room = capacity // 2

    def _grow(self) -> None:
        old_keys, old_rows = self._keys, self._rows
        self._allocate(2 * len(old_keys))
        keys, rows, mask = self._keys, self._rows, self._mask
        for key, row in compress(zip(old_keys, old_rows, strict=True), old_keys):
            slot = key & mask
            while keys[slot]:
                slot = (slot + 1) & mask
            keys[slot], rows[slot] = key, row
        self._room -= len(old_keys) // 2
