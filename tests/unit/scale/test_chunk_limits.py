"""Each chunk keeps to its share of the account's provider limits, never to more than one runner's own."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smsdrop.config import ConfigError, Settings
from smsdrop.scale.chunk_limits import chunk_settings

BASE = Settings(in_flight=4, calls_per_second=0.0, scale_out_max_concurrency=10)

SHARES = [
    pytest.param({}, 0.0, 4, id="no account limits: one runner's own"),
    pytest.param({"account_calls_per_second": 50.0}, 5.0, 4, id="calls a second shared among 10 chunks"),
    pytest.param(
        {"account_calls_per_second": 50.0, "calls_per_second": 2.0}, 2.0, 4, id="a runner's own limit below its share"
    ),
    pytest.param({"account_calls_in_flight": 25}, 0.0, 2, id="calls in flight shared, rounded down"),
    pytest.param({"account_calls_in_flight": 100}, 0.0, 4, id="a share above its own keeps its own"),
    pytest.param({"account_calls_in_flight": 10}, 0.0, 1, id="exactly one call in flight a chunk"),
    pytest.param(
        {"account_calls_per_second": 7.0, "scale_out_max_concurrency": 1}, 7.0, 4, id="one chunk at a time: all of it"
    ),
]


@pytest.mark.parametrize(("changes", "per_second", "in_flight"), SHARES)
def test_a_chunk_gets_its_share_of_the_account_limits(changes: dict, per_second: float, in_flight: int) -> None:
    settings = chunk_settings(replace(BASE, **changes))
    assert (settings.calls_per_second, settings.in_flight) == (per_second, in_flight)


def test_the_chunks_sent_at_once_never_exceed_the_account_limits_together() -> None:
    for account in range(10, 200, 7):
        for chunks in range(1, account + 1, 3):
            settings = chunk_settings(replace(BASE, account_calls_in_flight=account, scale_out_max_concurrency=chunks))
            assert settings.in_flight * chunks <= account


def test_an_account_with_fewer_calls_in_flight_than_chunks_is_refused_with_what_to_change() -> None:
    with pytest.raises(ConfigError, match="lower the stack's ScaleOutMaxConcurrency"):
        chunk_settings(replace(BASE, account_calls_in_flight=9))
