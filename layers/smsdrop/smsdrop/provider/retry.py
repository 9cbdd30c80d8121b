"""The one retry loop of the provider's clients: bounded attempts, full-jitter exponential backoff between them.

Each attempt is a fresh call of the caller's function, which signs its request anew (a new timestamp).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


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

    def run(self, attempt: Callable[[int], T | Again]) -> T | Spent:
        """`attempt(n)` for n = 1, 2, ... until it returns anything but `Again`, or the attempts are spent."""
        ambiguous = False
        number = 1
        while True:
            result = attempt(number)
            if not isinstance(result, Again):
                return result
            ambiguous = ambiguous or result.ambiguous
            if number >= self.max_attempts:
                return Spent(number, result, ambiguous)
            self._pause(number, result)
            number += 1

    def _pause(self, failures: int, result: Again) -> None:
        delay = self._backoff.delay(failures, self._jitter()) if result.backoff else 0.0
        logger.warning(
            "%s failed, retrying",
            self.name,
            extra={"attempt": failures, "code": result.code, "reason": result.reason, "delay_s": delay},
        )
        if result.backoff:
            self._sleep(delay)
