"""`python -m local.run FILE --engine stepfunctions`: the file through the scale-out state machine on moto server
(local.stepfunctions), from the S3 event the ingest function gets to the job's summary."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import replace
from typing import TYPE_CHECKING

from local.aws import behind_limits, create_stack, default_limits, moto_server
from local.invoke import Invoker
from local.stepfunctions import Engine, deploy, steps_routed
from local.summary import Summary, read_summary
from smsdrop.scale.watching import CHUNKS
from smsdrop.store.jobs import JobStore, record_of
from smsdrop.store.schema import chunk_id

if TYPE_CHECKING:
    from local.run import Options

ENGINE = "stepfunctions"


def run_scaled(options: Options) -> Summary:
    """Start moto server (its Step Functions executing), the simulator and the state machine; upload the file,
    invoke the ingest function for its S3 event and wait for the execution; summarise the job."""
    from local import run  # the local run's own helpers: the same simulator, secret, names and environment

    with ExitStack() as stack:
        moto = stack.enter_context(moto_server(limits=False))
        limits = None if options.no_aws_limits else default_limits()
        endpoint = stack.enter_context(behind_limits(moto, limits))
        simulator = stack.enter_context(run._simulator(options))
        aws = create_stack(endpoint, run._names(options), secret_value=json.dumps(run._credentials(options)))
        logs = stack.enter_context(run._log_stream(options.log_file))
        stack.enter_context(run._environment(aws, options, simulator.base_url))
        engine = deploy(aws, moto, options.max_concurrency)
        started = time.monotonic()
        with redirect_stdout(logs), _scale_out_environment(engine, options.chunk_rows):
            invocations = stack.enter_context(steps_routed(options.remaining_ms))
            invoker = Invoker(aws, options.remaining_ms, progress=not options.as_json)
            upload = invoker.upload(options.path, key=f"incoming/{options.path.name}")
            invoker.run_to_end(upload)
            progress = (
                (lambda: None)
                if options.as_json
                else ChunkProgress(JobStore(aws.client("dynamodb"), aws.names.table), upload.job_id)
            )
            engine.wait(_execution(engine, upload.job_id), on_poll=progress)
        summary = read_summary(aws, upload, len(invocations) + 1, time.monotonic() - started, simulator)
        return replace(summary, engine=ENGINE)


class ChunkProgress:
    """Tells the operator (on stderr) how many chunks the plan made, then each chunk as it ends."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self._store, self._job_id = store, job_id
        self._chunks = 0
        self._ended: set[int] = set()

    def __call__(self) -> None:
        """Look at the job's chunks once; print what changed."""
        if not self._chunks:
            self._chunks = int((self._store.item(self._job_id) or {}).get(CHUNKS, 0))
            if self._chunks:
                print(f"planned: {self._chunks} chunk(s)", file=sys.stderr, flush=True)
        for index in sorted(set(range(self._chunks)) - self._ended):
            item = self._store.item(chunk_id(self._job_id, index))
            if item is not None and record_of(item).is_finished:
                self._ended.add(index)
                rows = int(item.get("rows") or 0)
                print(
                    f"chunk {index + 1} of {self._chunks}: {item['state']}, {rows:,} rows", file=sys.stderr, flush=True
                )


def _execution(engine: Engine, job_id: str) -> str:
    """The job's execution (named after it)."""
    return next(e["executionArn"] for e in engine.executions() if e["name"] == job_id)


@contextmanager
def _scale_out_environment(engine: Engine, chunk_rows: int) -> Iterator[None]:
    """The ingest function sends every file to the state machine; chunks of `chunk_rows` rows, looking again every
    second while held."""
    from ingest.app import scale_out

    env = {
        "SCALE_OUT_BYTES": "1",
        "STATE_MACHINE_ARN": engine.state_machine_arn,
        "CHUNK_ROWS": str(chunk_rows),
        "CHUNK_POLL_SECONDS": "1",  # moto's Wait states wait in real time: a held chunk looks again every second
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    scale_out.cache_clear()
    try:
        yield
    finally:
        scale_out.cache_clear()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
