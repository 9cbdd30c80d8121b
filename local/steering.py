"""local.run's operator: cancel a job once the simulator has accepted N numbers, resume it when it stops, both
through the smsdrop command line's own code (cli/smsdrop_cli), as an operator would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from local.aws import LocalAws
from local.gateway_sim import GatewaySimulator
from smsdrop_cli.main import cancel, resume
from smsdrop_cli.target import Target, Where, connect

OPERATOR = "local.run"


class HookedSimulator(GatewaySimulator):
    """The gateway simulator, telling `after_accepting(total)` the numbers accepted so far after each call it answers
    (in its own request thread, before the answer goes back)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.after_accepting: Callable[[int], None] | None = None

    def send_batch(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any] | None]:
        """The provider's answer, then the hook."""
        answer = super().send_batch(headers, body)
        if self.after_accepting is not None:
            self.after_accepting(len(self.audit().accepted))
        return answer


def operator(aws: LocalAws) -> Target:
    """The command line's view of the local stack."""
    queue_url = aws.client("sqs").get_queue_url(QueueName=aws.names.queue)["QueueUrl"]
    return connect(Where(None, aws.names.bucket, aws.names.table, queue_url, aws.endpoint))


def cancel_after(simulator: HookedSimulator, accepted: int, target: Target, job_id: Callable[[], str]) -> None:
    """Cancel the job through the command line's code once the simulator has accepted `accepted` numbers."""
    once = threading.Lock()

    def maybe_cancel(total: int) -> None:
        if total >= accepted and once.acquire(blocking=False):
            cancel(target, job_id(), OPERATOR)

    simulator.after_accepting = maybe_cancel


def resume_after_stop(target: Target, job_id: str, simulator: GatewaySimulator | None) -> int:
    """Top the simulator's balance up (a real provider is left alone) and resume the job through the command line's
    code; the numbers accepted before the resume (None without a simulator)."""
    accepted = None
    if simulator is not None:
        accepted = len(simulator.audit().accepted)
        simulator.set_faults(balance=None)
    resume(target, job_id, OPERATOR)
    return -1 if accepted is None else accepted
