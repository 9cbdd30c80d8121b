"""The batches of one invocation in flight: at most `in_flight` at once, each marked on the job item before its
call goes out, and the job item told of each one recorded, in order, so the checkpoint never passes a batch
that is not recorded yet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from smsdrop.models import Batch, Position, Status
from smsdrop.send.batch_work import BatchWork
from smsdrop.send.ports import JobLease
from smsdrop.store.lease import Completions


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

    def run(self, work: Iterator[Batch], between: Callable[[], None], out_of_time: Callable[[], bool]) -> bool:
        """Start every batch of `work` (`between` runs before each and after the last) and wait for them all;
        False if the run stopped early, time running short, to hand the rest over."""
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
    ) -> bool:
        for batch in work:
            between()
            if out_of_time():
                return False
            while len(self._pending) >= self._in_flight:
                self._harvest(FIRST_COMPLETED)
            self._start(pool, batch)
        between()
        return True

    def _start(self, pool: ThreadPoolExecutor, batch: Batch) -> None:
        self._started[batch.seq] = batch
        key = f"{self._generation}.{batch.seq}"
        if self._work.will_send(batch):
            rows = tuple(r.row for r in batch.recipients)
            self._lease.mark_in_flight(key, rows, self._lease_until(), self._untold)
            self._untold = Completions()
            self._pending[pool.submit(self._work.send, batch, key)] = batch
        else:
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
