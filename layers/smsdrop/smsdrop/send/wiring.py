"""Builds the runner and its adapters from settings: once per cold start, and the same way locally."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from smsdrop.config import Settings
from smsdrop.intake.dry_run import is_dry_run
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.uploads import Upload
from smsdrop.output.results_file import ReportWriter
from smsdrop.output.sms_parts import PriceTable
from smsdrop.provider.credentials import SecretCredentials
from smsdrop.provider.send_client import GatewayClient
from smsdrop.send.continuation import QueueContinuation
from smsdrop.send.runner import JobRunner
from smsdrop.send.sweep import Sweep
from smsdrop.store.jobs import JobStore
from smsdrop.store.results import ResultWriter

# Throttling and transient errors are retried by botocore; a write that still fails fails the run loudly.
AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=32)


@dataclass(frozen=True, slots=True)
class Clients:
    """The AWS clients a runner needs (pointed wherever boto3's configuration says: AWS, or moto server)."""

    s3: Any
    dynamodb: Any
    secretsmanager: Any
    sqs: Any

    @classmethod
    def default(cls) -> Clients:
        """Clients from the environment (AWS_ENDPOINT_URL points them at moto server locally)."""
        return cls(*(boto3.client(name, config=AWS_CONFIG) for name in ("s3", "dynamodb", "secretsmanager", "sqs")))


def build_runner(settings: Settings, clients: Clients, clock: Callable[[], float] = time.time) -> JobRunner:
    """The job runner with its real adapters (the clock is for tests that let a lease run out)."""
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
    rules = RowRules(
        default_region=settings.default_region,
        number_check=settings.number_check,
        reject_duplicates=settings.reject_duplicates,
    )

    def reader(upload: Upload, job_id: str) -> RecipientReader:
        return RecipientReader(clients.s3, upload.bucket, upload.key, upload.version_id, replace(rules, job_id=job_id))

    return JobRunner(
        settings,
        JobStore(clients.dynamodb, settings.results_table),
        ResultWriter(clients.dynamodb, settings.results_table, settings.ttl_days),
        gateway,
        reader,
        QueueContinuation(clients.sqs, settings.continuation_queue_url),
        ReportWriter(clients.s3, clients.dynamodb, settings.results_table, prices(settings)),
        lambda upload: is_dry_run(clients.s3, upload),
        clock,
    )


def prices(settings: Settings) -> PriceTable:
    """The price per SMS part by calling code (PRICES_PER_PART), for the summary's cost estimate."""
    return PriceTable.from_json(settings.prices_per_part or '{"default": 0}')


def build_sweep(settings: Settings, clients: Clients, clock: Callable[[], float] = time.time) -> Sweep:
    """The recovery sweep with its real adapters."""
    return Sweep(
        clients.dynamodb,
        settings.results_table,
        QueueContinuation(clients.sqs, settings.continuation_queue_url),
        clock=clock,
    )
