"""Everything the job runner touches outside itself, as protocols, and the set of them it is built with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from smsdrop.intake.uploads import Upload
    from smsdrop.models import CallItem, Outcome, Position, Row, Status
    from smsdrop.output.results_file import ReportKeys
    from smsdrop.store.file_parts import PartsRecord
    from smsdrop.store.jobs import Busy, JobRecord, JobState
    from smsdrop.store.lease import Completions
    from smsdrop.store.results import Result
    from smsdrop.store.schema import JobRows
    from smsdrop.store.waiting import ScheduleRecord

Item = dict[str, Any]
"""A row's item as DynamoDB stores it (its wire format)."""


class Reader(Protocol):
    """Streams the rows of one upload, from the start or from a checkpoint."""

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """Every data row from `start` on; raises FileRefused before the first row for a file it cannot read."""
        ...

    @property
    def position(self) -> Position:
        """The place right after the last row yielded."""
        ...

    @property
    def blank_lines(self) -> int:
        """Blank lines skipped so far in the whole file, the re-scanned prefix included."""
        ...

    def report(self) -> dict[str, Any]:
        """What the job's summary says of the file as read so far (format, rules, what its texts cost)."""
        ...

    def keep(self, checkpoint: Position | None) -> None:
        """At a hand-over: leave what the reader knows of the file for the invocation resuming at `checkpoint`, so
        it need not read the file up to there again (a reader that cannot, does nothing)."""
        ...


class ReaderFactory(Protocol):
    """Opens the reader of an upload's file for its job."""

    def __call__(self, upload: Upload, job_id: str) -> Reader:
        """A reader of `upload` (nothing is read until its rows are asked for)."""
        ...


class Gateway(Protocol):
    """Sends one call and says what became of each number; raises JobStop when nothing more can succeed, and
    CallNotMade when `time_left` (seconds) ran out before the provider processed the call."""

    def send(self, items: Sequence[CallItem], time_left: Callable[[], float] | None = None) -> dict[int, Outcome]:
        """Outcomes keyed by row."""
        ...


class Continuation(Protocol):
    """Hands the rest of a job to a fresh invocation."""

    def request(self, upload: Upload) -> None:
        """Ask for another invocation to resume `upload`'s job from its checkpoint."""
        ...


class JobLease(Protocol):
    """One invocation's hold on a job; every change raises LeaseLost once another invocation holds the job."""

    job_id: str
    owner: str
    record: JobRecord

    def mark_in_flight(
        self, batch: str, rows: tuple[int, ...], lease_until: float, done: Completions | None = None
    ) -> None:
        """Note, before sending, that `batch` goes out to `rows`; tell `done` in the same write."""
        ...

    def renew(self, lease_until: float) -> None:
        """Extend the lease."""
        ...

    def complete(self, done: Completions, lease_until: float) -> None:
        """Tell the job item of recorded batches: counts, marks dropped, checkpoint."""
        ...

    def record_stop(self, reason: str) -> None:
        """Keep the first reason the provider gave for stopping the job."""
        ...

    def record_parts(self, parts: PartsRecord) -> None:
        """Note the results file's parts uploaded so far."""
        ...

    def release(self, now: float, checkpoint: Position | None, clean: bool = True, error: str = "") -> None:
        """Hand the job back at `checkpoint`; an unclean release flags it for a recount and keeps `error`."""
        ...

    def pause(self, now: float, checkpoint: Position | None, history: list[dict[str, Any]]) -> bool:
        """Sleep PAUSED at `checkpoint` as the operator asked; False if the request was withdrawn meanwhile."""
        ...

    def hold(
        self, now: float, checkpoint: Position | None, schedule: ScheduleRecord, history: list[dict[str, Any]]
    ) -> None:
        """Wait SCHEDULED at `checkpoint` for `schedule`; Steered (nothing changed) if a cancel or pause was asked."""
        ...

    def finish(
        self,
        state: JobState,
        now: float,
        rows: int,
        counts: Mapping[Status, int] | None = None,
        error: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Close the job in `state`."""
        ...


class Jobs(Protocol):
    """Where jobs are claimed and read."""

    def claim(
        self, upload: Upload, owner: str, now: float, lease_s: int, ttl: int, row_shards: int = 1
    ) -> JobLease | Busy:
        """Create the job (rows over `row_shards` partitions) or take over its lapsed lease; Busy when finished or
        held by another invocation."""
        ...

    def get(self, job_id: str) -> JobRecord:
        """The job item as it is now."""
        ...


class Results(Protocol):
    """The per-number items: written as batches are done; read back only after a crash (a bounded part of a job)
    and to recount one."""

    def write(self, rows: JobRows, results: Sequence[Result], now: float) -> list[Item]:
        """Record rows nobody else is writing; the items written."""
        ...

    def write_once(self, rows: JobRows, results: Sequence[Result], now: float) -> list[Item]:
        """Record rows that have no item yet; each row's item as stored."""
        ...

    def write_unsent(self, rows: JobRows, results: Sequence[Result], now: float) -> list[tuple[Item, Status]]:
        """Record results over items still marked unsent; each item as stored and the status it had before."""
        ...

    def read(self, rows: JobRows, after_row: int = 0, through_row: int = ...) -> Iterator[Item]:
        """The items after `after_row` up to `through_row`, in row order."""
        ...

    def by_row(self, rows: JobRows, numbers: Iterable[int]) -> dict[int, Item]:
        """The items of the rows `numbers` that have one, by row."""
        ...

    def count(self, rows: JobRows, after_row: int = 0, through_row: int = ...) -> Counter[Status]:
        """Counts per status over the job's rows after `after_row` up to `through_row` (all: the whole job)."""
        ...


class ResultsStream(Protocol):
    """The job's results file as this invocation writes it: lines in row order, as the checkpoint passes them."""

    through_row: int
    """Every line up to this row is written."""

    @property
    def held_rows(self) -> frozenset[int]:
        """Rows past `through_row` whose items wait for the rows before them."""
        ...

    def add(self, items: Iterable[Item]) -> None:
        """Hold recorded items until their lines' turn."""
        ...

    def advance(self, through_row: int) -> None:
        """Every row up to `through_row` is recorded: write their lines."""
        ...

    def hand_over(self) -> None:
        """Leave what is not in a part for the next invocation."""
        ...

    def close(self, summary: Mapping[str, Any]) -> ReportKeys:
        """Finish the file, write `summary` and the page; where they went."""
        ...


class ResultsFile(Protocol):
    """Opens the job's results file where the last invocation left it."""

    def open(self, upload: Upload, ledger: JobLease, parts: PartsRecord | None) -> ResultsStream:
        """The results file of `upload`'s job, whose job item knows of `parts`; `ledger` is told of new parts."""
        ...


class DryRunCheck(Protocol):
    """Whether an upload asks for a dry run (checked and batched, nothing sent)."""

    def __call__(self, upload: Upload) -> bool:
        """True for a dry run."""
        ...


class OptOuts(Protocol):
    """The opt-out list: numbers never to be texted."""

    def opted_out(self, numbers: Iterable[str]) -> set[str]:
        """Those of `numbers` (E.164 digits) on the list, as it is now."""
        ...


class SendAtCheck(Protocol):
    """When an upload asks to be sent (its metadata `send-at`)."""

    def __call__(self, upload: Upload) -> datetime | None:
        """The instant, or None to send at once; SendAtRefused if the metadata cannot be used."""
        ...


class Schedules(Protocol):
    """One-time schedules that queue a waiting job's continuation at its time (EventBridge Scheduler)."""

    def create(self, upload: Upload, at: datetime, why: str) -> ScheduleRecord:
        """A schedule queueing `upload`'s continuation at `at` (the one already made for that job and time, if any)."""
        ...

    def delete(self, schedule: ScheduleRecord) -> None:
        """Drop `schedule` before it fires (nothing if it is gone already)."""
        ...


@dataclass(frozen=True, slots=True)
class RunnerPorts:
    """The adapters a JobRunner is built with: wrap one with `dataclasses.replace` to watch or break it."""

    store: Jobs
    results: Results
    gateway: Gateway
    reader_factory: ReaderFactory
    continuation: Continuation
    results_file: ResultsFile
    send_at: SendAtCheck
    schedules: Schedules
    dry_run: DryRunCheck
    optouts: OptOuts
