"""The delivery poller: ask getReport about every SUBMITTED number whose ask is due, and record the verdicts.

Each run walks the sparse AwaitingReport index (all 32 partitions, starting at a rotating one), 200 msgIds
to a call. A final report moves the item to DELIVERED / UNDELIVERED; a number still sending, or unknown to
the provider, is asked again later (the interval grows with its age: half its age, 5 min to 6 h); one that
has had no final report for `max_age_hours` (72) becomes UNDELIVERED "no delivery report". Job counts move
with the items, one ADD per job per call. At the end of a run, the report pages of the finished jobs whose counts
moved are drawn again (at most once per `REFRESH_EVERY_S` each; see smsdrop.output.page_refresh).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from itertools import islice

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.delivery.receipts import Report, Source
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.models import Status
from smsdrop.output.page_refresh import PageRefresher
from smsdrop.provider.report_client import ReportClient, ReportRefused, ReportUnavailable
from smsdrop.store.delivery import Awaiting, DeliveryStore, moved, shards

logger = Logger(child=True)
metrics = Metrics()

NO_REPORT = "no delivery report"
ROTATE_EVERY_S = 60


@dataclass(slots=True)
class PollSummary:
    """What one poll did."""

    asked: int = 0
    calls: int = 0
    delivered: int = 0
    undelivered: int = 0
    expired: int = 0
    """Among `undelivered`: numbers with no final report after the maximum age."""
    pending: int = 0
    already_final: int = 0
    out_of_time: bool = False
    error: str = ""
    pages_refreshed: int = 0


@dataclass(frozen=True, slots=True)
class _Move:
    awaiting: Awaiting
    verdict: Status | None
    report: Report | None
    source: Source


class DeliveryPoller:
    """Moves awaiting numbers to their final state from getReport answers (see the module docstring)."""

    def __init__(
        self,
        store: DeliveryStore,
        client: ReportClient,
        settings: DeliverySettings | None = None,
        clock: Callable[[], float] = time.time,
        ids_per_call: int = 200,
        pages: PageRefresher | None = None,
    ) -> None:
        self._store = store
        self._client = client
        self._pages = pages
        self._settings = settings = settings or DeliverySettings()
        self._clock = clock
        self._ids_per_call = ids_per_call
        self._pool = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="delivery")

    def run(self, remaining_ms: Callable[[], int]) -> PollSummary:
        """Poll until nothing is due or the time margin is reached; a provider outage ends the run with `error`."""
        summary = PollSummary()
        now = int(self._clock())
        moved_jobs: set[str] = set()
        for chunk in _chunks(self._due(now), self._ids_per_call):
            if remaining_ms() < self._settings.time_margin_ms:
                summary.out_of_time = True
                break
            try:
                self._poll(chunk, now, summary, moved_jobs)
            except ReportUnavailable as exc:
                summary.error = str(exc)
                logger.error("Delivery reports unavailable; the next run tries again", extra={"reason": str(exc)})
                break
        summary.pages_refreshed = self._refresh_pages(moved_jobs, now)
        logger.info("Delivery poll finished", extra={"summary": asdict(summary)})
        return summary

    def _due(self, now: int) -> Iterator[Awaiting]:
        order = shards()
        start = (now // ROTATE_EVERY_S) % len(order)
        for shard in order[start:] + order[:start]:
            yield from self._store.due(shard, now)

    def _refresh_pages(self, job_ids: set[str], now: int) -> int:
        """Redraw the pages of jobs whose counts moved; a page that cannot be drawn is logged, never fatal."""
        if self._pages is None:
            return 0
        refreshed = 0
        for job_id in sorted(job_ids):
            try:
                refreshed += self._pages.refresh(job_id, now)
            except Exception:
                logger.exception("Report page not refreshed", extra={"job_id": job_id})
        return refreshed

    def _poll(self, chunk: Sequence[Awaiting], now: int, summary: PollSummary, moved_jobs: set[str]) -> None:
        summary.asked += len(chunk)
        summary.calls += 1
        try:
            reports = self._client.reports([a.msg_id for a in chunk])
        except ReportRefused as exc:
            logger.warning("getReport refused a call; its numbers are asked again later", extra={"code": exc.code})
            reports = {}
        moves = [self._decide(a, reports.get(a.msg_id), now) for a in chunk]
        futures = [self._pool.submit(self._apply, move, now) for move in moves]
        counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        error: Exception | None = None
        for move, future in zip(moves, futures, strict=True):
            try:
                self._tally(move, future.result(), summary, counts, now)
            except Exception as exc:  # every move is waited for and counted before the first error is raised
                error = error or exc
        for job_id, changes in counts.items():
            self._store.add_counts(job_id, changes)
            moved_jobs.add(job_id)
        if error is not None:
            raise error

    def _decide(self, awaiting: Awaiting, report: Report | None, now: int) -> _Move:
        verdict = report.verdict if report else None
        if verdict is not None:
            return _Move(awaiting, verdict, report, Source.POLL)
        if now - awaiting.submitted_at >= self._settings.max_age_s:
            reason = f"{NO_REPORT} within {self._settings.max_age_hours:g} h"
            return _Move(awaiting, Status.UNDELIVERED, Report(awaiting.msg_id, "", reason), Source.TIMEOUT)
        return _Move(awaiting, None, report, Source.POLL)

    def _apply(self, move: _Move, now: int) -> bool:
        a = move.awaiting
        if move.verdict is None or move.report is None:
            return self._store.postpone(a.key, a.msg_id, self._next_ask(a, now))
        return self._store.settle(a.key, a.msg_id, move.verdict, move.report, move.source, now)

    def _next_ask(self, awaiting: Awaiting, now: int) -> int:
        age = max(0, now - awaiting.submitted_at)
        interval = min(self._settings.max_interval_s, max(self._settings.min_interval_s, age // 2))
        return min(now + interval, awaiting.submitted_at + self._settings.max_age_s)

    @staticmethod
    def _tally(move: _Move, done: bool, summary: PollSummary, counts: defaultdict[str, Counter[str]], now: int) -> None:
        """Count a move on the main thread (powertools Metrics is a shared, unlocked buffer: no worker adds to it)."""
        if move.verdict is None:
            summary.pending += 1
        elif not done:
            summary.already_final += 1
        else:
            counts[move.awaiting.key.job_id].update(moved(move.verdict))
            summary.delivered += move.verdict is Status.DELIVERED
            summary.undelivered += move.verdict is Status.UNDELIVERED
            summary.expired += move.source is Source.TIMEOUT
            if move.source is Source.POLL:  # a report, not a timeout: how long it took to come
                metrics.add_metric(
                    name="DeliveryReportLatency",
                    unit=MetricUnit.Seconds,
                    value=max(0, now - move.awaiting.submitted_at),
                )


def _chunks(items: Iterable[Awaiting], size: int) -> Iterator[list[Awaiting]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
