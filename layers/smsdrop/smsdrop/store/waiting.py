"""A job that waits for its send-at or its send window: the SCHEDULED state, and the one-time schedule that will queue
its continuation, as the job item holds it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

SCHEDULED = "SCHEDULED"
"""The job state of a waiting job (JobState.SCHEDULED), also the sweep index's partition it waits in, its lease expiry
the time it waits for."""
CLAIM_EARLY_S = 60
"""A SCHEDULED job may be claimed this long before its time: a schedule never fires early, but the clocks of two
services may differ, and a job left waiting for a minute by a few seconds' difference would wait for the sweep."""
SCHEDULE = "schedule"
"""The job item's schedule while it waits (ScheduleRecord); removed when a holder claims the job."""


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """The EventBridge Scheduler schedule `name` in `group`, which queues the job's continuation at `at` (epoch s),
    and `why` the job waits."""

    name: str
    group: str
    at: int
    why: str

    def item(self) -> dict[str, Any]:
        """As the job item keeps it."""
        return asdict(self)

    @classmethod
    def of(cls, value: Mapping[str, Any] | None) -> ScheduleRecord | None:
        """The schedule a job item's attribute names, if it has one."""
        if not value:
            return None
        return cls(str(value["name"]), str(value["group"]), int(value["at"]), str(value.get("why", "")))
