"""Run smsdrop on a laptop: moto server + the gateway simulator, the real handler, real S3 and SQS events.

python -m local.run PATH [--json] [--numbers-per-call N] [--in-flight N] [--latency-ms N]
                         [--error-rate X] [--stall-rate X] [--balance N] [--remaining-ms N]
                         [--time-checks N] [--recursive-loop Allow|Terminate]
                         [--gateway-url URL --allow-http] [--report [--report-dir DIR] [--open]]
                         [--no-aws-limits | --table-write-units N] [--aws-url URL]
                         [--now TIME] [--send-at TIME] [--send-window HH:MM-HH:MM [--send-window-tz ZONE]]
                         [--minutes-per-call N]
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
import tempfile
import time
import uuid
import webbrowser
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from local.aws import LocalAws, Names, behind_limits, create_stack, default_limits, moto_server
from local.aws_limits import AwsLimits
from local.gateway_sim import Faults, GatewaySimulator
from local.invoke import Chain, Invoker
from local.scheduler_clock import LocalClock, SchedulerClock
from local.steering import HookedSimulator, cancel_after, operator, resume_after_stop
from local.summary import Summary, read_summary
from smsdrop.config import Settings
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_poller
from smsdrop.intake.send_at import SEND_AT_METADATA
from smsdrop.intake.uploads import Upload
from smsdrop.output.results_file import ReportKeys
from smsdrop.store.schema import job_key

EXAMPLE_PRICES = '{"91": 0.0022, "44": 0.035, "default": 0.01}'
LOCAL_SCHEDULER_ROLE = "arn:aws:iam::123456789012:role/smsdrop-scheduler"  # moto checks no role
SIM_CREDENTIALS = {"apiKey": "local-key", "apiSecret": "local-secret", "appId": "local-app"}


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line asked for."""

    path: Path
    as_json: bool = False
    numbers_per_call: int = 1000
    in_flight: int = 4
    latency_ms: int = 20
    error_rate: float = 0.0
    stall_rate: float = 0.0
    balance: int | None = None
    remaining_ms: int = 900_000
    gateway_url: str | None = None
    allow_http: bool = False
    default_region: str = ""
    read_timeout_s: float = 2.0
    log_file: Path | None = None
    dry_run: bool = False
    delivery: bool = False
    delivered_ratio: float = 0.9
    prices: str = EXAMPLE_PRICES
    report: bool = False
    report_dir: Path | None = None
    open_page: bool = False
    time_checks: int | None = None
    recursive_loop: str | None = None
    no_aws_limits: bool = False
    table_write_units: int = 4000
    aws_url: str | None = None
    allowed_countries: str = ""
    gsm_safe: bool = False
    max_rows: int = 0
    max_cost: str = ""
    check_first_below: int = 50_000_000
    optouts: Path | None = None
    cancel_after: int | None = None
    resume_after_stop: bool = False
    engine: str = "lambda"
    chunk_rows: int = 5000
    max_concurrency: int = 4
    now: str | None = None
    send_at: str | None = None
    send_window: str = ""
    send_window_tz: str = "Asia/Kolkata"
    minutes_per_call: float = 0.0


def parse(argv: Sequence[str]) -> Options:
    """Options from the command line."""
    p = argparse.ArgumentParser(prog="python -m local.run", description=__doc__.split("\n")[0])
    p.add_argument("path", type=Path, help="the CSV, .csv.gz or .xlsx to send")
    p.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object at the end")
    p.add_argument("--numbers-per-call", type=int, default=1000)
    p.add_argument("--in-flight", type=int, default=4, help="batches in flight at once")
    p.add_argument("--latency-ms", type=int, default=20, help="simulated gateway latency")
    p.add_argument("--error-rate", type=float, default=0.0, help="fraction of calls answered HTTP 500")
    p.add_argument("--stall-rate", type=float, default=0.0, help="fraction of calls accepted then stalled")
    p.add_argument("--balance", type=int, default=None, help="numbers the simulated account can pay for")
    p.add_argument("--remaining-ms", type=int, default=900_000, help="time budget of each invocation")
    p.add_argument("--gateway-url", default=None, help="a real gateway speaking the provider's API")
    p.add_argument("--allow-http", action="store_true", help="allow a plain-http --gateway-url")
    p.add_argument("--default-region", default="", help="region for national numbers, e.g. IN")
    p.add_argument("--read-timeout-s", type=float, default=2.0, help="gateway read timeout")
    p.add_argument("--log-file", type=Path, default=None, help="where the function's JSON logs go")
    p.add_argument("--dry-run", action="store_true", help="check and batch the file, send nothing")
    p.add_argument("--delivery", action="store_true", help="then poll delivery reports once, 2 minutes later")
    p.add_argument("--delivered-ratio", type=float, default=0.9, help="share the simulator reports delivered")
    p.add_argument("--prices", default=EXAMPLE_PRICES, help="PRICES_PER_PART: price of a part by calling code")
    p.add_argument("--report", action="store_true", help="save the job's report page; print its path and URL")
    p.add_argument("--report-dir", type=Path, default=None, help="where --report saves it (default: a temp folder)")
    p.add_argument("--open", dest="open_page", action="store_true", help="--report, then open the page")
    p.add_argument("--time-checks", type=int, default=None, help="time reads short after N asks (1: a batch each)")
    p.add_argument("--recursive-loop", choices=["Allow", "Terminate"], default=None, help="default: template.yaml's")
    p.add_argument("--no-aws-limits", action="store_true", help="moto as it is, without AWS's DynamoDB limits")
    p.add_argument("--table-write-units", type=int, default=4000, help="the table's on-demand write ceiling")
    p.add_argument("--aws-url", default=None, help="an AWS-compatible endpoint already running, instead of moto")
    p.add_argument("--allowed-countries", default="", help="ALLOWED_COUNTRIES: calling codes, e.g. 91,44")
    p.add_argument("--gsm-safe", action="store_true", help="GSM_SAFE: smart quotes, dashes... to GSM-7 twins")
    p.add_argument("--max-rows", type=int, default=0, help="MAX_ROWS_PER_JOB (0: no cap)")
    p.add_argument("--max-cost", default="", help="MAX_COST_PER_JOB in the --prices currency (empty: no cap)")
    p.add_argument("--check-first-below", type=int, default=50_000_000, help="CHECK_FIRST_BELOW_BYTES")
    p.add_argument("--optouts", type=Path, default=None, help="an opt-out CSV dropped under optouts/ first")
    p.add_argument("--cancel-after", type=int, default=None, help="smsdrop cancel once N numbers are accepted")
    p.add_argument("--resume-after-stop", action="store_true", help="top the balance up and smsdrop resume")
    p.add_argument("--engine", choices=["lambda", "stepfunctions"], default="lambda", help="docs/scale-out.md")
    p.add_argument("--chunk-rows", type=int, default=5000, help="--engine stepfunctions: CHUNK_ROWS")
    p.add_argument("--max-concurrency", type=int, default=4, help="--engine stepfunctions: chunks sent at once")
    p.add_argument("--now", default=None, help="start the clock here (ISO 8601 with offset); schedules fire at once")
    p.add_argument("--send-at", default=None, help="the upload's send-at metadata (ISO 8601 with offset)")
    p.add_argument("--send-window", default="", help="SEND_WINDOW: hours texts may go out, e.g. 09:00-21:00")
    p.add_argument("--send-window-tz", default="Asia/Kolkata", help="SEND_WINDOW_TZ: the window's IANA zone")
    p.add_argument("--minutes-per-call", type=float, default=0.0, help="the clock moves on this much a call")
    options = Options(**vars(p.parse_args(argv)))
    if (options.cancel_after is not None or options.minutes_per_call) and options.gateway_url:
        p.error("--cancel-after and --minutes-per-call count the simulator's calls: not with --gateway-url")
    if options.now is not None and datetime.fromisoformat(options.now).tzinfo is None:
        p.error("--now needs a UTC offset, e.g. 2026-12-01T08:00:00+05:30")
    return replace(options, report=True) if options.open_page else options


def main(argv: Sequence[str] | None = None) -> int:
    """Run one file end to end and print its summary; exit 0 when the job finished (completed or stopped)."""
    options = parse(sys.argv[1:] if argv is None else argv)
    if not options.path.is_file():
        print(f"no such file: {options.path}", file=sys.stderr)
        return 2
    summary = run(options)
    print(json.dumps(summary.as_json()) if options.as_json else summary.as_text())
    if options.open_page and summary.page and not open_page(Path(summary.page["path"])):
        print("no browser could be started: open the page above yourself", file=sys.stderr)
    return 0 if summary.state in ("COMPLETED", "STOPPED") else 1


def run(options: Options) -> Summary:
    """Start the local stack, upload the file, invoke the handler until the job ends, and summarise it."""
    if options.engine == "stepfunctions":
        from local.scale_run import run_scaled  # here: it builds on this module's helpers

        return run_scaled(options)
    with ExitStack() as stack:
        endpoint = stack.enter_context(_aws_endpoint(options))
        simulator = None if options.gateway_url else stack.enter_context(_simulator(options))
        credentials = _credentials(options)
        aws = create_stack(endpoint, _names(options), secret_value=json.dumps(credentials))
        logs = stack.enter_context(_log_stream(options.log_file))
        gateway_url = options.gateway_url or simulator.base_url  # type: ignore[union-attr]
        stack.enter_context(_environment(aws, options, gateway_url))
        started = time.monotonic()
        clock = LocalClock(datetime.fromisoformat(options.now).timestamp() if options.now else None)
        with redirect_stdout(logs):
            invoker = _invoker(aws, options, clock)
            if options.optouts is not None:
                drop_optouts(invoker, options.optouts)
            folder = "incoming/dry-run/" if options.dry_run else "incoming/"
            metadata = {SEND_AT_METADATA: options.send_at} if options.send_at else {}
            upload = invoker.upload(options.path, key=f"{folder}{options.path.name}", metadata=metadata)
            if options.cancel_after is not None:
                cancel_after(simulator, options.cancel_after, operator(aws), lambda: upload.job_id)
            if simulator is not None and options.minutes_per_call:
                _time_passes(simulator, clock, options.minutes_per_call * 60)
            chain = _through_schedules(aws, upload, invoker, clock, invoker.run_to_end(upload))
            resumed = _resumed(aws, upload, simulator, invoker) if options.resume_after_stop else None
            if resumed is not None:
                more, before = resumed
                chain = Chain(chain.invocations + more.invocations, more.stopped_at_hop)
            if options.delivery:
                _poll_delivery_reports(aws)
        summary = read_summary(aws, upload, chain.invocations, time.monotonic() - started, simulator)
        if resumed is not None and simulator is not None:
            total = len(simulator.audit().accepted)
            summary = replace(summary, resumed={"accepted_before": before, "accepted_after": total - before})
        if chain.stopped_at_hop:
            summary = replace(summary, loop_detection=LOOP_STOPPED.format(hop=chain.stopped_at_hop))
        if options.report and summary.reports:
            folder = options.report_dir or Path(tempfile.gettempdir()) / "smsdrop-reports" / summary.job_id
            summary = replace(summary, page=save_page(aws, ReportKeys(**summary.reports), folder))
        return summary


def _time_passes(simulator: HookedSimulator, clock: LocalClock, seconds: float) -> None:
    """Each call the simulator answers moves the clock on by `seconds` (after any hook already there)."""
    before = simulator.after_accepting

    def tick(total: int) -> None:
        if before is not None:
            before(total)
        clock.advance(seconds)

    simulator.after_accepting = tick


def _through_schedules(aws: LocalAws, upload: Upload, invoker: Invoker, clock: LocalClock, chain: Chain) -> Chain:
    """While the job waits SCHEDULED: move the clock on to its schedule, fire it as EventBridge Scheduler would (its
    continuation to the queue) and follow the continuations; the whole chain."""
    scheduler = SchedulerClock(aws, aws.names.schedule_group)
    while _state(aws, upload) == "SCHEDULED" and (at := scheduler.next_at()) is not None:
        clock.to(at)
        scheduler.fire(clock())
        more = invoker.follow()
        chain = Chain(chain.invocations + more.invocations, more.stopped_at_hop)
    return chain


def _state(aws: LocalAws, upload: Upload) -> str:
    job = aws.client("dynamodb").get_item(TableName=aws.names.table, Key=job_key(upload.job_id))["Item"]
    return str(job["state"]["S"])


def _resumed(
    aws: LocalAws, upload: Upload, simulator: GatewaySimulator | None, invoker: Invoker
) -> tuple[Chain, int] | None:
    """If the job stopped: top the balance up, resume it through the command line's code and follow its
    continuations; the chain after the resume, and the numbers accepted before it."""
    job = aws.client("dynamodb").get_item(TableName=aws.names.table, Key=job_key(upload.job_id))["Item"]
    if job["state"]["S"] != "STOPPED":
        return None
    before = resume_after_stop(operator(aws), upload.job_id, simulator)
    return invoker.follow(), before


LOOP_STOPPED = (
    "Lambda's recursive loop detection stopped the chain at continuation {hop} (IngestFunction without "
    "RecursiveLoop: Allow): the message went to the dead-letter queue, the job waits for the sweep"
)


def _aws_endpoint(options: Options) -> AbstractContextManager[str]:
    """moto server, or the endpoint of --aws-url; behind AWS's limits unless --no-aws-limits (or
    SMSDROP_AWS_LIMITS=off)."""
    off = options.no_aws_limits or default_limits() is None
    limits = None if off else AwsLimits(table_write_units=options.table_write_units)
    return behind_limits(options.aws_url, limits) if options.aws_url else moto_server(limits or False)


def _names(options: Options) -> Names:
    """The template's names on our own moto server; names of this run's own on an endpoint that may hold others."""
    if not options.aws_url:
        return Names()
    run = uuid.uuid4().hex[:8]
    return Names(
        bucket=f"smsdrop-local-{run}",
        table=f"SendResults-{run}",
        secret=f"smsdrop/gateway-{run}",
        queue=f"smsdrop-continuation-{run}",
        dead_letter_queue=f"smsdrop-continuation-dead-letter-{run}",
        schedule_group=f"smsdrop-{run}",
    )


def _time_margin_ms(options: Options) -> int:
    """TIME_MARGIN_MS of the run: the template's 60 s, or a quarter of a smaller --remaining-ms."""
    return min(60_000, options.remaining_ms // 4)


def _invoker(aws: LocalAws, options: Options, clock: LocalClock) -> Invoker:
    recursion = None if options.recursive_loop is None else options.recursive_loop == "Allow"
    return Invoker(
        aws,
        options.remaining_ms,
        progress=not options.as_json,
        recursion=recursion,
        checks_per_invocation=options.time_checks,
        short_ms=_time_margin_ms(options) - 1,
        clock=clock,
    )


def drop_optouts(invoker: Invoker, path: Path) -> None:
    """Drop `path` under optouts/ and invoke the handler for it, as its S3 event would: its numbers go on the list."""
    from ingest.app import optout_drops

    optout_drops.cache_clear()  # built again for this run's stack
    invoker.run_to_end(invoker.upload(path, key=f"optouts/{path.name}"))


def save_page(aws: LocalAws, keys: ReportKeys, folder: Path) -> dict[str, str]:
    """Copy the report page, with the results file and summary it links to, into `folder`; its key, local path and
    a presigned URL (served by this run's moto server, so valid only while the run lasts)."""
    s3 = aws.client("s3")
    folder.mkdir(parents=True, exist_ok=True)
    for key in (keys.results, keys.summary, keys.page):
        body = s3.get_object(Bucket=aws.names.bucket, Key=key)["Body"].read()
        (folder / posixpath.basename(key)).write_bytes(body)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": aws.names.bucket, "Key": keys.page}, ExpiresIn=3600)
    return {"key": keys.page, "path": str((folder / posixpath.basename(keys.page)).resolve()), "url": url}


def open_page(path: Path, opener: Callable[[str], bool] = webbrowser.open) -> bool:
    """Open the page in a browser (xdg-open or whatever `webbrowser` finds); False, never an error, without one."""
    try:
        return bool(opener(path.resolve().as_uri()))
    except webbrowser.Error:
        return False


def _poll_delivery_reports(aws: LocalAws) -> None:
    """Run the delivery poller once, as its schedule would a couple of minutes after the send."""
    later = time.time() + 120
    poller = build_poller(
        Settings.from_env(),
        DeliverySettings(),
        aws.client("dynamodb"),
        aws.client("secretsmanager"),
        lambda: later,
        s3=aws.client("s3"),
    )
    poller.run(lambda: 900_000)


def _credentials(options: Options) -> dict[str, str]:
    if not options.gateway_url:
        return SIM_CREDENTIALS
    names = {"apiKey": "SMSDROP_API_KEY", "apiSecret": "SMSDROP_API_SECRET", "appId": "SMSDROP_APP_ID"}
    missing = [env for env in names.values() if not os.environ.get(env)]
    if missing:
        raise SystemExit(f"--gateway-url needs credentials in {', '.join(missing)}")
    return {field: os.environ[env] for field, env in names.items()}


@contextmanager
def _simulator(options: Options) -> Iterator[HookedSimulator]:
    faults = Faults(
        latency_ms=options.latency_ms,
        http_500_rate=options.error_rate,
        stall_rate=options.stall_rate,
        stall_s=options.read_timeout_s + 1.0,
        balance=options.balance,
        delivered_ratio=options.delivered_ratio,
    )
    sim = HookedSimulator(
        api_key=SIM_CREDENTIALS["apiKey"],
        api_secret=SIM_CREDENTIALS["apiSecret"],
        app_id=SIM_CREDENTIALS["appId"],
        faults=faults,
    )
    with sim:
        yield sim


@contextmanager
def _log_stream(path: Path | None) -> Iterator[TextIO]:
    """Where the function's stdout (JSON logs, metrics) goes: a file, or nowhere."""
    if path is None:
        yield _DEVNULL
        return
    with path.open("w") as stream:
        yield stream


_DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - the handler's logger keeps it for the whole process


@contextmanager
def _environment(aws: LocalAws, options: Options, gateway_url: str) -> Iterator[None]:
    """The function's environment, as template.yaml sets it, pointed at the local stack."""
    sqs = aws.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=aws.names.queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    env = aws.env() | {
        "RESULTS_TABLE": aws.names.table,
        "GATEWAY_SECRET_ID": aws.names.secret,
        "GATEWAY_URL": gateway_url,
        "GATEWAY_ALLOW_HTTP": str(options.allow_http or not options.gateway_url).lower(),
        "GATEWAY_READ_TIMEOUT_S": str(options.read_timeout_s),
        "NUMBERS_PER_CALL": str(options.numbers_per_call),
        "IN_FLIGHT_BATCHES": str(options.in_flight),
        "TIME_MARGIN_MS": str(_time_margin_ms(options)),
        "DEFAULT_REGION": options.default_region,
        "PRICES_PER_PART": options.prices,
        "ALLOWED_COUNTRIES": options.allowed_countries,
        "GSM_SAFE": str(options.gsm_safe).lower(),
        "MAX_ROWS_PER_JOB": str(options.max_rows),
        "MAX_COST_PER_JOB": options.max_cost,
        "CHECK_FIRST_BELOW_BYTES": str(options.check_first_below),
        "CONTINUATION_QUEUE_URL": queue_url,
        "CONTINUATION_QUEUE_ARN": queue_arn,
        "SCHEDULE_GROUP": aws.names.schedule_group,
        "SCHEDULER_ROLE_ARN": LOCAL_SCHEDULER_ROLE,
        "SEND_WINDOW": options.send_window,
        "SEND_WINDOW_TZ": options.send_window_tz,
        "LEASE_SECONDS": "60",
        "POWERTOOLS_SERVICE_NAME": "smsdrop",
        "POWERTOOLS_METRICS_NAMESPACE": "smsdrop",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


if __name__ == "__main__":
    raise SystemExit(main())
