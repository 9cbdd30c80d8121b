"""Builds the delivery poller and the push receiver from settings: once per cold start, and the same way locally."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from smsdrop.config import Settings
from smsdrop.delivery.poller import DeliveryPoller
from smsdrop.delivery.push import PushReceiver, PushToken
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.output.page_refresh import PageRefresher
from smsdrop.provider.credentials import SecretCredentials
from smsdrop.provider.report_client import ReportClient
from smsdrop.store.delivery import DeliveryStore

# As smsdrop.send.wiring's, without importing the send side (a lighter cold start for the webhook).
AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=16)
REPORT_READ_TIMEOUT_S = 10.0  # a getReport answer is small; a send's longer timeout is not needed


def default_clients() -> tuple[Any, Any]:
    """(dynamodb, secretsmanager) clients from the environment (AWS_ENDPOINT_URL points them at moto locally)."""
    return boto3.client("dynamodb", config=AWS_CONFIG), boto3.client("secretsmanager", config=AWS_CONFIG)


def build_poller(
    settings: Settings,
    delivery: DeliverySettings,
    dynamodb: Any,
    secretsmanager: Any,
    clock: Callable[[], float] = time.time,
    s3: Any | None = None,
) -> DeliveryPoller:
    """The poller with its real adapters (`clock` is the poller's idea of now; calls are signed at real time), and
    an S3 client (from the environment unless given) to redraw report pages."""
    credentials = SecretCredentials(
        SecretsProvider(boto3_client=secretsmanager), settings.secret_id, settings.secret_max_age_s
    )
    client = ReportClient(
        settings.gateway_url,
        credentials,
        allow_http=settings.allow_http,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=min(settings.read_timeout_s, REPORT_READ_TIMEOUT_S),
    )
    pages = PageRefresher(s3 or boto3.client("s3", config=AWS_CONFIG), dynamodb, settings.results_table)
    return DeliveryPoller(DeliveryStore(dynamodb, settings.results_table), client, delivery, clock, pages=pages)


def build_push_receiver(
    settings: Settings, delivery: DeliverySettings, dynamodb: Any, secretsmanager: Any, s3: Any | None = None
) -> PushReceiver:
    """The webhook's receiver with its real adapters; the token comes from its own secret where one is set; an S3
    client (from the environment unless given) redraws the pages of finished jobs whose counts a push moved."""
    secret_id = delivery.push_token_secret_id or settings.secret_id
    token = PushToken(SecretsProvider(boto3_client=secretsmanager), secret_id, settings.secret_max_age_s)
    pages = PageRefresher(s3 or boto3.client("s3", config=AWS_CONFIG), dynamodb, settings.results_table)
    return PushReceiver(DeliveryStore(dynamodb, settings.results_table), token, pages=pages)
