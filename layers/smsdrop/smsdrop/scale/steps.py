"""The scale-out state machine's Lambda steps, one method a state (functions/scale dispatches on `step`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from smsdrop.config import Settings
from smsdrop.errors import SmsdropError
from smsdrop.intake.reader import RecipientReader
from smsdrop.intake.uploads import Upload
from smsdrop.scale.chunk_limits import chunk_settings
from smsdrop.scale.chunk_ports import chunk_ports
from smsdrop.scale.chunk_reader import ChunkReader
from smsdrop.scale.chunk_waits import hop_limited, wait_seconds
from smsdrop.scale.chunks import Chunk, ChunkUpload
from smsdrop.scale.finish import JobFinish, owner
from smsdrop.scale.index import DigestTrail
from smsdrop.scale.keys import ScaleKeys
from smsdrop.scale.merge import Merge
from smsdrop.scale.plain import inflated_copy
from smsdrop.scale.plan import Unindexed, cut, write_plan
from smsdrop.scale.steering import ChunkSteering
from smsdrop.scale.watching import planned
from smsdrop.send.check_first import Caps, Tally
from smsdrop.send.clients import Clients
from smsdrop.send.ports import RunnerPorts
from smsdrop.send.run_result import RunEnd
from smsdrop.send.runner import JobRunner
from smsdrop.send.wiring import prices, row_rules
from smsdrop.store.jobs import Busy, JobStore

EXECUTION_LEASE_S = 366 * 86_400  # a Standard execution runs a year at most; the sweep never takes the job meanwhile
AGAIN = frozenset({RunEnd.CONTINUED, RunEnd.BUSY, RunEnd.LEASE_LOST, RunEnd.PAUSED, RunEnd.SCHEDULED})
"""How a chunk's invocation may end with the chunk not done: the state machine runs its Task again."""
WAIT = frozenset({RunEnd.BUSY, RunEnd.LEASE_LOST, RunEnd.PAUSED, RunEnd.SCHEDULED})
"""...after a wait: another invocation holds the chunk, the operator paused it, or it waits for its send time."""


class ScaleSteps:
    """Plan, Index, Merge, Send, Finish and Fail of one deployment; built once per cold start. `ports` builds the
    chunk runner's adapters (smsdrop.scale.chunk_ports, unless a test wraps one to break it)."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        clock: Callable[[], float] = time.time,
        ports: Callable[[Settings, Clients], RunnerPorts] = chunk_ports,
    ) -> None:
        self._settings, self._clients, self._clock, self._ports = settings, clients, clock, ports
        self._store = JobStore(clients.dynamodb, settings.results_table)
        self._runner: JobRunner | None = None

    def plan(self, upload: Upload) -> dict[str, Any]:
        """Take the job for the execution, read the file once and write its plan; `finished` if it already ended.
        The read is the check-first of one function: FileRefused for a file over MAX_ROWS_PER_JOB or MAX_COST_PER_JOB,
        its cost priced before Merge decides duplicates (the most the file can cost, as before opt-outs)."""
        s, now = self._settings, self._clock()
        ttl = int(now) + s.ttl_days * 86_400
        claim = self._store.claim(upload, owner(upload.job_id), now, EXECUTION_LEASE_S, ttl, s.row_shards)
        if isinstance(claim, Busy) and claim.record.is_finished:
            return {"finished": True, "chunks": 0, "key": ""}
        reader, keys = self._reader(upload, Unindexed), ScaleKeys(upload.job_id)
        source = keys.plain if inflated_copy(self._s3, upload, keys.plain) else ""
        caps, tally = Caps.from_settings(s, prices(s)), Tally()
        chunks = list(cut(reader, s.chunk_rows, lambda row: tally.add(row, caps.prices)))
        refusal = tally.refusal(caps)
        if refusal is not None:  # the file over a cap is refused whole: nothing has been sent
            raise refusal
        write_plan(self._s3, upload.bucket, keys.plan, chunks, source)
        planned(self._store, upload.job_id, len(chunks), tally.rows)
        body = json.dumps({**reader.report(), "guards": caps.guards(tally)}).encode()
        self._s3.put_object(Bucket=upload.bucket, Key=keys.intake, Body=body, ContentType="application/json")
        return {"finished": False, "chunks": len(chunks), "key": keys.plan}

    def index(self, upload: Upload, chunk: Chunk) -> dict[str, Any]:
        """Write the digests of the chunk's keys; how many rows it indexed."""
        trail = DigestTrail(after=chunk.start.row)
        for _ in ChunkReader(self._reader(ChunkUpload.of(upload, chunk), lambda: trail, ranged=True), chunk).rows():
            pass
        key = ScaleKeys(upload.job_id).index(chunk.index)
        self._s3.put_object(Bucket=upload.bucket, Key=key, Body=trail.to_bytes())
        return {"indexed": len(trail.rows)}

    def merge(self, upload: Upload, chunks: int) -> dict[str, Any]:
        """Decide first occurrences over the chunks in order; write each chunk's losers; how many lost."""
        merge, keys, lost = Merge(), ScaleKeys(upload.job_id), 0
        for index in range(chunks):
            body = self._s3.get_object(Bucket=upload.bucket, Key=keys.index(index))["Body"].read()
            losers = merge.losers(DigestTrail.from_bytes(body))
            self._s3.put_object(Bucket=upload.bucket, Key=keys.losers(index), Body=json.dumps(losers).encode())
            lost += len(losers)
        return {"losers": lost}

    def send(self, upload: Upload, chunk: Chunk, remaining_ms: Callable[[], int]) -> dict[str, Any]:
        """Run today's runner on the chunk for a hop (CHUNK_HOP_SECONDS, or until time runs short), after passing on
        the operator's cancel, pause or resume; `done` once the chunk is closed, else how long to wait (`wait_s`)
        before the state machine runs the chunk's Task again."""
        chunk_upload, s = ChunkUpload.of(upload, chunk), self._settings
        ChunkSteering(self._clients.dynamodb, s, self._clock).follow(chunk_upload)
        remaining = hop_limited(remaining_ms, self._clock, s.chunk_hop_seconds, s.time_margin_ms)
        end = self._chunk_runner().run(chunk_upload, remaining).end
        wait = 0
        if end in WAIT:
            wait = wait_seconds(self._store.item(chunk_upload.job_id), self._clock(), s.chunk_poll_seconds)
        return {"done": end not in AGAIN, "wait_s": wait, "end": end.value}

    def finish(self, upload: Upload, chunks: int) -> dict[str, Any]:
        """Join the chunks' results and close the job."""
        summary = JobFinish(self._store, self._s3, self._clock).finish(upload, chunks)
        return {"state": summary["state"], "rows": summary["rows"]}

    def fail(self, upload: Upload, error: dict[str, Any]) -> dict[str, Any]:
        """Close the job FAILED with the reason the state machine caught."""
        return JobFinish(self._store, self._s3, self._clock).fail(upload, failure_reason(error))

    @property
    def _s3(self) -> Any:
        return self._clients.s3

    def _reader(self, upload: Upload, first_seen: Callable[[], Any], ranged: bool = False) -> RecipientReader:
        """Our reader of the upload (of its chunk's source, for a chunk), generated orderIds named after the job."""
        job_id, source = upload.job_id, (upload.key, upload.version_id)
        if isinstance(upload, ChunkUpload):
            job_id, source = upload.parent, upload.source
        rules = replace(row_rules(self._settings), job_id=job_id, first_seen=first_seen)
        return RecipientReader(self._s3, upload.bucket, *source, rules, ranged=ranged)

    def _chunk_runner(self) -> JobRunner:
        if self._runner is None:
            settings = chunk_settings(self._settings)
            self._runner = JobRunner(settings, self._ports(settings, self._clients), self._clock)
        return self._runner


def failure_reason(error: dict[str, Any]) -> str:
    """The reason in a Catch's error output: the function's errorMessage when its Cause is Lambda's JSON."""
    cause = str(error.get("Cause") or "")
    try:
        message = json.loads(cause).get("errorMessage")
    except (ValueError, AttributeError):
        message = None
    return str(message or cause or error.get("Error") or "the state machine failed")


class UnknownStepError(SmsdropError):
    """The state machine named a step this function does not have (a definition out of step with the code)."""


def dispatch(steps: ScaleSteps, event: dict[str, Any], remaining_ms: Callable[[], int]) -> dict[str, Any]:
    """Run the step `event` names on the upload it carries."""
    upload = Upload.from_message(event["upload"])
    actions: dict[str, Callable[[], dict[str, Any]]] = {
        "plan": lambda: steps.plan(upload),
        "index": lambda: steps.index(upload, Chunk.of(event["chunk"])),
        "merge": lambda: steps.merge(upload, event["chunks"]),
        "send": lambda: steps.send(upload, Chunk.of(event["chunk"]), remaining_ms),
        "finish": lambda: steps.finish(upload, event["chunks"]),
        "fail": lambda: steps.fail(upload, event.get("error") or {}),
    }
    if event.get("step") not in actions:
        raise UnknownStepError(f"no step {event.get('step')!r}")
    return actions[event["step"]]()
