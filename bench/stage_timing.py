"""Time each stage of a job from outside the core: wrappers of the runner's ports that add up the seconds spent
in them (and on the main thread), and a timed batcher."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
LEASE_CALLS = ("mark_in_flight", "renew", "complete", "record_stop", "record_parts", "release", "finish")


@dataclass
class StageClock:
    """Seconds spent in each stage, summed over threads, and the part of it spent on the main thread."""

    seconds: Counter[str] = field(default_factory=Counter)
    main: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, stage: str, seconds: float, calls: int = 1) -> None:
        """Add `seconds` to `stage`."""
        on_main = threading.current_thread() is threading.main_thread()
        with self.lock:
            self.seconds[stage] += seconds
            self.calls[stage] += calls
            if on_main:
                self.main[stage] += seconds


def timed_iteration(items: Iterator[T], done: Callable[[float, int], None]) -> Iterator[T]:
    """`items`, timing each `next`; `done(seconds, count)` once the iteration ends (or is abandoned)."""
    spent, count, now = 0.0, 0, time.perf_counter
    try:
        while True:
            t0 = now()
            try:
                item = next(items)
            except StopIteration:
                spent += now() - t0
                return
            spent += now() - t0
            count += 1
            yield item
    finally:
        done(spent, count)


def timed_batcher(clock: StageClock) -> Callable[..., Iterator[Any]]:
    """smsdrop's batcher, its batches timed as "batch" (the reading they pull in included)."""
    from smsdrop.send.batching import batches

    def batcher(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return timed_iteration(batches(*args, **kwargs), lambda spent, count: clock.add("batch", spent, count))

    return batcher


class TimedReader:
    """A Reader whose row iteration is timed as "read" (streaming from S3, parsing and validating)."""

    def __init__(self, inner: Any, clock: StageClock) -> None:
        self._inner, self._clock = inner, clock

    def rows(self, start: Any = None) -> Iterator[Any]:
        """The inner reader's rows; the time spent producing them is added up, then reported once."""
        return timed_iteration(self._inner.rows(start), lambda spent, count: self._clock.add("read", spent, count))

    @property
    def position(self) -> Any:
        return self._inner.position

    @property
    def blank_lines(self) -> int:
        return self._inner.blank_lines

    def report(self) -> dict[str, Any]:
        return self._inner.report()

    def keep(self, checkpoint: Any) -> None:
        """What the inner reader keeps at a hand-over, timed as "keep"."""
        started = time.perf_counter()
        self._inner.keep(checkpoint)
        self._clock.add("keep", time.perf_counter() - started, 1)


class Timed:
    """Any adapter with some of its methods timed under a stage name; everything else passes through."""

    def __init__(self, inner: Any, clock: StageClock, stage: str, methods: Sequence[str]) -> None:
        self._inner, self._clock, self._stage, self._methods = inner, clock, stage, frozenset(methods)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self._methods:
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._clock.add(self._stage, time.perf_counter() - t0)

        return timed


class TimedJobs:
    """The job store, `claim` and `get` timed as "job_store", and so is every call on the lease a claim gives."""

    def __init__(self, inner: Any, clock: StageClock) -> None:
        self._inner = Timed(inner, clock, "job_store", ["claim", "get"])
        self._clock = clock

    def claim(self, *args: Any) -> Any:
        """The inner store's claim; a lease comes back timed."""
        from smsdrop.store.jobs import Busy

        claim = self._inner.claim(*args)
        return claim if isinstance(claim, Busy) else Timed(claim, self._clock, "job_store", LEASE_CALLS)

    def get(self, job_id: str) -> Any:
        """The inner store's get."""
        return self._inner.get(job_id)
