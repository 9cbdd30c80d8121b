"""Whether a job waits, until when and why: its send-at, then the send window."""

from datetime import UTC, datetime, timedelta

import pytest

from smsdrop.intake.send_at import SendAtRefused
from smsdrop.send.holds import hold_for, window_closed
from smsdrop.send.send_window import SendWindow

NOW = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 08:00 in India
ALWAYS = SendWindow()
DAYTIME = SendWindow.parse("09:00-21:00", "Asia/Kolkata")
HORIZON = timedelta(days=90)


def at(text):
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("send_at", "window", "until"),
    [
        (None, ALWAYS, None),
        (at("2026-12-01T02:00:00Z"), ALWAYS, None),
        (at("2026-12-01T02:31:00Z"), ALWAYS, None),
        (at("2026-12-01T02:31:01Z"), ALWAYS, at("2026-12-01T02:31:01Z")),
        (at("2026-12-01T09:30:00+05:30"), ALWAYS, at("2026-12-01T04:00:00Z")),
        (None, DAYTIME, at("2026-12-01T03:30:00Z")),
        (at("2026-12-01T10:00:00+05:30"), DAYTIME, at("2026-12-01T04:30:00Z")),
        (at("2026-12-01T22:00:00+05:30"), DAYTIME, at("2026-12-02T03:30:00Z")),
    ],
    ids=[
        "none",
        "past",
        "within-a-minute",
        "just-over-a-minute",
        "future",
        "before-the-window",
        "future-in-the-window",
        "future-after-the-window",
    ],
)
def test_a_job_waits_for_its_send_at_then_the_window(send_at, window, until):
    hold = hold_for(NOW, send_at, window, HORIZON)
    assert (hold.until if hold else None) == until


def test_a_hold_says_why():
    hold = hold_for(NOW, at("2026-12-01T22:00:00+05:30"), DAYTIME, HORIZON)
    assert hold.why == "send-at 2026-12-01T22:00:00+05:30, then send window 09:00-21:00 Asia/Kolkata"


def test_a_send_at_beyond_the_items_lifetime_is_refused():
    with pytest.raises(SendAtRefused, match="more than 90 days ahead"):
        hold_for(NOW, NOW + timedelta(days=91), ALWAYS, HORIZON)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (at("2026-12-01T20:59:59+05:30"), None),
        (at("2026-12-01T21:00:00+05:30"), at("2026-12-02T09:00:00+05:30")),
    ],
    ids=["open", "closed"],
)
def test_a_running_job_stops_when_the_window_closes(now, until):
    hold = window_closed(now, DAYTIME)
    assert (hold.until if hold else None) == until
