"""EventBridge Scheduler's part on the local stack, and the clock it runs on.

moto keeps schedules but never fires them: `SchedulerClock.fire(now)` does what the scheduler does at `now` for each
one-time schedule then due in the group: sends its input to its target queue, then deletes it (ActionAfterCompletion
DELETE). `LocalClock` is the time the runner reads: real time from a start (`--now`, else now), moved on by hand (a
schedule's time, a simulated call's minutes), never back.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from local.aws import LocalAws

AT = re.compile(r"at\((?P<at>[^)]+)\)")


class LocalClock:
    """Epoch seconds: `start` plus the real time since, plus every move forward (thread-safe: calls move it)."""

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._origin = time.monotonic()
        self._start = time.time() if start is None else start

    def __call__(self) -> float:
        with self._lock:
            return self._start + time.monotonic() - self._origin

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        with self._lock:
            self._start += seconds

    def to(self, at: float) -> None:
        """Move the clock on to `at`, if it is not there yet."""
        self.advance(max(0.0, at - self()))


@dataclass(frozen=True, slots=True)
class Due:
    """A one-time schedule: its name, when it fires (epoch s), its target queue's ARN and the message it sends."""

    name: str
    at: float
    target: str
    message: str


class SchedulerClock:
    """Fires the one-time schedules of `group` on the local stack, as EventBridge Scheduler would."""

    def __init__(self, aws: LocalAws, group: str) -> None:
        self._scheduler = aws.client("scheduler")
        self._sqs = aws.client("sqs")
        self._group = group

    def pending(self) -> list[Due]:
        """Every one-time schedule of the group, soonest first."""
        pages = self._scheduler.get_paginator("list_schedules").paginate(GroupName=self._group)
        names = [s["Name"] for page in pages for s in page["Schedules"]]
        return sorted((self._due(name) for name in names), key=lambda due: due.at)

    def next_at(self) -> float | None:
        """When the next schedule fires, if there is one."""
        pending = self.pending()
        return pending[0].at if pending else None

    def fire(self, now: float) -> list[str]:
        """Send the message of every schedule due at `now` to its queue and delete the schedule; their names."""
        fired = []
        for due in self.pending():
            if due.at > now:
                break
            queue_url = self._sqs.get_queue_url(QueueName=due.target.rsplit(":", 1)[-1])["QueueUrl"]
            self._sqs.send_message(QueueUrl=queue_url, MessageBody=due.message)
            self._scheduler.delete_schedule(Name=due.name, GroupName=self._group)
            fired.append(due.name)
        return fired

    def _due(self, name: str) -> Due:
        schedule = self._scheduler.get_schedule(Name=name, GroupName=self._group)
        match = AT.fullmatch(schedule["ScheduleExpression"])
        if match is None:
            raise ValueError(f"schedule {name} is not one-time: {schedule['ScheduleExpression']}")
        zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
        at = datetime.fromisoformat(match["at"]).replace(tzinfo=zone).timestamp()
        target = schedule["Target"]
        return Due(name, at, target["Arn"], target.get("Input", ""))
