"""Settings of a run, read once per cold start from the function's environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from smsdrop.errors import SmsdropError

DEFAULT_GATEWAY_URL = "https://api.itniotech.com/sms"
T = TypeVar("T")


class ConfigError(SmsdropError, ValueError):
    """A setting is missing or malformed; the message names it."""


def setting(variable: str, default: T) -> T:
    """A settings field read from the environment variable `variable`, `default` when unset or empty."""
    result: T = field(default=default, metadata={"env": variable})
    return result


def env_names(cls: type) -> dict[str, str]:
    """Each settings field of the dataclass `cls` with its environment variable."""
    return {f.name: f.metadata["env"] for f in fields(cls)}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of smsdrop, each field with the environment variable it is read from."""

    results_table: str = setting("RESULTS_TABLE", "SendResults")
    secret_id: str = setting("GATEWAY_SECRET_ID", "smsdrop/gateway")
    gateway_url: str = setting("GATEWAY_URL", DEFAULT_GATEWAY_URL)
    allow_http: bool = setting("GATEWAY_ALLOW_HTTP", False)
    numbers_per_call: int = setting("NUMBERS_PER_CALL", 1000)
    max_body_bytes: int = setting("MAX_BODY_BYTES", 1_000_000)
    window_rows: int = setting("BATCH_WINDOW_ROWS", 5000)
    in_flight: int = setting("IN_FLIGHT_BATCHES", 4)
    calls_per_second: float = setting("CALLS_PER_SECOND", 0.0)
    time_margin_ms: int = setting("TIME_MARGIN_MS", 60_000)
    ttl_days: int = setting("RESULT_TTL_DAYS", 90)
    default_region: str = setting("DEFAULT_REGION", "")
    number_check: str = setting("NUMBER_CHECK", "valid")
    reject_duplicates: bool = setting("REJECT_DUPLICATES", True)
    lease_seconds: int = setting("LEASE_SECONDS", 300)
    continuation_queue_url: str = setting("CONTINUATION_QUEUE_URL", "")
    continuation_queue_arn: str = setting("CONTINUATION_QUEUE_ARN", "")
    """The queue a waiting job's one-time schedule sends its continuation to (send.schedules)."""
    schedule_group: str = setting("SCHEDULE_GROUP", "")
    """The EventBridge Scheduler group a waiting job's one-time schedule is made in."""
    scheduler_role_arn: str = setting("SCHEDULER_ROLE_ARN", "")
    """The role EventBridge Scheduler assumes to send that continuation (sqs:SendMessage on the queue only)."""
    connect_timeout_s: float = setting("GATEWAY_CONNECT_TIMEOUT_S", 3.05)
    read_timeout_s: float = setting("GATEWAY_READ_TIMEOUT_S", 30.0)
    max_attempts: int = setting("GATEWAY_MAX_ATTEMPTS", 5)
    retry_server_errors: bool = setting("GATEWAY_RETRY_SERVER_ERRORS", False)
    """Resend a batch answered HTTP 500/502/504: only with the provider's word that it de-duplicates orderIds."""
    secret_max_age_s: int = setting("SECRET_MAX_AGE_S", 300)
    prices_per_part: str = setting("PRICES_PER_PART", "")
    allowed_countries: str = setting("ALLOWED_COUNTRIES", "")
    """Calling codes rows may be sent to, e.g. `91,44`; empty: every country."""
    gsm_safe: bool = setting("GSM_SAFE", False)
    """Replace smart quotes, dashes, ellipses and odd spaces by their GSM-7 twins before sending."""
    max_rows_per_job: int = setting("MAX_ROWS_PER_JOB", 0)
    """A file of more data rows is refused whole before anything is sent; 0: no cap."""
    max_cost_per_job: str = setting("MAX_COST_PER_JOB", "")
    """A file whose estimated cost (PRICES_PER_PART's currency) is more is refused whole before anything is sent;
    empty or 0: no cap."""
    check_first_below_bytes: int = setting("CHECK_FIRST_BELOW_BYTES", 50_000_000)
    """A file smaller than this (the object's bytes) is read and checked whole before its first batch is sent (as
    a cap always asks); 0: only with a cap."""
    send_window: str = setting("SEND_WINDOW", "")
    """Hours texts may go out, e.g. `09:00-21:00` (`21:00-06:00` crosses midnight); empty: any hour."""
    send_window_tz: str = setting("SEND_WINDOW_TZ", "Asia/Kolkata")
    """The IANA time zone SEND_WINDOW's hours are in."""
    max_claims_without_progress: int = setting("MAX_CLAIMS_WITHOUT_PROGRESS", 5)
    """A job claimed this often without recording a row ends FAILED ("no progress after N attempts")."""
    row_shards: int = setting("ROW_SHARDS", 16)
    """Partition keys a new job's row items are spread over (1..256), ~1,000 rows/s each (docs/table-design.md)."""
    scale_out_bytes: int = setting("SCALE_OUT_BYTES", 0)
    """Files of at least this many bytes go to the Step Functions engine (docs/scale-out.md); 0: never."""
    state_machine_arn: str = setting("STATE_MACHINE_ARN", "")
    """The scale-out state machine; without it every file stays on one function."""
    chunk_rows: int = setting("CHUNK_ROWS", 250_000)
    """Data rows a chunk of a scaled-out file holds (the plan cuts on record boundaries)."""
    scale_out_max_concurrency: int = setting("SCALE_OUT_MAX_CONCURRENCY", 10)
    """Chunks of one scaled-out file sent at once (the Send map's MaxConcurrency): the account's limits are shared
    among them."""
    chunk_hop_seconds: int = setting("CHUNK_HOP_SECONDS", 120)
    """A chunk's invocation hands the chunk to the next after sending this long, so an operator's cancel or pause
    reaches every chunk within about that; 0: only when the invocation's time runs short."""
    chunk_poll_seconds: int = setting("CHUNK_POLL_SECONDS", 300)
    """How often a paused chunk, or one waiting for its send time, looks again for a resume or a cancel."""
    account_calls_per_second: float = setting("ACCOUNT_CALLS_PER_SECOND", 0.0)
    """The provider's limit of calls a second for the whole account; a scaled-out job's chunks share it (each
    SCALE_OUT_MAX_CONCURRENCY-th of it); 0: no limit but CALLS_PER_SECOND."""
    account_calls_in_flight: int = setting("ACCOUNT_CALLS_IN_FLIGHT", 0)
    """Calls the account may have in flight at the provider; a scaled-out job's chunks share it; 0: no limit but
    IN_FLIGHT_BATCHES a chunk."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read settings from their environment variables; unset ones keep their defaults."""
        return read_env(cls, environ)


def read_env(cls: type[T], environ: Mapping[str, str]) -> T:
    """An instance of the settings dataclass `cls` from its fields' variables; unset or empty keep defaults."""
    values: dict[str, Any] = {}
    for name, variable in env_names(cls).items():
        raw = environ.get(variable, "").strip()
        if raw:
            values[name] = _parse(variable, type(getattr(cls(), name)), raw)
    return cls(**values)


ENV: dict[str, str] = env_names(Settings)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(variable: str, kind: type, raw: str) -> object:
    try:
        if kind is bool:
            if raw.lower() not in _TRUE | _FALSE:
                raise ValueError(raw)
            return raw.lower() in _TRUE
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a valid {kind.__name__}") from None
