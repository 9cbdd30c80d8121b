"""A chunk waits inside the state machine, not on a schedule: its runner's wait for the send-at or the send window
is a Wait state's, and so are its waits for another invocation's lease and for an operator's resume.

`StepSchedules` stands in for EventBridge Scheduler (the runner's Schedules port): the chunk's item records the time
it waits for and nothing is made. The Send step then answers how long the Wait state waits before the chunk's Task
runs again (`wait_seconds`): never longer than CHUNK_POLL_SECONDS, so a waiting or paused chunk looks for the
operator's cancel or resume that often.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from smsdrop.intake.uploads import Upload
from smsdrop.send.schedules import schedule_name
from smsdrop.store.jobs import JobState, record_of
from smsdrop.store.schema import LEASE_EXPIRES
from smsdrop.store.waiting import ScheduleRecord


class StepSchedules:
    """The runner's schedules for a chunk: the time to wait for, kept on the chunk's item; the Wait state waits."""

    def create(self, upload: Upload, at: datetime, why: str) -> ScheduleRecord:
        """The record of a wait until `at` (to the second, rounded up: never early); nothing is made."""
        when = math.ceil(at.timestamp())
        return ScheduleRecord(schedule_name(upload.job_id, when), "", when, why)

    def delete(self, schedule: ScheduleRecord) -> None:
        """Nothing: no schedule was made."""


def wait_seconds(item: Mapping[str, Any] | None, now: float, poll_s: int) -> int:
    """How long to wait before the chunk of `item` is tried again (at least 1 s, at most `poll_s`): a paused chunk
    `poll_s`; a chunk waiting for its time, or held by another invocation, until then."""
    if item is None:
        return 1
    if record_of(item).state is JobState.PAUSED:
        return max(1, poll_s)
    until = int(item.get(LEASE_EXPIRES, 0))
    return max(1, min(poll_s, until + 1 - math.floor(now)))


def hop_limited(
    remaining_ms: Callable[[], int], clock: Callable[[], float], hop_s: int, margin_ms: int
) -> Callable[[], int]:
    """`remaining_ms`, but running out (down to the runner's hand-over margin) `hop_s` seconds from now by `clock`;
    `remaining_ms` itself if `hop_s` is 0."""
    if not hop_s:
        return remaining_ms
    ends = clock() + hop_s

    def remaining() -> int:
        return min(remaining_ms(), margin_ms + int((ends - clock()) * 1000))

    return remaining
