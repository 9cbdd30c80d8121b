"""What a local run prints: the job's counts, stop reason, first rejected rows, and the simulator's audit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from local.aws import LocalAws
from local.gateway_sim import GatewaySimulator
from local.intake_lines import intake_lines, read_intake
from smsdrop.intake.uploads import Upload
from smsdrop.masking import mask_number
from smsdrop.models import SEND_STATUSES, Status
from smsdrop.store.row_reader import RowReader
from smsdrop.store.schema import JobRows, deserialise, job_key
from smsdrop.store.steering import plain


@dataclass(frozen=True, slots=True)
class Summary:
    """A finished (or refused) local run."""

    job_id: str
    state: str
    rows: int
    counts: dict[str, int]
    stop_reason: str
    error: str
    invocations: int
    duration_s: float
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    simulator: dict[str, int] | None = None
    dry_run: bool = False
    reports: dict[str, str] | None = None
    page: dict[str, str] | None = None
    """With --report: the report page's key, local path and presigned URL."""
    loop_detection: str = ""
    """Why the chain of invocations stopped early, when Lambda's recursive loop detection stopped it."""
    intake: dict[str, Any] | None = None
    """How the file was read, from the job's summary: format, destinations allowed, what its texts cost."""
    resumed: dict[str, int] | None = None
    """With --resume-after-stop, once the job stopped: the numbers accepted before the resume and after it."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """The job item's history: stopped, paused, resumed, cancelled (by whom), ended."""
    engine: str = "lambda"
    """`stepfunctions` when the scale-out state machine sent the file (docs/scale-out.md)."""
    chunks: int | None = None
    """The chunks the scale-out engine cut the file into."""

    @property
    def _statuses(self) -> list[Status]:
        """The four outcomes of a send, and any other status this job has (VALIDATED in a dry run, CANCELLED...)."""
        return [*SEND_STATUSES, *(s for s in Status if s not in SEND_STATUSES and self.counts.get(s.value))]

    def as_json(self) -> dict[str, Any]:
        """The `--json` object."""
        return {
            "job_id": self.job_id,
            "state": self.state,
            "rows": self.rows,
            "counts": {s.value: self.counts.get(s.value, 0) for s in self._statuses},
            "stop_reason": self.stop_reason or None,
            "error": self.error or None,
            "invocations": self.invocations,
            "duration_s": round(self.duration_s, 3),
            "simulator": self.simulator,
            "dry_run": self.dry_run,
            "reports": self.reports,
            "page": self.page,
            "loop_detection": self.loop_detection or None,
            "intake": self.intake,
            "resumed": self.resumed,
            "history": self.history,
            "engine": self.engine,
            "chunks": self.chunks,
        }

    def as_text(self) -> str:
        """A summary a person reads."""
        lines = [
            f"{'dry run ' if self.dry_run else ''}job {self.job_id}: {self.state} "
            f"in {self.duration_s:.1f} s over {self.invocations} invocation(s)",
            f"rows: {self.rows}   " + "   ".join(f"{s.value}: {self.counts.get(s.value, 0)}" for s in self._statuses),
        ]
        lines += intake_lines(self.intake or {})
        if self.chunks is not None:
            lines.append(f"engine: Step Functions, {self.chunks} chunk(s)")
        if self.error:
            lines.append(f"error: {self.error}")
        if self.stop_reason:
            lines.append(f"stopped: {self.stop_reason}")
        if self.loop_detection:
            lines.append(self.loop_detection)
        lines += [_history_line(entry) for entry in self.history]
        if self.resumed is not None:
            lines.append(
                f"resumed after the stop: {self.resumed['accepted_before']} numbers accepted before, "
                f"{self.resumed['accepted_after']} after"
            )
        if self.rejected:
            lines.append("first rejected rows:")
            lines += [f"  row {row:>6}  {number:<10}  {reason}" for row, number, reason in self.rejected]
        if self.reports:
            lines.append(f"results file: {self.reports['results']}   summary: {self.reports['summary']}")
        if self.simulator is not None:
            lines.append(
                f"gateway simulator: {self.simulator['accepted']} numbers accepted, "
                f"{self.simulator['duplicates']} sent twice"
            )
        if self.page:
            lines.append(f"presigned URL (served while this run lasts): {self.page['url']}")
            lines.append(f"report page: {self.page['path']}")
        return "\n".join(lines)


def read_summary(
    aws: LocalAws, upload: Upload, invocations: int, duration_s: float, simulator: GatewaySimulator | None
) -> Summary:
    """Read the job item and its first rejected rows back from the table."""
    dynamodb = aws.client("dynamodb")
    job = deserialise(dynamodb.get_item(TableName=aws.names.table, Key=job_key(upload.job_id))["Item"])
    return Summary(
        job_id=upload.job_id,
        state=job["state"],
        rows=int(job.get("rows", 0)),
        counts={k: int(v) for k, v in job.get("counts", {}).items()},
        stop_reason=job.get("stop_reason", ""),
        error=job.get("error", ""),
        invocations=invocations,
        duration_s=duration_s,
        rejected=_first_rejected(dynamodb, aws.names.table, JobRows(upload.job_id, int(job.get("row_shards", 1)))),
        simulator=_audit(simulator),
        dry_run=bool(job.get("dry_run", False)),
        reports={"results": job["results_key"], "summary": job["summary_key"]} if "results_key" in job else None,
        intake=read_intake(aws, job),
        history=[plain(entry) for entry in job.get("history", [])],
        chunks=int(job["chunks"]) if "chunks" in job else None,
    )


def _history_line(entry: dict[str, Any]) -> str:
    facts = "".join(f" {k}={_utc(v) if k == 'until' else v}" for k, v in entry.items() if k not in ("event", "at"))
    return f"history: {entry['event']} at {_utc(entry['at'])}{facts}"


def _utc(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch_s))


def _first_rejected(dynamodb: Any, table: str, rows: JobRows, limit: int = 5) -> list[tuple[int, str, str]]:
    """The first rejected rows, in row order (the job's shards merged as they are read, until `limit` are found)."""
    found: list[tuple[int, str, str]] = []
    for item in RowReader(dynamodb, table).items(rows):
        if item["status"]["S"] == "REJECTED":
            found.append((int(item["row"]["N"]), mask_number(item["number"]["S"]), item["reason"]["S"]))
            if len(found) == limit:
                break
    return found


def _audit(simulator: GatewaySimulator | None) -> dict[str, int] | None:
    if simulator is None:
        return None
    audit = simulator.audit()
    return {"accepted": len(audit.accepted), "duplicates": audit.duplicate_order_ids + audit.duplicate_numbers}
