"""An operator's cancel, pause and resume of a scaled-out job reach its chunks: the operator acts on the job's item,
as for any job, and before each chunk's invocation the Send step passes the job's state of asking on to the chunk's
own item (made first, its lease handed straight back, if the chunk has not started). The chunk's runner then does as
for a job of its own: a cancel sends nothing more and records the chunk's unsent rows CANCELLED; a pause sleeps
PAUSED at a batch boundary; a pause withdrawn (`smsdrop resume <job>`) wakes the chunk at its next look."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from smsdrop.config import Settings
from smsdrop.scale.chunks import ChunkUpload
from smsdrop.store.controls import JobControls, Refused
from smsdrop.store.jobs import Busy, JobState, JobStore, record_of


class ChunkSteering:
    """Passes a job's cancel, pause and resume on to its chunks' items."""

    def __init__(self, dynamodb: Any, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._store = JobStore(dynamodb, settings.results_table)
        self._controls = JobControls(dynamodb, settings.results_table, clock)
        self._settings, self._clock = settings, clock

    def follow(self, chunk: ChunkUpload) -> None:
        """Ask of the chunk what was asked of the job: cancel, else pause, else (a pause withdrawn) resume."""
        job = self._store.get(chunk.parent)
        if job.cancel_requested:
            self._ask(chunk, lambda: self._controls.cancel(chunk.job_id, _by(job.cancel_requested)))
        elif job.pause_requested:
            self._ask(chunk, lambda: self._controls.pause(chunk.job_id, _by(job.pause_requested)))
        elif self._is_paused(chunk):  # its item exists: nothing to make first
            with suppress(Refused):
                self._controls.resume(chunk.job_id, f"resume of job {chunk.parent}")

    def _ask(self, chunk: ChunkUpload, action: Callable[[], object]) -> None:
        """Take `action` on the chunk's item, made first if the chunk has not started; nothing if it does not apply
        (asked already, or the chunk has ended)."""
        if self._store.item(chunk.job_id) is None:
            self._start(chunk)
        with suppress(Refused):
            action()

    def _is_paused(self, chunk: ChunkUpload) -> bool:
        item = self._store.item(chunk.job_id)
        if item is None:
            return False
        record = record_of(item)
        return record.state is JobState.PAUSED or bool(record.pause_requested)

    def _start(self, chunk: ChunkUpload) -> None:
        """Make the chunk's item as its runner would, and hand its lease straight back."""
        now, s = self._clock(), self._settings
        ttl = int(now) + s.ttl_days * 86_400
        claim = self._store.claim(chunk, f"steer:{chunk.job_id}", now, s.lease_seconds, ttl, s.row_shards)
        if not isinstance(claim, Busy):
            claim.release(now, None)


def _by(request: Mapping[str, Any] | None) -> str:
    return str((request or {}).get("by", ""))
