"""The one retry loop of the provider's clients: bounded attempts, full-jitter exponential backoff between them,
and an optional deadline no attempt and no wait may run past.

Each attempt is a fresh call of the caller's function, which signs its request anew (a new timestamp). With a
deadline (`time_left`, seconds), no attempt starts with less than `min_attempt_s` left and no wait ends past it:
the loop gives up with `Expired` instead, so the Lambda timeout never kills a call mid-answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, overload

from smsdrop.errors import SmsdropError

logger = logging.getLogger(__name__)

T = TypeVar("T")
MIN_ATTEMPT_S = 0.1
"""The least time left in which an attempt is still started (a call needs a round trip, at the very least)."""
TimeLeft = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Again:
    """An attempt's result that asks for another attempt.

    `code` is the provider's status or "HTTP nnn"; `backoff` False retries at once (a re-signed timestamp);
    `ambiguous` says the request may have been processed (a 5xx retried only by the operator's choice).
    """

    reason: str
    code: str | None = None
    backoff: bool = True
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class Spent:
    """Every attempt asked for another: the last one's reason, and whether any answer was ambiguous."""

    attempts: int
    last: Again
    ambiguous: bool

    @property
    def reason(self) -> str:
        """What a person reads: how many attempts were made and why the last one failed."""
        return f"gave up after {self.attempts} attempts: {self.last.reason}"


@dataclass(frozen=True, slots=True)
class Expired:
    """The deadline came before an attempt could be made: how many were made, the last one's answer, and whether
    any answer was ambiguous (without one, nothing was processed)."""

    attempts: int
    last: Again | None
    ambiguous: bool

    @property
    def reason(self) -> str:
        """What a person reads."""
        said = f": {self.last.reason}" if self.last else ""
        return f"out of time after {self.attempts} attempt(s){said}"


class CallNotMade(SmsdropError):  # noqa: N818 - what happened, said plainly
    """A call was given up for lack of time before the provider processed it: its numbers were not sent."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff: after the n-th failure, wait a random share of min(max_s, base_s * 2^(n-1))."""

    base_s: float = 0.5
    max_s: float = 10.0

    def delay(self, failures: int, share: float) -> float:
        """The wait after `failures` failed attempts, `share` (0..1) being the random draw."""
        return share * min(self.max_s, self.base_s * 2.0 ** (failures - 1))


class Retry:
    """Runs an attempt up to `max_attempts` times; `sleep` and `jitter` (a source of 0..1) are injected for tests."""

    def __init__(
        self,
        name: str,
        max_attempts: int,
        backoff: Backoff,
        *,
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.name = name
        self.max_attempts = max_attempts
        self._backoff = backoff
        self._sleep = sleep
        self._jitter = jitter
        self._lock = threading.Lock()  # `run` may be called from many threads at once
        self._retried = 0

    def take_retries(self) -> int:
        """Attempts retried since the last take (the caller adds them to the metrics on its own thread)."""
        with self._lock:
            retried, self._retried = self._retried, 0
            return retried

    @overload
    def run(self, attempt: Callable[[int], T | Again], time_left: None = None) -> T | Spent: ...

    @overload
    def run(self, attempt: Callable[[int], T | Again], time_left: TimeLeft) -> T | Spent | Expired: ...

    def run(self, attempt: Callable[[int], T | Again], time_left: TimeLeft | None = None) -> T | Spent | Expired:
        """`attempt(n)` for n = 1, 2, ... until it returns anything but `Again`, or the attempts are spent, or (with
        `time_left`) the next attempt could not start `MIN_ATTEMPT_S` before the deadline."""
        ambiguous, last = False, None
        number = 1
        while True:
            if time_left is not None and time_left() < MIN_ATTEMPT_S:
                return Expired(number - 1, last, ambiguous)
            result = attempt(number)
            if not isinstance(result, Again):
                return result
            ambiguous, last = ambiguous or result.ambiguous, result
            if number >= self.max_attempts:
                return Spent(number, result, ambiguous)
            delay = self._backoff.delay(number, self._jitter()) if result.backoff else 0.0
            if time_left is not None and time_left() - delay < MIN_ATTEMPT_S:
                return Expired(number, result, ambiguous)
            self._pause(number, result, delay)
            number += 1

    def _pause(self, failures: int, result: Again, delay: float) -> None:
        logger.warning(
            "%s failed, retrying",
            self.name,
            extra={"attempt": failures, "code": result.code, "reason": result.reason, "delay_s": delay},
        )
        with self._lock:
            self._retried += 1
        if result.backoff:
            self._sleep(delay)
