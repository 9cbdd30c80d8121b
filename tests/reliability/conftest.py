"""Fixtures of the reliability scenarios: the harness's simulator notes which answers the client could not read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.support import NotingSimulator


@pytest.fixture
def simulator() -> Iterator[NotingSimulator]:
    """The gateway simulator (as tests/fixtures/gateway.py gives it) that also notes every call it handles."""
    with NotingSimulator() as sim:
        yield sim
