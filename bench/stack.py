"""The local stack of a bench: moto server and the gateway simulator in processes of their own, fresh resources
on them for each run, and the Settings that point at them."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass
class Stack:
    """moto server + the gateway simulator (each in its own process), the stack's resources, and Settings."""

    aws: Any
    simulator: Any
    settings: Any

    def clients(self) -> Any:
        """Fresh boto3 clients on moto server, configured as the function's."""
        from smsdrop.send.clients import AWS_CONFIG, Clients

        return Clients(*(self.aws.client(n, AWS_CONFIG) for n in ("s3", "dynamodb", "secretsmanager", "sqs")))

    def upload(self, body: bytes | Path, key: str = "incoming/bench.csv") -> Any:
        """Put a file under incoming/ (streamed from disk for a path); the Upload of the new version."""
        from smsdrop.intake.uploads import Upload

        s3 = self.aws.client("s3")
        if isinstance(body, Path):
            with body.open("rb") as stream:
                answer = s3.put_object(Bucket=self.aws.names.bucket, Key=key, Body=stream)
            size = body.stat().st_size
        else:
            answer = s3.put_object(Bucket=self.aws.names.bucket, Key=key, Body=io.BytesIO(body))
            size = len(body)
        return Upload(self.aws.names.bucket, key, answer.get("VersionId"), answer["ETag"], size)

    def env(self) -> dict[str, str]:
        """The function's environment for this stack (as local.run sets it)."""
        s = self.settings
        return self.aws.env() | {
            "RESULTS_TABLE": s.results_table,
            "GATEWAY_SECRET_ID": s.secret_id,
            "GATEWAY_URL": s.gateway_url,
            "GATEWAY_ALLOW_HTTP": "true",
            "GATEWAY_READ_TIMEOUT_S": str(s.read_timeout_s),
            "NUMBERS_PER_CALL": str(s.numbers_per_call),
            "IN_FLIGHT_BATCHES": str(s.in_flight),
            "CONTINUATION_QUEUE_URL": s.continuation_queue_url,
            "POWERTOOLS_SERVICE_NAME": "smsdrop",
            "POWERTOOLS_METRICS_NAMESPACE": "smsdrop-bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }


@dataclass
class Servers:
    """A moto server and a gateway simulator, each in its own process."""

    endpoint: str
    simulator: Any
    stacks: Iterator[int] = field(default_factory=lambda: iter(range(1_000_000)))

    def stack(self, **settings: Any) -> Stack:
        """Fresh resources (bucket, table, secret, queue) on the shared moto server, and Settings for them."""
        from local.aws import Names, create_stack
        from smsdrop.config import Settings

        n, sim = next(self.stacks), self.simulator
        secret = {"apiKey": sim.api_key, "apiSecret": sim.api_secret, "appId": sim.app_id}
        names = Names(bucket=f"smsdrop-bench-{n}", table=f"Bench-{n}", secret=f"bench/gw-{n}", queue=f"bench-q-{n}")
        aws = create_stack(self.endpoint, names, json.dumps(secret))
        queue = aws.client("sqs").get_queue_url(QueueName=names.queue)["QueueUrl"]
        base = Settings(
            results_table=names.table,
            secret_id=names.secret,
            gateway_url=sim.base_url,
            allow_http=True,
            continuation_queue_url=queue,
            read_timeout_s=30.0,
        )
        return Stack(aws, sim, replace(base, **settings))


@contextmanager
def servers(latency_ms: float = 20.0) -> Iterator[Servers]:
    """moto server and the simulator (answering after `latency_ms`), each in a process of its own."""
    from bench.servers import remote_moto, remote_simulator

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(key, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "smsdrop-bench")
    with ExitStack() as stack:
        endpoint = stack.enter_context(remote_moto())
        simulator = stack.enter_context(remote_simulator(latency_ms))
        yield Servers(endpoint, simulator)
