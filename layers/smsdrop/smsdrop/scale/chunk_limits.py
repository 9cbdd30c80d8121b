"""What a chunk's runner may ask of the provider: the account's limits shared among the chunks sent at once.

Each chunk is one runner with its own pacer and its own calls in flight, and at most SCALE_OUT_MAX_CONCURRENCY
chunks run at a time (the Send map's MaxConcurrency), so a SCALE_OUT_MAX_CONCURRENCY-th of the account's calls a
second and calls in flight each keeps the whole job under the account's limits, with nothing shared to ask.
"""

from __future__ import annotations

from dataclasses import replace

from smsdrop.config import ConfigError, Settings


def chunk_settings(settings: Settings) -> Settings:
    """`settings` with one chunk's share of ACCOUNT_CALLS_PER_SECOND and ACCOUNT_CALLS_IN_FLIGHT (never more than
    CALLS_PER_SECOND and IN_FLIGHT_BATCHES); ConfigError if the account allows fewer calls in flight than chunks."""
    chunks = max(1, settings.scale_out_max_concurrency)
    return replace(
        settings,
        calls_per_second=_per_second(settings, chunks),
        in_flight=_in_flight(settings, chunks),
    )


def _per_second(settings: Settings, chunks: int) -> float:
    if not settings.account_calls_per_second:
        return settings.calls_per_second
    share = settings.account_calls_per_second / chunks
    return min(settings.calls_per_second, share) if settings.calls_per_second else share


def _in_flight(settings: Settings, chunks: int) -> int:
    account = settings.account_calls_in_flight
    if not account:
        return settings.in_flight
    if account < chunks:
        raise ConfigError(
            f"ACCOUNT_CALLS_IN_FLIGHT={account} is below SCALE_OUT_MAX_CONCURRENCY={chunks}: every chunk sent at once "
            "needs a call in flight; lower the stack's ScaleOutMaxConcurrency"
        )
    return min(settings.in_flight, account // chunks)
