"""Settings of the delivery functions that the send side does not have (the rest come from `Settings`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from smsdrop.config import ConfigError, env_names, read_env, setting


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Delivery knobs, each field with the environment variable it is read from."""

    max_age_hours: float = setting("DELIVERY_MAX_AGE_HOURS", 72.0)
    """A number still without a final report this long after it was submitted becomes UNDELIVERED."""
    time_margin_ms: int = setting("DELIVERY_TIME_MARGIN_MS", 60_000)
    """Remaining time at which a poll stops asking (one call may take 3 tries of 13 s); the next run goes on."""
    min_interval_s: int = setting("DELIVERY_MIN_INTERVAL_S", 300)
    max_interval_s: int = setting("DELIVERY_MAX_INTERVAL_S", 6 * 3600)
    threads: int = setting("DELIVERY_THREADS", 8)
    push_token_secret_id: str = setting("PUSH_TOKEN_SECRET_ID", "")
    """The secret holding the webhook's `pushToken`; empty = the gateway secret (one secret, as locally)."""

    @property
    def max_age_s(self) -> int:
        """`max_age_hours` in seconds."""
        return int(self.max_age_hours * 3600)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DeliverySettings:
        """Read from the environment; unset or empty variables keep their defaults."""
        settings = read_env(cls, environ)
        for field in fields(cls):
            if field.type != "str" and getattr(settings, field.name) <= 0:
                raise ConfigError(f"{DELIVERY_ENV[field.name]}={getattr(settings, field.name)!r} must be positive")
        return settings


DELIVERY_ENV: dict[str, str] = env_names(DeliverySettings)
