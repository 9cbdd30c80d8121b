"""An operator's cancel of a scaled-out job reaches its chunks: before each chunk's invocation, a cancel asked on the
job's item is asked on the chunk's own item too (the item made first, its lease handed back, if the chunk has not
started), so the chunk's runner sends nothing more and records every unsent row of the chunk CANCELLED."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from smsdrop.config import Settings
from smsdrop.scale.chunks import ChunkUpload
from smsdrop.store.controls import JobControls, Refused
from smsdrop.store.jobs import Busy, JobStore


class ChunkCancels:
    """Passes a job's cancel on to its chunks' items."""

    def __init__(self, dynamodb: Any, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._store = JobStore(dynamodb, settings.results_table)
        self._controls = JobControls(dynamodb, settings.results_table, clock)
        self._settings, self._clock = settings, clock

    def follow(self, chunk: ChunkUpload) -> None:
        """Ask the chunk to cancel if the job was asked to; nothing if it was not, or the chunk has ended."""
        request = self._store.get(chunk.parent).cancel_requested
        if not request:
            return
        if self._store.item(chunk.job_id) is None:
            self._start(chunk)
        with suppress(Refused):  # asked already, or the chunk has ended
            self._controls.cancel(chunk.job_id, str(request.get("by", "")))

    def _start(self, chunk: ChunkUpload) -> None:
        """Make the chunk's item as its runner would, and hand its lease straight back."""
        now, s = self._clock(), self._settings
        ttl = int(now) + s.ttl_days * 86_400
        claim = self._store.claim(chunk, f"cancel:{chunk.job_id}", now, s.lease_seconds, ttl, s.row_shards)
        if not isinstance(claim, Busy):
            claim.release(now, None)
