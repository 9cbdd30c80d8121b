from smsdrop.send.pacing import RateLimiter


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_calls_are_spaced_by_the_rate():
    t = FakeTime()
    limiter = RateLimiter(4.0, t.clock, t.sleep)
    for _ in range(3):
        limiter.wait()
    assert t.slept == [0.25, 0.25]


def test_a_rate_of_zero_never_waits():
    t = FakeTime()
    limiter = RateLimiter(0, t.clock, t.sleep)
    for _ in range(5):
        limiter.wait()
    assert t.slept == []
