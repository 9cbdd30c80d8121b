"""What `smsdrop status` and `smsdrop jobs` print: a job's state, counts, pace, cost and how far through its file it
is; `--watch` draws that as a live progress bar (rich) until the job ends."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn

from smsdrop.models import Status
from smsdrop.output.results_file import BILLABLE, Cost
from smsdrop.scale.watching import CHUNKS, CHUNKS_DONE
from smsdrop.store.controls import JobView
from smsdrop.store.jobs import ENDED, JobState
from smsdrop.store.row_reader import RowReader
from smsdrop.store.schema import JobRows
from smsdrop_cli.target import Target

ORDER = [s.value for s in Status]


@dataclass(frozen=True, slots=True)
class Progressed:
    """How far a job is through its file: bytes read (the checkpoint's offset) of the object's size."""

    done: int
    total: int | None
    unit: str = "bytes"

    @classmethod
    def of(cls, job: JobView) -> Progressed:
        """The job's progress; a job that ended having read its file is at its end. A scaled-out job's chunks read
        their parts of the file side by side: its progress is in rows recorded of the rows the plan found."""
        if job.number(CHUNKS) and job.record.rows:
            return cls(sum(job.record.counts.values()), job.record.rows, "rows recorded")
        total = job.upload.size
        read = job.record.checkpoint.offset if job.record.checkpoint else 0
        if job.upload.key.lower().endswith((".xlsx", ".gz")):  # a checkpoint in rows, or in inflated bytes
            total = None
        if job.state in ENDED and job.state is not JobState.FAILED:
            return cls(total or read, total)
        return cls(min(read, total) if total else read, total)

    @property
    def percent(self) -> float | None:
        """Percent of the file read, if its size is known."""
        return 100.0 * self.done / self.total if self.total else None


def counts_line(job: JobView) -> str:
    """Counts per status, in the usual order, the empty ones left out."""
    counts = job.record.counts
    shown = [f"{name} {counts[name]:,}" for name in ORDER if counts.get(name)]
    return "   ".join(shown) or "nothing recorded yet"


def rate(job: JobView, now: float) -> float:
    """Rows recorded per second since the job was created (until it finished)."""
    end = job.number("finished_at") or now
    elapsed = max(1.0, end - job.number("created_at", int(now)))
    return sum(job.record.counts.values()) / elapsed


def cost(target: Target, job: JobView) -> str:
    """The estimated cost so far: the summary's once the job ended, else added up from its items (with prices)."""
    if job.state in ENDED and job.text("summary_key") and target.bucket:
        body = target.s3.get_object(Bucket=job.upload.bucket, Key=job.text("summary_key"))["Body"].read()
        summary = json.loads(body).get("cost") or {}
        return f"{summary.get('estimated', '?')} ({summary.get('parts', '?')} SMS parts)"
    if target.prices is None:
        return "unknown (no price table: --stack or --prices)"
    tally = Cost(target.prices)
    rows = JobRows(job.record.job_id, job.record.row_shards)
    for item in RowReader(target.dynamodb, target.table).items(rows):
        if item["status"]["S"] in BILLABLE:
            tally.add(item)
    return f"{tally.estimate.quantize(Decimal('0.0001'))} ({tally.parts} SMS parts so far)"


def status_lines(target: Target, job: JobView, now: float) -> list[str]:
    """What `smsdrop status JOB` prints."""
    record, progress = job.record, Progressed.of(job)
    version = job.upload.version_id or "unversioned"
    lines = [
        f"job {record.job_id}   s3://{job.upload.bucket}/{job.upload.key} (version {version})",
        f"state: {record.state}" + ("   (resending rows left unsent)" if record.resend else ""),
        f"counts: {counts_line(job)}",
        f"rows: {sum(record.counts.values()):,} recorded at {rate(job, now):,.1f} rows/s"
        + (f" of {record.rows:,}" if record.rows is not None else ""),
        "file: " + _progress_text(progress),
        f"estimated cost: {cost(target, job)}",
    ]
    lines += [f"{label}: {value}" for label, value in _facts(job)]
    return lines


def _progress_text(progress: Progressed) -> str:
    if progress.percent is None:
        return f"{progress.done:,} read (size unknown for a gzip or XLSX file)"
    verb = "read" if progress.unit == "bytes" else "done"
    return f"{progress.percent:.0f}% {verb} ({progress.done:,} of {progress.total:,} {progress.unit})"


def _facts(job: JobView) -> Iterable[tuple[str, str]]:
    record = job.record
    if job.number(CHUNKS):
        done = f", {job.number(CHUNKS_DONE)} ended" if CHUNKS_DONE in job.item else ""
        yield "engine", f"{job.text('engine')}: {job.number(CHUNKS)} chunks{done}"
    if record.state is JobState.SCHEDULED and record.schedule is not None:
        yield "scheduled", f"sends at {_when(record.schedule.at)} ({record.schedule.why})"
    for label, value in (("stop reason", record.stop_reason), ("error", record.error)):
        if value:
            yield label, value
    for label, request in (("cancel requested", record.cancel_requested), ("pause requested", record.pause_requested)):
        if request:
            yield label, _who(request)
    for entry in record.history:
        yield (
            "history",
            f"{entry.get('event')} {_when(entry.get('at'))}"
            + "".join(f" {k}={v}" for k, v in entry.items() if k not in ("event", "at")),
        )
    if job.text("results_key"):
        yield "results file", f"s3://{job.upload.bucket}/{job.text('results_key')}"


def _who(request: Any) -> str:
    return f"by {request.get('by', '?')} at {_when(request.get('at'))}"


def _when(at: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(int(at))) if at is not None else "?"


def jobs_lines(jobs: Iterable[JobView], ended: Iterable[dict[str, Any]]) -> list[str]:
    """What `smsdrop jobs` prints: running and paused jobs, then the latest ended ones (from their summaries)."""
    lines = [f"{'job':32}  {'state':9}  {'rows':>9}  file"]
    for job in jobs:
        line = f"{job.record.job_id:32}  {job.state:9}  {sum(job.record.counts.values()):>9,}  {job.upload.key}"
        schedule = job.record.schedule if job.state is JobState.SCHEDULED else None
        lines.append(line + (f"   (sends at {_when(schedule.at)})" if schedule else ""))
    for summary in ended:
        source = summary.get("source") or {}
        lines.append(f"{summary['job_id']:32}  {summary['state']:9}  {summary.get('rows') or 0:>9,}  {source['key']}")
    return lines


def watch(read: Callable[[], JobView], console: Console, interval_s: float, sleep: Callable[[float], None]) -> JobView:
    """Draw the job's progress through its file until it ends (or sleeps, paused or scheduled); the job as it ended."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), DownloadColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        job = read()
        task = bar.add_task(_description(job), total=Progressed.of(job).total)
        while True:
            progress = Progressed.of(job)
            bar.update(task, completed=progress.done, total=progress.total, description=_description(job))
            if job.state in ENDED or job.state in (JobState.PAUSED, JobState.SCHEDULED):
                break
            sleep(interval_s)
            job = read()
    console.print(f"job {job.record.job_id} {job.state}: {counts_line(job)}")
    return job


def _description(job: JobView) -> str:
    counts = job.record.counts
    sent = counts.get("SUBMITTED", 0) + counts.get("DELIVERED", 0) + counts.get("UNDELIVERED", 0)
    return f"{job.state} {sent:,} sent"
