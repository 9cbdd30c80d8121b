"""The batches of one invocation in flight: at most `in_flight` at once, each marked on the job item before its
call goes out, and the job item told of each one recorded, in order, so the checkpoint never passes a batch
that is not recorded yet. A mark refused because the operator asked to cancel the job turns every batch from
there on into one recorded unsent; one refused for a pause ends the run at that batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import Enum
from typing import Any

from smsdrop.models import Batch, Position, Status
from smsdrop.send.batch_work import BatchWork
from smsdrop.send.ports import JobLease
from smsdrop.store.lease import Completions
from smsdrop.store.steering import Steered


class WindowEnd(Enum):
    """How a run of the window ended."""

    FINISHED = "finished"
    """Every batch was started and recorded."""
    OUT_OF_TIME = "out of time"
    """Time ran short: the rest is for a fresh invocation."""
    PAUSED = "paused"
    """The operator asked for a pause: nothing more was marked in flight."""


class Window:
    """Runs batches through `work`, `in_flight` at a time, for the job held by `lease`."""

    def __init__(self, lease: JobLease, work: BatchWork, in_flight: int, lease_until: Callable[[], float]) -> None:
        self._lease = lease
        self._work = work
        self._in_flight = in_flight
        self._lease_until = lease_until
        self._generation = lease.record.generation
        self._pending: dict[Future[Counter[Status]], Batch] = {}
        self._started: dict[int, Batch] = {}
        self._recorded: set[int] = set()
        self._next_seq = 0
        self._untold = Completions()
        self.checkpoint: Position | None = lease.record.checkpoint
        self.counts: Counter[Status] = Counter()
        self.batches = 0
        self.pause_request: Mapping[str, Any] | None = None
        """The operator's pause request (`by`, `at`) that ended the run, if one did."""

    def run(self, work: Iterator[Batch], between: Callable[[], None], out_of_time: Callable[[], bool]) -> WindowEnd:
        """Start every batch of `work` (`between` runs before each and after the last) and wait for them all; how
        the run ended (early: time running short, or a pause asked for)."""
        with ThreadPoolExecutor(max_workers=self._in_flight, thread_name_prefix="send") as pool:
            try:
                finished = self._dispatch(work, pool, between, out_of_time)
            finally:
                self._harvest(ALL_COMPLETED)
        self._tell_done()
        return finished

    def _dispatch(
        self,
        work: Iterator[Batch],
        pool: ThreadPoolExecutor,
        between: Callable[[], None],
        out_of_time: Callable[[], bool],
    ) -> WindowEnd:
        for batch in work:
            between()
            if out_of_time():
                return WindowEnd.OUT_OF_TIME
            while len(self._pending) >= self._in_flight:
                self._harvest(FIRST_COMPLETED)
            try:
                self._start(pool, batch)
            except Steered as steered:  # a pause: this batch and the rest are read again when the job is resumed
                self.pause_request = steered.pause
                return WindowEnd.PAUSED
        between()
        return WindowEnd.FINISHED

    def _start(self, pool: ThreadPoolExecutor, batch: Batch) -> None:
        key = f"{self._generation}.{batch.seq}"
        if self._work.will_send(batch):
            rows = tuple(r.row for r in batch.recipients)
            try:
                self._lease.mark_in_flight(key, rows, self._lease_until(), self._untold)
            except Steered as steered:
                if steered.cancel is None:
                    raise
                self._work.cancel(steered.cancel)  # this batch, and every one after it, is recorded unsent
            else:
                self._started[batch.seq] = batch
                self._untold = Completions()
                self._pending[pool.submit(self._work.send, batch, key)] = batch
                return
        self._started[batch.seq] = batch
        self._tell_done()
        self._pending[pool.submit(self._work.record_unsent, batch, key)] = batch

    def _tell_done(self) -> None:
        """Tell the job item of the batches recorded since it last heard, when no mark is going out to carry them."""
        if self._untold:
            self._lease.complete(self._untold, self._lease_until())
            self._untold = Completions()

    def _harvest(self, mode: str) -> None:
        """Wait for batches in flight (the first, or all); note their completion in order, for the job item."""
        if not self._pending:
            return
        finished, _ = wait(self._pending, return_when=mode)
        for future in sorted(finished, key=lambda f: self._pending[f].seq):
            batch = self._pending.pop(future)
            counts = future.result()
            self.counts.update(counts)
            self._untold.add(f"{self._generation}.{batch.seq}", counts, self._settle(batch))

    def _settle(self, batch: Batch) -> Position | None:
        """Note `batch` as recorded; the new checkpoint if every earlier batch is recorded too."""
        self._recorded.add(batch.seq)
        self.batches += 1
        moved = None
        while self._next_seq in self._recorded:
            self._recorded.discard(self._next_seq)
            moved = self._started.pop(self._next_seq).resume_at
            self._next_seq += 1
        if moved is not None:
            self.checkpoint = moved
        return moved
