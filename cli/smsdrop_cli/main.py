"""smsdrop: watch, cancel, pause, resume and export a job of a deployed (or local) stack.

  smsdrop status JOB [--watch]      state, counts, rows/s, estimated cost, stop reason; --watch: live progress
  smsdrop jobs [--running]          running and paused jobs, and the latest ended ones
  smsdrop cancel JOB                send nothing more; every unsent row ends CANCELLED
  smsdrop pause JOB                 hand over at the next batch and sleep
  smsdrop resume JOB                wake a paused job, or send a STOPPED/CANCELLED job's unsent rows (only those)
  smsdrop export JOB --status FAILED,UNKNOWN -o rows.csv
  smsdrop optout add|remove|check NUMBER...   the opt-out list by hand (a STOP reply); files go under optouts/

JOB is an S3 URI of the upload (s3://bucket/incoming/x.csv, optionally ?versionId=...) or a job id. The stack comes
from --stack NAME (CloudFormation outputs) or --bucket/--table/--queue-url; --endpoint-url (or AWS_ENDPOINT_URL)
points every client elsewhere, e.g. at the local stack.
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from smsdrop.intake.uploads import Upload
from smsdrop.send.continuation import QueueContinuation
from smsdrop.store.controls import Refused
from smsdrop.store.optouts import OptOutList
from smsdrop_cli.export import export, rows_in
from smsdrop_cli.optout import apply, numbers_of
from smsdrop_cli.status import jobs_lines, status_lines, watch
from smsdrop_cli.target import Target, TargetError, Where, connect

RECENT_ENDED = 10


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="smsdrop", description=__doc__.split("\n")[0])
    p.add_argument("--stack", help="CloudFormation stack whose outputs name the bucket, table and queue")
    p.add_argument("--bucket", help="the stack's bucket (output BucketName)")
    p.add_argument("--table", help="the results table (output TableName)")
    p.add_argument("--queue-url", help="the continuation queue (output ContinuationQueueUrl): resume needs it")
    p.add_argument("--endpoint-url", help="AWS endpoint (default: AWS_ENDPOINT_URL, else AWS itself)")
    p.add_argument("--region", help="AWS region (default: the environment's)")
    p.add_argument("--prices", help="PRICES_PER_PART for the cost of a running job (default: the stack's)")
    p.add_argument("--by", default=f"{getpass.getuser()}@{socket.gethostname()}", help="who acts (history)")
    commands = p.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="a job's state, counts, pace and cost")
    status.add_argument("job")
    status.add_argument("--watch", action="store_true", help="a live progress bar until the job ends")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between two looks (--watch)")
    jobs = commands.add_parser("jobs", help="running and paused jobs, then the latest ended ones")
    jobs.add_argument("--running", action="store_true", help="only running and paused jobs")
    for name, text in (("cancel", "send nothing more"), ("pause", "sleep at the next batch"), ("resume", "go on")):
        commands.add_parser(name, help=text).add_argument("job")
    exporting = commands.add_parser("export", help="rows in some statuses, as uploaded")
    exporting.add_argument("job")
    exporting.add_argument("--status", required=True, help="comma-separated statuses, e.g. FAILED,UNKNOWN")
    exporting.add_argument("-o", "--output", required=True, help="file to write ('-' for standard output)")
    optout = commands.add_parser("optout", help="add, remove or check numbers on the opt-out list")
    optout.add_argument("action", choices=("add", "remove", "check"))
    optout.add_argument("numbers", nargs="+", metavar="NUMBER")
    optout.add_argument("--number-region", help="region of national numbers, e.g. IN (default: DefaultRegion)")
    return p


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    """Run one command; 0 on success, 1 when the job or stack cannot be found or the action does not apply."""
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    where = Where(args.stack, args.bucket, args.table, args.queue_url, args.endpoint_url, args.region, args.prices)
    try:
        target = connect(where)
        return COMMANDS[args.command](target, args, out)
    except (TargetError, Refused) as problem:
        print(f"smsdrop: {problem}", file=sys.stderr)
        return 1


def _status(target: Target, args: argparse.Namespace, out: IO[str]) -> int:
    if args.watch:
        console = Console(file=out)
        watch(lambda: target.job(args.job), console, args.interval, time.sleep)
    print("\n".join(status_lines(target, target.job(args.job), time.time())), file=out)
    return 0


def _jobs(target: Target, args: argparse.Namespace, out: IO[str]) -> int:
    ended = [] if args.running or not target.bucket else list(_ended(target))
    print("\n".join(jobs_lines(target.active(), ended)), file=out)
    return 0


def _ended(target: Target) -> Iterator[dict[str, Any]]:
    """The summaries of the latest ended jobs, newest first."""
    pages = target.s3.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix="reports/")
    found = [o for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".summary.json")]
    for item in sorted(found, key=lambda o: o["LastModified"], reverse=True)[:RECENT_ENDED]:
        yield json.loads(target.s3.get_object(Bucket=target.bucket, Key=item["Key"])["Body"].read())


def cancel(target: Target, job_ref: str, by: str) -> str:
    """Cancel the job (waking it if paused); what happened, for the operator."""
    job = target.job(job_ref)
    woken = target.controls.cancel(job.record.job_id, by)
    if woken is not None:
        _continue(target, woken)
        was = "scheduled (its schedule is deleted)" if job.state.value == "SCHEDULED" else "paused"
        return f"job {job.record.job_id}: cancel requested; it was {was}, a continuation records its rows CANCELLED"
    return f"job {job.record.job_id}: cancel requested; batches in flight finish, nothing more is sent"


def pause(target: Target, job_ref: str, by: str) -> str:
    """Ask the job to sleep at its next batch boundary."""
    job = target.job(job_ref)
    target.controls.pause(job.record.job_id, by)
    return f"job {job.record.job_id}: pause requested; it sleeps after the batches in flight"


def resume(target: Target, job_ref: str, by: str) -> str:
    """Resume the job: wake a paused one, or send a STOPPED or CANCELLED job's unsent rows."""
    job = target.job(job_ref)
    if target.queue_url is None and job.state.value != "RUNNING":
        raise TargetError("resume queues a continuation: pass --stack NAME or --queue-url URL")
    woken = target.controls.resume(job.record.job_id, by)
    if woken is None:
        return f"job {job.record.job_id}: pause withdrawn; it goes on"
    _continue(target, woken)
    what = "its unsent rows are being sent" if job.state.value in ("STOPPED", "CANCELLED") else "it goes on"
    return f"job {job.record.job_id}: resumed ({job.state} before); {what}"


def _continue(target: Target, upload: Upload) -> None:
    if target.queue_url is None:
        raise TargetError("this needs the continuation queue: pass --stack NAME or --queue-url URL")
    QueueContinuation(target.sqs, target.queue_url).request(upload)


def _action(act: Callable[[Target, str, str], str]) -> Callable[[Target, argparse.Namespace, IO[str]], int]:
    def run(target: Target, args: argparse.Namespace, out: IO[str]) -> int:
        print(act(target, args.job, args.by), file=out)
        return 0

    return run


def _export(target: Target, args: argparse.Namespace, out: IO[str]) -> int:
    job = target.job(args.job)
    statuses = {s.strip().upper() for s in args.status.split(",") if s.strip()}
    wanted = rows_in(target.dynamodb, target.table, job, statuses)
    with _opened(args.output) as sink:
        written = export(target.s3, job, wanted, sink)
    print(f"{written} rows ({', '.join(sorted(statuses))}) written to {args.output}", file=sys.stderr)
    return 0


def _optout(target: Target, args: argparse.Namespace, out: IO[str]) -> int:
    numbers, bad = numbers_of(
        args.numbers, args.number_region if args.number_region is not None else target.default_region
    )
    for problem in bad:
        print(f"smsdrop: not a number, nothing done: {problem}", file=sys.stderr)
    if numbers:
        print("\n".join(apply(OptOutList(target.dynamodb, target.table), args.action, numbers, args.by)), file=out)
    return 1 if bad else 0


@contextmanager
def _opened(path: str) -> Iterator[Any]:
    if path == "-":
        yield sys.stdout.buffer
        return
    with Path(path).open("wb") as sink:
        yield sink


COMMANDS: dict[str, Callable[[Target, argparse.Namespace, IO[str]], int]] = {
    "status": _status,
    "jobs": _jobs,
    "cancel": _action(cancel),
    "pause": _action(pause),
    "resume": _action(resume),
    "export": _export,
    "optout": _optout,
}


if __name__ == "__main__":
    raise SystemExit(main())
