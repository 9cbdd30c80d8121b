"""Lambda's recursive loop detection, as the local invoker applies it: S3 -> IngestFunction -> continuation queue ->
IngestFunction... is a loop that Lambda stops after 16 hops unless the function has `RecursiveLoop: Allow`.

Hand-overs are forced by settings, not by time: each invocation's time reads short once the runner has asked for
it (`--time-checks 1`), so every invocation sends one batch of 10 numbers and hands the rest over.
"""

import json
import subprocess
import sys
from typing import Any

import pytest

import ingest.app
from local import ROOT
from local.invoke import MAX_HOPS, Invoker

CAMPAIGN = ROOT / "examples" / "campaign.csv"
ONE_BATCH_AN_INVOCATION = ["--numbers-per-call", "10", "--time-checks", "1", "--latency-ms", "5"]


def local_run(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "local.run", str(CAMPAIGN), "--json", *ONE_BATCH_AN_INVOCATION, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary: dict[str, Any] = json.loads(done.stdout)
    summary["returncode"] = done.returncode
    return summary


def test_a_run_of_more_than_20_continuations_completes_as_the_template_allows_the_loop():
    summary = local_run()
    assert summary["returncode"] == 0
    assert summary["state"] == "COMPLETED"
    assert summary["invocations"] - 1 >= 20  # continuations: every invocation after the S3 event's
    assert sum(summary["counts"].values()) == 329
    assert summary["simulator"] == {"accepted": summary["counts"]["SUBMITTED"], "duplicates": 0}
    assert summary["loop_detection"] is None


def test_the_same_run_without_recursive_loop_allow_is_stopped_after_16_hops_and_says_so():
    summary = local_run("--recursive-loop", "Terminate")
    assert summary["returncode"] == 1
    assert summary["state"] == "RUNNING"  # left for the sweep
    assert summary["invocations"] == 1 + MAX_HOPS
    assert summary["counts"]["SUBMITTED"] == summary["simulator"]["accepted"] == 10 * (1 + MAX_HOPS)
    assert summary["simulator"]["duplicates"] == 0
    assert "recursive loop detection stopped the chain at continuation 17" in summary["loop_detection"]


class LoopingHandler:
    """Stands in for the ingest handler: each invocation queues one continuation, `hops` times in all."""

    def __init__(self, sqs: Any, queue_url: str, hops: int) -> None:
        self.sqs, self.queue_url, self.hops = sqs, queue_url, hops
        self.invocations = 0

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.invocations += 1
        if self.invocations <= self.hops:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"hop": self.invocations}))


@pytest.fixture
def looping(aws, monkeypatch):
    """A handler that would loop 100 times, in place of the real one, and the queues it loops through."""
    sqs = aws.client("sqs")
    names = (aws.names.queue, aws.names.dead_letter_queue)
    queues = {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in names}
    handler = LoopingHandler(sqs, queues[aws.names.queue], hops=100)
    monkeypatch.setattr(ingest.app, "handler", handler)
    return handler, queues


def messages(aws, queue_url: str) -> list[dict[str, Any]]:
    answer = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def test_the_invoker_moves_the_17th_continuation_to_the_dead_letter_queue_when_the_loop_is_not_allowed(
    aws, looping, tmp_path
):
    handler, queues = looping
    (tmp_path / "loop.csv").write_text("number,content\n919800000001,hi\n")
    invoker = Invoker(aws, 900_000, recursion=False)
    chain = invoker.run_to_end(invoker.upload(tmp_path / "loop.csv", "incoming/loop.csv"))
    assert chain.stopped_at_hop == MAX_HOPS + 1
    assert chain.invocations == handler.invocations == 1 + MAX_HOPS
    assert messages(aws, queues[aws.names.dead_letter_queue]) == [{"hop": MAX_HOPS + 1}]
    assert messages(aws, queues[aws.names.queue]) == []


def test_the_invoker_follows_a_chain_past_16_hops_when_the_loop_is_allowed(aws, looping, tmp_path):
    handler, queues = looping
    handler.hops = 25
    (tmp_path / "loop.csv").write_text("number,content\n919800000001,hi\n")
    invoker = Invoker(aws, 900_000, recursion=True)
    chain = invoker.run_to_end(invoker.upload(tmp_path / "loop.csv", "incoming/loop.csv"))
    assert (chain.invocations, chain.stopped_at_hop) == (26, None)
    assert messages(aws, queues[aws.names.dead_letter_queue]) == []
