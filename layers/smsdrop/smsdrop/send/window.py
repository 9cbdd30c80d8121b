"""The batches of one invocation in flight: at most `in_flight` at once, each marked on the job item before its
call goes out, and the job item told of each one recorded, in order, so the checkpoint never passes a batch
that is not recorded yet. A mark refused because the operator asked to cancel the job turns every batch from
there on into one recorded unsent; one refused for a pause ends the run at that batch.

Each recorded batch's items go to the results file, whose lines follow the checkpoint the job item was told; the
rows recorded past that checkpoint are told with it (smsdrop.send.recorded_rows). A batch whose call was not made
for lack of time is handed back: its mark is dropped, the checkpoint stays before it, and the run ends so a fresh
invocation sends it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import Enum
from typing import Any

from smsdrop.models import Batch, Position, Status
from smsdrop.send.batch_work import BatchWork
from smsdrop.send.ports import Item, JobLease, ResultsStream
from smsdrop.send.recorded_rows import RecordedPast
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
    CLOSED = "closed"
    """The send window closed: nothing more was started (none need have been: the window is a promise)."""


class Window:
    """Runs batches through `work`, `in_flight` at a time, for the job held by `lease`; their items go to `stream`.
    `recorded`: the rows past the checkpoint already recorded."""

    def __init__(
        self,
        lease: JobLease,
        work: BatchWork,
        in_flight: int,
        lease_until: Callable[[], float],
        stream: ResultsStream,
        recorded: Iterable[int] = (),
    ) -> None:
        self._lease = lease
        self._work = work
        self._in_flight = in_flight
        self._lease_until = lease_until
        self._stream = stream
        self._generation = lease.record.generation
        checkpoint_row = lease.record.checkpoint.row if lease.record.checkpoint else 0
        # `recorded` may hold rows of a dead holder's batch found recorded but never told: the first write tells them,
        # as it may drop that holder's mark, so the job item never loses sight of them (else they would be sent again).
        self._past = RecordedPast(recorded, checkpoint_row, told=lease.record.recorded)
        self._pending: dict[Future[list[Item] | None], Batch] = {}
        self._started: dict[int, Batch] = {}
        self._recorded: set[int] = set()
        self._next_seq = 0
        self._starts = 0
        self._untold = Completions()
        self.checkpoint: Position | None = lease.record.checkpoint
        self.counts: Counter[Status] = Counter()
        self.batches = 0
        self.pause_request: Mapping[str, Any] | None = None
        """The operator's pause request (`by`, `at`) that ended the run, if one did."""
        self.handed_back = False
        """Whether a batch's call was not made for lack of time (its rows are for a fresh invocation)."""

    @property
    def started_any(self) -> bool:
        """Whether this run has started a batch yet (every invocation sends one before it may hand over)."""
        return self._starts > 0

    def settle(self, rows: Iterable[int], marks: Sequence[str]) -> None:
        """Rows recorded outside a batch of this run (an earlier holder's, found or recorded UNKNOWN), and that
        holder's in-flight marks to drop: told with the next completion."""
        self._past.add(rows)
        self._untold.batches.extend(marks)

    def run(
        self,
        work: Iterator[Batch],
        between: Callable[[], None],
        out_of_time: Callable[[], bool],
        closed: Callable[[], bool] = lambda: False,
    ) -> WindowEnd:
        """Start every batch of `work` (`between` runs before each and after the last) and wait for them all; how
        the run ended (early: time running short, a pause asked for, or the send window `closed`)."""
        with ThreadPoolExecutor(max_workers=self._in_flight, thread_name_prefix="send") as pool:
            try:
                finished = self._dispatch(work, pool, between, out_of_time, closed)
            finally:
                self._harvest(ALL_COMPLETED)
        self._tell_done()
        return WindowEnd.OUT_OF_TIME if self.handed_back else finished

    def _dispatch(
        self,
        work: Iterator[Batch],
        pool: ThreadPoolExecutor,
        between: Callable[[], None],
        out_of_time: Callable[[], bool],
        closed: Callable[[], bool],
    ) -> WindowEnd:
        for batch in work:
            between()
            if out_of_time() and self.started_any:
                return WindowEnd.OUT_OF_TIME
            while len(self._pending) >= self._in_flight:
                self._harvest(FIRST_COMPLETED)
            if self.handed_back:  # a call was not made in time: no more are started
                return WindowEnd.OUT_OF_TIME
            if closed():  # asked as late as can be: right before the batch would start
                return WindowEnd.CLOSED
            try:
                self._start(pool, batch)
            except Steered as steered:  # a pause: this batch and the rest are read again when the job is resumed
                self.pause_request = steered.pause
                return WindowEnd.PAUSED
        between()
        return WindowEnd.FINISHED

    def _start(self, pool: ThreadPoolExecutor, batch: Batch) -> None:
        self._starts += 1
        key = f"{self._generation}.{batch.seq}"
        if self._work.will_send(batch):
            rows = tuple(r.row for r in batch.recipients)
            try:
                self._lease.mark_in_flight(key, rows, self._lease_until(), self._with_past(self._untold))
            except Steered as steered:
                if steered.cancel is None:
                    raise
                self._work.cancel(steered.cancel)  # this batch, and every one after it, is recorded unsent
            else:
                self._started[batch.seq] = batch
                self._told(self._untold)
                self._pending[pool.submit(self._work.send, batch, key)] = batch
                return
        self._started[batch.seq] = batch
        self._tell_done()
        self._pending[pool.submit(self._work.record_unsent, batch, key)] = batch

    def tell(self) -> None:
        """Tell the job item now of what it has not heard (after the run, of rows settled since)."""
        self._tell_done()

    def _tell_done(self) -> None:
        """Tell the job item of the batches recorded since it last heard, when no mark is going out to carry them."""
        if self._untold:
            self._lease.complete(self._with_past(self._untold), self._lease_until())
            self._told(self._untold)

    def _with_past(self, done: Completions) -> Completions:
        """`done`, with the rows recorded past the checkpoint if they changed."""
        past = self._past.untold()
        done.recorded = done.recorded if past is None else past
        return done

    def _told(self, done: Completions) -> None:
        """The job item heard of `done`: the results file writes the lines up to its checkpoint."""
        self._untold = Completions()
        if done.checkpoint is not None:
            self._stream.advance(done.checkpoint.row)

    def _harvest(self, mode: str) -> None:
        """Wait for batches in flight (the first, or all); note their completion in order, for the job item."""
        if not self._pending:
            return
        finished, _ = wait(self._pending, return_when=mode)
        for future in sorted(finished, key=lambda f: self._pending[f].seq):
            batch = self._pending.pop(future)
            items = future.result()
            key = f"{self._generation}.{batch.seq}"
            if items is None:  # not sent for lack of time: its mark goes, the checkpoint stays before it
                self.handed_back = True
                self._untold.add(key, Counter(), None)
                continue
            counts = self._work.tally(items)
            self.counts.update(counts)
            self._stream.add(items)
            self._past.add(int(item["row"]["N"]) for item in items)
            self._untold.add(key, counts, self._settle(batch))

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
            self._past.move(moved.row)
        return moved
