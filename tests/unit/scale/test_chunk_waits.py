"""A chunk's waits are the state machine's: how long its Wait state waits, the runner's schedules kept on the item
only, and a hop that hands the chunk on after CHUNK_HOP_SECONDS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from smsdrop.intake.uploads import Upload
from smsdrop.scale.chunk_waits import StepSchedules, hop_limited, wait_seconds

NOW = 1_000_000.0
POLL = 300


def item(state: str, lease_expires: float | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"job_id": "j.00001", "state": state}
    if lease_expires is not None:
        fields["lease_expires"] = int(lease_expires)
    return fields


WAITS = [
    pytest.param(item("PAUSED"), POLL, id="paused: looks for a resume every poll"),
    pytest.param(item("SCHEDULED", NOW + 90), 91, id="waiting for its time: until then"),
    pytest.param(item("SCHEDULED", NOW + 86_400), POLL, id="a time far ahead: looks for a cancel every poll"),
    pytest.param(item("RUNNING", NOW + 42), 43, id="held by another invocation: until its lease lapses"),
    pytest.param(item("RUNNING", NOW - 5), 1, id="a lease lapsed already: at once, but never 0"),
    pytest.param(None, 1, id="no item yet: at once"),
]


@pytest.mark.parametrize(("chunk", "seconds"), WAITS)
def test_a_chunk_waits_as_long_as_its_item_says_and_never_longer_than_a_poll(chunk: Any, seconds: int) -> None:
    assert wait_seconds(chunk, NOW, POLL) == seconds


def test_a_chunk_s_schedule_is_only_a_record_of_the_time_rounded_up() -> None:
    upload = Upload("b", "incoming/f.csv", None, "e", 10)
    at = datetime(2026, 12, 1, 4, 0, 0, 250_000, tzinfo=UTC)
    record = StepSchedules().create(upload, at, "send-at")
    assert (record.at, record.group, record.why) == (int(at.timestamp()) + 1, "", "send-at")
    StepSchedules().delete(record)  # nothing was made: nothing to delete


def test_a_hop_runs_out_of_time_after_its_seconds_though_the_invocation_has_more() -> None:
    now = [NOW]
    remaining = hop_limited(lambda: 800_000, lambda: now[0], hop_s=120, margin_ms=60_000)
    assert remaining() == 180_000
    now[0] += 119
    assert remaining() > 60_000  # the runner goes on
    now[0] += 2
    assert remaining() < 60_000  # the runner hands over at its next batch


def test_without_a_hop_the_invocation_s_own_time_counts() -> None:
    own = lambda: 5_000  # noqa: E731
    assert hop_limited(own, lambda: NOW, hop_s=0, margin_ms=60_000) is own
    assert hop_limited(own, lambda: NOW, hop_s=120, margin_ms=60_000)() == 5_000
