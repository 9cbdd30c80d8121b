"""Builds the runner and its adapters from settings: once per cold start, and the same way locally."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from smsdrop.config import Settings
from smsdrop.intake.dry_run import is_dry_run
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.reader_snapshots import ReaderSnapshots
from smsdrop.intake.row_checks import Destinations
from smsdrop.intake.send_at import read_send_at
from smsdrop.intake.uploads import Upload
from smsdrop.output.results_stream import ResultsFiles
from smsdrop.output.sms_parts import PriceTable
from smsdrop.provider.credentials import SecretCredentials
from smsdrop.provider.send_client import GatewayClient
from smsdrop.send.check_first import Caps, CheckedFirst
from smsdrop.send.clients import Clients, session_credentials
from smsdrop.send.continuation import QueueContinuation
from smsdrop.send.optout_drops import OptOutDrops
from smsdrop.send.ports import RunnerPorts
from smsdrop.send.runner import JobRunner
from smsdrop.send.schedules import ContinuationSchedules
from smsdrop.store.jobs import JobStore
from smsdrop.store.optouts import OptOutList
from smsdrop.store.results import ResultWriter
from smsdrop.store.wire_writer import WireWriter

RESULT_WRITERS = 16  # threads (and connections) writing row items: docs/performance.md, "Recording a number"


def build_ports(settings: Settings, clients: Clients) -> RunnerPorts:
    """The runner's real adapters: the job store, result items, the gateway, the reader, the continuation queue,
    the results file, the dry-run check and the opt-out list."""
    credentials = SecretCredentials(
        SecretsProvider(boto3_client=clients.secretsmanager), settings.secret_id, settings.secret_max_age_s
    )
    gateway = GatewayClient(
        settings.gateway_url,
        credentials,
        allow_http=settings.allow_http,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        max_attempts=settings.max_attempts,
        retry_server_errors=settings.retry_server_errors,
        pool_size=max(4, settings.in_flight * 2),
    )
    rules = row_rules(settings)

    caps = Caps.from_settings(settings, prices(settings))

    def recipients(upload: Upload, job_id: str, snapshots: ReaderSnapshots | None = None) -> RecipientReader:
        job_rules = replace(rules, job_id=job_id)
        return RecipientReader(clients.s3, upload.bucket, upload.key, upload.version_id, job_rules, snapshots=snapshots)

    def reader(upload: Upload, job_id: str) -> CheckedFirst:
        """The job's reader, which reads the whole file first when the caps say so (smsdrop.send.check_first) and
        keeps its state at a hand-over for the next invocation (smsdrop.intake.reader_snapshots)."""
        snapshots = ReaderSnapshots(clients.s3, upload.bucket, job_id)
        return CheckedFirst(recipients(upload, job_id, snapshots), lambda: recipients(upload, job_id), caps, upload)

    def dry_run(upload: Upload) -> bool:
        return is_dry_run(clients.s3, upload)

    return RunnerPorts(
        store=JobStore(clients.dynamodb, settings.results_table),
        results=ResultWriter(
            clients.dynamodb,
            settings.results_table,
            settings.ttl_days,
            threads=RESULT_WRITERS,
            wire=WireWriter.for_client(clients.dynamodb, session_credentials(), pool_size=RESULT_WRITERS),
        ),
        gateway=gateway,
        reader_factory=reader,
        continuation=QueueContinuation(clients.sqs, settings.continuation_queue_url),
        results_file=ResultsFiles(clients.s3, prices(settings)),
        send_at=lambda upload: read_send_at(clients.s3, upload),
        schedules=ContinuationSchedules(clients.scheduler_client, settings),
        dry_run=dry_run,
        optouts=OptOutList(clients.dynamodb, settings.results_table),
    )


def row_rules(settings: Settings) -> RowRules:
    """How the rows of a file are checked, from the settings."""
    return RowRules(
        default_region=settings.default_region,
        number_check=settings.number_check,
        reject_duplicates=settings.reject_duplicates,
        allowed_countries=Destinations.parse(settings.allowed_countries).allowed,
        gsm_safe=settings.gsm_safe,
    )


def build_runner(settings: Settings, clients: Clients, clock: Callable[[], float] = time.time) -> JobRunner:
    """The job runner with its real adapters (the clock is for tests that let a lease run out)."""
    return JobRunner(settings, build_ports(settings, clients), clock)


def build_optout_drops(settings: Settings, clients: Clients) -> OptOutDrops:
    """What applies opt-out files to the list (national numbers read in DEFAULT_REGION, as a job's are)."""
    return OptOutDrops(clients.s3, OptOutList(clients.dynamodb, settings.results_table), settings.default_region)


def prices(settings: Settings) -> PriceTable:
    """The price per SMS part by calling code (PRICES_PER_PART), for the summary's cost estimate."""
    return PriceTable.from_json(settings.prices_per_part or '{"default": 0}')
