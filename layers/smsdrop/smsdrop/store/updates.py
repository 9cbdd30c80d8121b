"""Changes to the job item, put together clause by clause: every update of the job item is built here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smsdrop.models import Position
from smsdrop.store import row_sets

RECORDED = "recorded"
"""The job item's packed rows recorded past its checkpoint (smsdrop.store.row_sets)."""

if TYPE_CHECKING:
    from smsdrop.store.lease import Completions


@dataclass(slots=True)
class Update:
    """An UpdateExpression being put together (SET, REMOVE and ADD clauses), its condition, values and names.

    Each clause brings the values and names it uses, so nothing unused is ever sent (DynamoDB refuses that).
    """

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def set(
        self, clause: str, values: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None
    ) -> Update:
        """SET `clause` (e.g. "lease_expires = :exp"), with the values and names its placeholders stand for."""
        self.sets.append(clause)
        return self._using(values, names)

    def remove(self, *paths: str, names: Mapping[str, str] | None = None) -> Update:
        """REMOVE each of `paths`."""
        self.removes.extend(paths)
        return self._using(None, names)

    def add(
        self, clause: str, values: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None
    ) -> Update:
        """ADD `clause` (e.g. "counts.#c0 :c0")."""
        self.adds.append(clause)
        return self._using(values, names)

    def when(
        self, condition: str, values: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None
    ) -> Update:
        """Apply only if `condition` holds (several conditions must all hold)."""
        self.conditions.append(condition)
        return self._using(values, names)

    def set_checkpoint(self, checkpoint: Position | None) -> Update:
        """Save `checkpoint`, if there is one (the one place that says how a checkpoint is stored)."""
        if checkpoint is None:
            return self
        return self.set("checkpoint = :cp", {":cp": {"offset": checkpoint.offset, "row": checkpoint.row}})

    def add_completions(self, done: Completions) -> Update:
        """Drop the in-flight marks of `done`'s batches, add their counts, move the checkpoint, and say which rows
        past it are recorded."""
        for i, batch in enumerate(done.batches):
            self.remove(f"in_flight.#d{i}", names={f"#d{i}": batch})
        for i, (status, n) in enumerate(done.counts.items()):
            self.add(f"counts.#c{i} :c{i}", {f":c{i}": n}, {f"#c{i}": str(status)})
        if done.recorded:
            self.set(f"{RECORDED} = :recorded", {":recorded": row_sets.pack(done.recorded)})
        elif done.recorded is not None:
            self.remove(RECORDED)
        return self.set_checkpoint(done.checkpoint)

    @property
    def expression(self) -> str:
        """The UpdateExpression."""
        clauses = [("SET", self.sets), ("REMOVE", self.removes), ("ADD", self.adds)]
        return " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses if parts)

    @property
    def condition(self) -> str:
        """The ConditionExpression ("" for none)."""
        return " AND ".join(f"({c})" if len(self.conditions) > 1 else c for c in self.conditions)

    def _using(self, values: Mapping[str, Any] | None, names: Mapping[str, str] | None) -> Update:
        self.values.update(values or {})
        self.names.update(names or {})
        return self
