"""The send window: the hours of the day, in one time zone, when texts may go out (SEND_WINDOW, SEND_WINDOW_TZ).

`09:00-21:00` is open from 09:00 up to, not including, 21:00; `21:00-06:00` crosses midnight (open from 21:00 to
06:00 the next morning). Empty: always open. Times are wall-clock times in the zone (zoneinfo, with the `tzdata`
package in the layer for runtimes without a system zone database), so the window follows a zone's daylight saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smsdrop.config import ConfigError

SPEC = re.compile(r"(?P<opens>[0-2]\d:[0-5]\d)\s*-\s*(?P<closes>[0-2]\d:[0-5]\d)")
DEFAULT_ZONE = "Asia/Kolkata"


@dataclass(frozen=True, slots=True)
class SendWindow:
    """When texts may go out: from `opens` to `closes` (wall-clock times in `zone`); None for both: always."""

    opens: time | None = None
    closes: time | None = None
    zone: tzinfo = UTC
    spec: str = ""

    @classmethod
    def parse(cls, spec: str, zone: str = DEFAULT_ZONE) -> SendWindow:
        """The window `spec` (`HH:MM-HH:MM`, or empty: always) in the IANA zone `zone`; ConfigError naming the
        setting when either cannot be used."""
        spec = spec.strip()
        if not spec:
            return cls()
        match = SPEC.fullmatch(spec)
        if match is None:
            raise ConfigError(f"SEND_WINDOW={spec!r} is not HH:MM-HH:MM (e.g. 09:00-21:00), nor empty")
        try:
            opens, closes = time.fromisoformat(match["opens"]), time.fromisoformat(match["closes"])
        except ValueError:
            raise ConfigError(f"SEND_WINDOW={spec!r} holds an hour past 23") from None
        if opens == closes:
            raise ConfigError(f"SEND_WINDOW={spec!r} opens when it closes: leave it empty to send at any hour")
        return cls(opens, closes, _zone(zone), f"{match['opens']}-{match['closes']} {zone.strip()}")

    @property
    def always(self) -> bool:
        """Whether texts may go out at any hour."""
        return self.opens is None

    def is_open(self, at: datetime) -> bool:
        """Whether texts may go out at the instant `at` (an aware datetime)."""
        if self.opens is None or self.closes is None:
            return True
        local = at.astimezone(self.zone).time().replace(tzinfo=None)
        if self.opens < self.closes:
            return self.opens <= local < self.closes
        return local >= self.opens or local < self.closes  # crosses midnight

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself if the window is open then, else the next instant it opens (in UTC)."""
        if self.opens is None or self.is_open(at):
            return at.astimezone(UTC)
        day = at.astimezone(self.zone).date()
        opening = datetime.combine(day, self.opens, tzinfo=self.zone)
        if opening <= at:  # today's has passed: tomorrow's
            opening = datetime.combine(day + timedelta(days=1), self.opens, tzinfo=self.zone)
        return opening.astimezone(UTC)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"SEND_WINDOW_TZ={name!r} is not an IANA time zone (e.g. Asia/Kolkata)") from None
