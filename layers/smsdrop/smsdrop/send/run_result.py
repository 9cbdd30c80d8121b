"""What one invocation did for a job: how its part ended, and the figures it can tell."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from smsdrop.output.results_file import ReportKeys
from smsdrop.store.jobs import JobState


class RunEnd(StrEnum):
    """How one invocation's part of a job ended."""

    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    PAUSED = "PAUSED"
    SCHEDULED = "SCHEDULED"
    CONTINUED = "CONTINUED"
    BUSY = "BUSY"
    ALREADY_FINISHED = "ALREADY_FINISHED"
    LEASE_LOST = "LEASE_LOST"


END_OF_CLOSED_JOB = {
    JobState.COMPLETED: RunEnd.COMPLETED,
    JobState.STOPPED: RunEnd.STOPPED,
    JobState.FAILED: RunEnd.FAILED,
    JobState.CANCELLED: RunEnd.CANCELLED,
}
"""How the invocation that closes a job in a final state ends."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one invocation did for a job."""

    job_id: str
    end: RunEnd
    counts: dict[str, int] = field(default_factory=dict)
    stop_reason: str = ""
    error: str = ""
    batches: int = 0
    reports: ReportKeys | None = None
