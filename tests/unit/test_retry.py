"""The provider clients' one retry loop, driven by a fake clock that only the injected sleeper moves."""

import logging

import pytest

from smsdrop.provider.retry import Again, Backoff, Expired, Retry, Spent


class FakeTime:
    """A clock that stands still until `sleep` moves it: no real time passes."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """An attempt that answers from a script and notes when (on the fake clock) each attempt was made."""

    def __init__(self, time, *results):
        self.time = time
        self.results = list(results)
        self.made = []

    def __call__(self, attempt):
        self.made.append((attempt, self.time.now))
        return self.results.pop(0)


def retry(time, max_attempts=5, base_s=0.5, max_s=10.0, share=1.0):
    return Retry("test call", max_attempts, Backoff(base_s, max_s), sleep=time.sleep, jitter=lambda: share)


def test_attempts_are_made_until_one_succeeds_each_after_an_exponentially_growing_wait():
    time = FakeTime()
    attempt = Script(time, Again("busy"), Again("busy"), Again("busy"), "done")
    assert retry(time).run(attempt) == "done"
    assert attempt.made == [(1, 0.0), (2, 0.5), (3, 1.5), (4, 3.5)]


@pytest.mark.parametrize(
    ("share", "sleeps"),
    [(1.0, [0.5, 1.0, 2.0]), (0.5, [0.25, 0.5, 1.0]), (0.0, [0.0, 0.0, 0.0])],
    ids=["whole", "half", "none"],
)
def test_each_wait_is_the_random_share_of_the_exponential_bound(share, sleeps):
    time = FakeTime()
    retry(time, share=share).run(Script(time, Again("a"), Again("b"), Again("c"), "done"))
    assert time.sleeps == sleeps


def test_the_wait_is_capped():
    time = FakeTime()
    retry(time, max_attempts=6, base_s=1.0, max_s=3.0).run(Script(time, *[Again("busy")] * 6))
    assert time.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_attempts_are_bounded_and_no_wait_follows_the_last():
    time = FakeTime()
    attempt = Script(time, Again("one", "-15"), Again("two", "-18"), Again("three", "-18"))
    assert retry(time, max_attempts=3).run(attempt) == Spent(3, Again("three", "-18"), ambiguous=False)
    assert [n for n, _ in attempt.made] == [1, 2, 3]
    assert time.sleeps == [0.5, 1.0]


def test_spent_attempts_say_how_many_were_made_and_why_the_last_failed():
    assert Spent(2, Again("HTTP 503"), ambiguous=False).reason == "gave up after 2 attempts: HTTP 503"


def test_an_attempt_asking_to_be_made_again_at_once_gets_no_wait():
    time = FakeTime()
    attempt = Script(time, Again("clock", backoff=False), Again("busy"), "done")
    retry(time).run(attempt)
    assert (attempt.made, time.sleeps) == ([(1, 0.0), (2, 0.0), (3, 1.0)], [1.0])


def test_an_ambiguous_answer_anywhere_in_the_run_is_remembered_when_the_attempts_are_spent():
    time = FakeTime()
    spent = retry(time, max_attempts=3).run(Script(time, Again("a"), Again("b", ambiguous=True), Again("c")))
    assert spent == Spent(3, Again("c"), ambiguous=True)


def test_a_result_that_is_not_again_ends_the_run_at_once_even_if_falsy():
    time = FakeTime()
    attempt = Script(time, {}, "never")
    assert retry(time).run(attempt) == {}
    assert (len(attempt.made), time.sleeps) == (1, [])


def test_an_exception_of_an_attempt_ends_the_run_and_is_raised():
    time = FakeTime()

    def attempt(number):
        raise RuntimeError(f"stop at {number}")

    with pytest.raises(RuntimeError, match="stop at 1"):
        retry(time).run(attempt)


@pytest.mark.parametrize("attempts", [0, -1], ids=["zero", "negative"])
def test_fewer_than_one_attempt_is_refused(attempts):
    with pytest.raises(ValueError, match="at least 1"):
        retry(FakeTime(), max_attempts=attempts)


def test_each_retry_is_logged_with_its_attempt_code_reason_and_wait(caplog):
    time = FakeTime()
    with caplog.at_level(logging.WARNING, logger="smsdrop.provider.retry"):
        retry(time).run(Script(time, Again("busy", "-18"), "done"))
    (record,) = caplog.records
    assert record.getMessage() == "test call failed, retrying"
    assert (record.attempt, record.code, record.reason, record.delay_s) == (1, "-18", "busy", 0.5)


def test_with_a_deadline_no_wait_ends_too_close_to_it_and_the_attempts_made_are_told():
    time = FakeTime()
    attempt = Script(time, Again("busy"), Again("busy"), Again("busy"), "done")
    expired = retry(time).run(attempt, lambda: 3.0 - time.now)
    assert expired == Expired(3, Again("busy"), ambiguous=False)
    assert attempt.made == [(1, 0.0), (2, 0.5), (3, 1.5)]  # the third wait (2 s) would end past the deadline
    assert expired.reason == "out of time after 3 attempt(s): busy"


def test_with_no_time_left_no_attempt_is_made():
    time = FakeTime()
    attempt = Script(time, "done")
    assert retry(time).run(attempt, lambda: 0.05) == Expired(0, None, ambiguous=False)
    assert attempt.made == []


def test_retried_attempts_are_counted_for_the_caller_to_take():
    time = FakeTime()
    loop = retry(time)
    assert loop.run(Script(time, Again("busy"), Again("busy"), "done")) == "done"
    assert loop.run(Script(time, "done")) == "done"
    assert loop.take_retries() == 2
    assert loop.take_retries() == 0
