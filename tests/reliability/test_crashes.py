"""Real crashes: the real handler in a process of its own, SIGKILLed at random points, resumed by fresh processes
against the same moto server and simulator (which live in this test process). And a holder that is only slow
when its lease lapses: the new holder takes over, and the two never send the same row."""

import json
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import replace

import pytest

from local.invoke import continuation_event, s3_put_event
from smsdrop.send.runner import JobRunner, RunEnd
from tests.reliability.support import (
    FUNCTION_READ_TIMEOUT_S,
    RECOVERED,
    campaign,
    check_promises,
    finish_invocation,
    function_env,
    start_invocation,
    stored_items,
    stored_job,
)

ROWS = 10_000
PER_CALL, IN_FLIGHT = 25, 4
KILLS = 24
TIMER_CALL_CAP = 8
MODES = ("at-call", "after-call", "timer")
FINISHED = {"COMPLETED", "STOPPED", "FAILED", "ALREADY_FINISHED"}


class Killer:
    """SIGKILLs the process of the current invocation: while the simulator holds its n-th call (the provider
    accepts it after the caller died), a moment after its n-th call was answered (while results are written),
    or after a random time (anywhere: starting, claiming, re-reading, sending, checkpointing, finishing) but no
    later than its `TIMER_CALL_CAP`-th call. Every mode kills within a few calls, so however fast the machine,
    the job cannot finish before the kills are done (they need at most KILLS * ~12 of its 400 calls)."""

    def __init__(self, simulator, rng):
        self.rng, self.lock = rng, threading.Lock()
        self.process, self.mode, self.timer, self.calls_left = None, None, None, 0
        simulator.on_call = lambda _: self._call("at-call", "timer")
        simulator.after_call = lambda _: self._call("after-call")

    def arm(self, process, mode):
        with self.lock:
            self.process, self.mode, self.calls_left = process, mode, self.rng.randint(1, 4)
            if mode == "timer":
                self.calls_left = TIMER_CALL_CAP
                self.timer = threading.Timer(self.rng.uniform(0.1, 3.0), self.kill)
                self.timer.start()

    def disarm(self):
        with self.lock:
            self.process, self.mode = None, None
            if self.timer:
                self.timer.cancel()

    def _call(self, *modes):
        with self.lock:
            if self.mode not in modes:
                return
            self.calls_left -= 1
            if self.calls_left:
                return
            if self.mode != "after-call":
                self._kill()
            else:
                self.timer = threading.Timer(self.rng.uniform(0, 0.15), self.kill)
                self.timer.start()

    def kill(self):
        with self.lock:
            self._kill()

    def _kill(self):
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a safety net against a hang: 164 s alone, over 400 s beside two other workers at load 12
def test_an_invocation_sigkilled_at_random_points_again_and_again_is_finished_by_fresh_processes_sending_each_row_once(
    harness, simulator, tmp_path
):
    upload = harness.upload(campaign(ROWS, bad_every=53))
    env = function_env(harness, NUMBERS_PER_CALL=str(PER_CALL), IN_FLIGHT_BATCHES=str(IN_FLIGHT))
    simulator.late_s = FUNCTION_READ_TIMEOUT_S
    lease_s = harness.settings.lease_seconds
    killer = Killer(simulator, random.Random(20261125))
    kills, ends, offset = Counter(), Counter(), 0.0
    started = time.monotonic()

    for delivery in range(300):
        # A continuation the dead process queued, or else the S3 event again (Lambda's retry, or the sweep).
        message = harness.next_continuation()
        event = continuation_event(json.dumps(message), f"m{delivery}") if message else s3_put_event(upload)
        mode = MODES[kills.total() % len(MODES)] if kills.total() < KILLS else None
        process = start_invocation(event, env, tmp_path, remaining_ms=4000, clock_offset_s=offset)
        killer.arm(process, mode)
        outcome = finish_invocation(process)
        killer.disarm()
        if outcome.returncode == -signal.SIGKILL:
            kills[mode] += 1
            offset += lease_s + 1  # the next process comes once the dead one's lease has lapsed
            continue
        assert outcome.returncode == 0, outcome.stderr[-3000:]
        (end,) = outcome.ends
        ends[end] += 1
        if end in FINISHED:
            break
        if end == RunEnd.BUSY:
            offset += lease_s + 1
    else:
        pytest.fail(f"the job never finished: kills {kills}, ends {ends}")

    table = harness.aws.names.table
    job = stored_job(table, upload.job_id)
    assert job["state"] == "COMPLETED"
    items = stored_items(table, upload.job_id)
    state = check_promises(simulator, items, job, ROWS)
    assert kills.total() >= KILLS
    assert min(kills[m] for m in MODES) >= KILLS // len(MODES) - 1
    assert state.unknown_recovered <= kills.total() * IN_FLIGHT * PER_CALL  # at most what was in flight at each kill
    assert state.statuses["REJECTED"] == len(range(0, ROWS, 53))
    print(
        f"\ncrashes: {ROWS} rows, {kills.total()} kills {dict(kills)}, other ends {dict(ends)}, "
        f"items {dict(state.statuses)} ({sum(i['batch'] == RECOVERED for i in items)} recovered), "
        f"{time.monotonic() - started:.1f} s"
    )


class Slow:
    """Wraps the gateway (`send`) or the result writer (`write`) of a runner: its n-th call blocks until released
    - before the request leaves, after the provider answered, or after the lease was renewed for the write."""

    def __init__(self, inner, method, nth, before):
        self.inner, self.method, self.left, self.before = inner, method, nth, before
        self.blocked, self.released, self.lock = threading.Event(), threading.Event(), threading.Lock()
        setattr(self, method, self._call)

    def _call(self, *args):
        with self.lock:
            self.left -= 1
            mine = self.left == 0
        if mine and self.before:
            self._block()
        answer = getattr(self.inner, self.method)(*args)
        if mine and not self.before:
            self._block()
        return answer

    def _block(self):
        self.blocked.set()
        assert self.released.wait(60)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class ReleaseAfter:
    """The new holder's gateway: after its n-th call, the slow old holder wakes up, and both run at once."""

    def __init__(self, inner, nth, slow):
        self.inner, self.left, self.slow = inner, nth, slow

    def send(self, items, time_left=None):
        outcomes = self.inner.send(items, time_left)
        self.left -= 1
        if self.left == 0:
            self.slow.released.set()
        return outcomes


SLOW_POINTS = [("gateway", "send", True), ("gateway", "send", False), ("results", "write", True)]


@pytest.mark.parametrize("wakes", ["while-the-new-holder-runs", "after-the-new-holder-finished"])
@pytest.mark.parametrize(
    ("part", "method", "before"),
    SLOW_POINTS,
    ids=["slow-before-the-request-leaves", "slow-after-the-provider-answered", "slow-between-lease-renewal-and-write"],
)
def test_a_holder_that_is_only_slow_when_its_lease_lapses_and_the_new_holder_never_send_the_same_row(
    harness, simulator, part, method, before, wakes
):
    upload = harness.upload(campaign(1000))
    settings, ports = harness.ports(in_flight=1)
    slow = Slow(getattr(ports, part), method, nth=5, before=before)
    old = JobRunner(settings, replace(ports, **{part: slow}))
    old_end = []
    thread = threading.Thread(target=lambda: old_end.append(harness.run(upload, old).end))
    thread.start()
    assert slow.blocked.wait(30)

    settings, ports = harness.ports()
    if wakes == "while-the-new-holder-runs":
        ports = replace(ports, gateway=ReleaseAfter(ports.gateway, nth=3, slow=slow))
    new = JobRunner(settings, ports, clock=lambda: time.time() + harness.settings.lease_seconds + 1)  # lease lapsed
    new_end = harness.run(upload, new).end
    slow.released.set()
    thread.join(60)

    assert (old_end, new_end) == ([RunEnd.LEASE_LOST], RunEnd.COMPLETED)
    table = harness.aws.names.table
    job, items = stored_job(table, upload.job_id), stored_items(table, upload.job_id)
    state = check_promises(simulator, items, job, 1000, exact_counts=False)
    assert state.unknown_recovered <= 100  # at most the one batch the slow holder had in flight
    if (method, wakes) == ("write", "after-the-new-holder-finished"):
        # Known lag (docs/reliability.md): the slow holder's batch write, let through by the lease it renewed just
        # before it lapsed, overwrites the new holder's UNKNOWN with what the provider said after the job was
        # closed; the items are right, the closed job's counts (and results file) still say UNKNOWN.
        assert state.count_lag == {"UNKNOWN": 100, "SUBMITTED": -100}
    else:
        assert state.count_lag == {}
