"""One-time EventBridge Scheduler schedules that queue a waiting job's continuation at its time.

Each is `at(...)` in UTC, flexible window off, deleted by the scheduler once it has fired (ActionAfterCompletion
DELETE); its target is the continuation queue with the continuation message as input, sent by a role that may do
nothing else (template.yaml, SchedulerRole). Its name is the job id and the time, so a duplicate event, or a retry
after a crash between the schedule and the job item, finds the schedule made already instead of making a second.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from smsdrop.config import ConfigError, Settings
from smsdrop.intake.uploads import Upload
from smsdrop.store.waiting import ScheduleRecord

DESCRIPTION_CHARS = 512  # the API's limit


def schedule_name(job_id: str, at: int) -> str:
    """The schedule of job `job_id` at `at` (epoch s): `<job id>-<UTC time>`, 49 characters (the API allows 64)."""
    return f"{job_id}-{datetime.fromtimestamp(at, UTC):%Y%m%dT%H%M%SZ}"


class ContinuationSchedules:
    """Makes and deletes schedules in `settings.schedule_group` that send a continuation to the queue; the client is
    made on first need (`make_client()`, once), so a cold start that schedules nothing does not pay for it."""

    def __init__(self, make_client: Callable[[], Any], settings: Settings) -> None:
        self._make_client = make_client
        self._made: Any = None
        self._group = settings.schedule_group
        self._queue_arn = settings.continuation_queue_arn
        self._role_arn = settings.scheduler_role_arn

    def create(self, upload: Upload, at: datetime, why: str) -> ScheduleRecord:
        """The schedule queueing `upload`'s continuation at `at` (to the second, rounded up: never early)."""
        missing = [name for name, value in self._needs().items() if not value]
        if missing:
            raise ConfigError(f"{', '.join(missing)} not set: a job cannot wait for its send-at or send window")
        when = math.ceil(at.timestamp())
        record = ScheduleRecord(schedule_name(upload.job_id, when), self._group, when, why)
        try:
            self._client().create_schedule(
                Name=record.name,
                GroupName=self._group,
                ScheduleExpression=f"at({datetime.fromtimestamp(when, UTC):%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Description=why[:DESCRIPTION_CHARS],
                Target={"Arn": self._queue_arn, "RoleArn": self._role_arn, "Input": json.dumps(upload.to_message())},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConflictException":
                raise
        return record

    def delete(self, schedule: ScheduleRecord) -> None:
        """Drop `schedule` (nothing if it fired and went, or was never made)."""
        try:
            self._client().delete_schedule(Name=schedule.name, GroupName=schedule.group)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise

    def _client(self) -> Any:
        if self._made is None:
            self._made = self._make_client()
        return self._made

    def _needs(self) -> dict[str, str]:
        return {
            "SCHEDULE_GROUP": self._group,
            "CONTINUATION_QUEUE_ARN": self._queue_arn,
            "SCHEDULER_ROLE_ARN": self._role_arn,
        }
