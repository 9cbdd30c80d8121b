"""Settings of a run, read once per cold start from the function's environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TypeVar

from smsdrop.errors import SmsdropError

DEFAULT_GATEWAY_URL = "https://api.itniotech.com/sms"
T = TypeVar("T")


class ConfigError(SmsdropError, ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of smsdrop, with its environment variable named in `ENV`."""

    results_table: str = "SendResults"
    secret_id: str = "smsdrop/gateway"
    gateway_url: str = DEFAULT_GATEWAY_URL
    allow_http: bool = False
    numbers_per_call: int = 1000
    max_body_bytes: int = 1_000_000
    window_rows: int = 5000
    in_flight: int = 4
    calls_per_second: float = 0.0
    time_margin_ms: int = 60_000
    ttl_days: int = 90
    default_region: str = ""
    number_check: str = "valid"
    reject_duplicates: bool = True
    lease_seconds: int = 300
    continuation_queue_url: str = ""
    connect_timeout_s: float = 3.05
    read_timeout_s: float = 30.0
    max_attempts: int = 5
    retry_server_errors: bool = False
    """Resend a batch answered HTTP 500/502/504: only with the provider's word that it de-duplicates orderIds."""
    secret_max_age_s: int = 300
    prices_per_part: str = ""
    allowed_countries: str = ""
    """Calling codes rows may be sent to, e.g. `91,44`; empty: every country."""
    gsm_safe: bool = False
    """Replace smart quotes, dashes, ellipses and odd spaces by their GSM-7 twins before sending."""
    max_claims_without_progress: int = 5
    """A job claimed this often without recording a row ends FAILED ("no progress after N attempts")."""
    row_shards: int = 16
    """Partition keys a new job's row items are spread over (1..256), ~1,000 rows/s each (docs/table-design.md)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read settings from environment variables (names in `ENV`); unset ones keep their defaults."""
        return read_env(cls, ENV, environ)


def read_env(cls: type[T], names: Mapping[str, str], environ: Mapping[str, str]) -> T:
    """An instance of the dataclass `cls` from the variables `names` gives its fields; unset or empty keep defaults."""
    values: dict[str, object] = {}
    for field in fields(cls):  # type: ignore[arg-type]
        raw = environ.get(names[field.name], "").strip()
        if raw:
            values[field.name] = _parse(names[field.name], type(getattr(cls(), field.name)), raw)
    return cls(**values)


ENV: dict[str, str] = {
    "results_table": "RESULTS_TABLE",
    "secret_id": "GATEWAY_SECRET_ID",
    "gateway_url": "GATEWAY_URL",
    "allow_http": "GATEWAY_ALLOW_HTTP",
    "numbers_per_call": "NUMBERS_PER_CALL",
    "max_body_bytes": "MAX_BODY_BYTES",
    "window_rows": "BATCH_WINDOW_ROWS",
    "in_flight": "IN_FLIGHT_BATCHES",
    "calls_per_second": "CALLS_PER_SECOND",
    "time_margin_ms": "TIME_MARGIN_MS",
    "ttl_days": "RESULT_TTL_DAYS",
    "default_region": "DEFAULT_REGION",
    "number_check": "NUMBER_CHECK",
    "reject_duplicates": "REJECT_DUPLICATES",
    "lease_seconds": "LEASE_SECONDS",
    "continuation_queue_url": "CONTINUATION_QUEUE_URL",
    "connect_timeout_s": "GATEWAY_CONNECT_TIMEOUT_S",
    "read_timeout_s": "GATEWAY_READ_TIMEOUT_S",
    "max_attempts": "GATEWAY_MAX_ATTEMPTS",
    "retry_server_errors": "GATEWAY_RETRY_SERVER_ERRORS",
    "secret_max_age_s": "SECRET_MAX_AGE_S",
    "prices_per_part": "PRICES_PER_PART",
    "allowed_countries": "ALLOWED_COUNTRIES",
    "gsm_safe": "GSM_SAFE",
    "max_claims_without_progress": "MAX_CLAIMS_WITHOUT_PROGRESS",
    "row_shards": "ROW_SHARDS",
}

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
