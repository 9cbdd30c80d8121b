"""SEND_WINDOW: inside or outside at an instant, and the next opening; midnight-crossing windows and zones."""

from datetime import UTC, datetime

import pytest

from smsdrop.config import ConfigError, Settings
from smsdrop.send.send_window import SendWindow

WINDOWS = [
    # (window, zone, instant, open?, next opening)
    ("09:00-21:00", "Asia/Kolkata", "2026-12-01T08:00:00+05:30", False, "2026-12-01T09:00:00+05:30"),
    ("09:00-21:00", "Asia/Kolkata", "2026-12-01T09:00:00+05:30", True, "2026-12-01T09:00:00+05:30"),
    ("09:00-21:00", "Asia/Kolkata", "2026-12-01T20:59:59+05:30", True, "2026-12-01T20:59:59+05:30"),
    ("09:00-21:00", "Asia/Kolkata", "2026-12-01T21:00:00+05:30", False, "2026-12-02T09:00:00+05:30"),
    ("09:00-21:00", "Asia/Kolkata", "2026-12-01T23:30:00+05:30", False, "2026-12-02T09:00:00+05:30"),
    ("09:00-21:00", "Asia/Kolkata", "2026-12-01T03:29:00+00:00", False, "2026-12-01T03:30:00+00:00"),
    ("09:00-21:00", "Asia/Kolkata", "2026-12-31T22:00:00+05:30", False, "2027-01-01T09:00:00+05:30"),
    ("21:00-06:00", "UTC", "2026-12-01T20:59:00+00:00", False, "2026-12-01T21:00:00+00:00"),
    ("21:00-06:00", "UTC", "2026-12-01T21:00:00+00:00", True, "2026-12-01T21:00:00+00:00"),
    ("21:00-06:00", "UTC", "2026-12-01T23:59:59+00:00", True, "2026-12-01T23:59:59+00:00"),
    ("21:00-06:00", "UTC", "2026-12-02T00:00:00+00:00", True, "2026-12-02T00:00:00+00:00"),
    ("21:00-06:00", "UTC", "2026-12-02T05:59:59+00:00", True, "2026-12-02T05:59:59+00:00"),
    ("21:00-06:00", "UTC", "2026-12-02T06:00:00+00:00", False, "2026-12-02T21:00:00+00:00"),
    ("21:00-06:00", "UTC", "2026-12-02T12:00:00+00:00", False, "2026-12-02T21:00:00+00:00"),
    ("21:00-06:00", "Asia/Kolkata", "2026-12-01T00:30:00+00:00", False, "2026-12-01T21:00:00+05:30"),
    ("21:00-06:00", "Asia/Kolkata", "2026-12-01T16:00:00+00:00", True, "2026-12-01T16:00:00+00:00"),
    ("09:00-21:00", "Europe/London", "2026-03-28T21:30:00+00:00", False, "2026-03-29T09:00:00+01:00"),
]


@pytest.mark.parametrize(
    ("spec", "zone", "instant", "is_open", "opening"),
    WINDOWS,
    ids=[f"{spec}-{zone}-{instant}" for spec, zone, instant, _, _ in WINDOWS],
)
def test_a_window_says_whether_it_is_open_and_when_it_next_opens(spec, zone, instant, is_open, opening):
    window = SendWindow.parse(spec, zone)
    at = datetime.fromisoformat(instant)
    assert window.is_open(at) is is_open
    assert window.next_opening(at) == datetime.fromisoformat(opening)
    assert window.next_opening(at).tzinfo is UTC


def test_an_empty_window_is_always_open():
    window = SendWindow.parse("", "Asia/Kolkata")
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert window.always
    assert window.is_open(at)
    assert window.next_opening(at) == at


def test_the_settings_default_to_any_hour_in_india():
    settings = Settings()
    assert (settings.send_window, settings.send_window_tz) == ("", "Asia/Kolkata")
    assert SendWindow.parse(settings.send_window, settings.send_window_tz).always


@pytest.mark.parametrize(
    ("spec", "zone", "named"),
    [
        ("9-21", "Asia/Kolkata", "SEND_WINDOW="),
        ("09:00-25:00", "Asia/Kolkata", "SEND_WINDOW="),
        ("09:00-09:00", "Asia/Kolkata", "opens when it closes"),
        ("09:00-21:00", "India/Mumbai", "SEND_WINDOW_TZ="),
        ("09:00-21:00", "", "SEND_WINDOW_TZ="),
    ],
    ids=["no-minutes", "hour-25", "empty-window", "unknown-zone", "no-zone"],
)
def test_a_window_that_cannot_be_used_names_its_setting(spec, zone, named):
    with pytest.raises(ConfigError, match=named):
        SendWindow.parse(spec, zone)
