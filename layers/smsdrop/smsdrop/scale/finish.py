"""Finish (and Fail): the chunks' results joined into the job's results file, the summary written, the job item
closed with the chunks' counts; its working objects removed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from decimal import Decimal
from typing import Any

from smsdrop.intake.uploads import Upload
from smsdrop.models import Status
from smsdrop.output.page_data import PageCollector
from smsdrop.output.page_files import PageFiles
from smsdrop.output.results_file import ReportKeys
from smsdrop.scale.joining import ResultsJoin
from smsdrop.scale.keys import ScaleKeys
from smsdrop.store.jobs import JobRecord, JobState, JobStore, record_of
from smsdrop.store.lease import Lease
from smsdrop.store.schema import chunk_id

ENGINE = "stepfunctions"


def owner(job_id: str) -> str:
    """The lease owner of a scaled-out job's item: its execution, for as long as it runs."""
    return f"{ENGINE}:{job_id}"


def job_state(records: Sequence[JobRecord]) -> tuple[JobState, str, str]:
    """The job's state from its chunks' (FAILED over STOPPED over CANCELLED over COMPLETED), the first stop reason and
    error."""
    states = {record.state for record in records}
    ranked = (JobState.FAILED, JobState.STOPPED, JobState.CANCELLED)
    state = next((s for s in ranked if s in states), JobState.COMPLETED)
    stop = next((r.stop_reason for r in records if r.stop_reason), "")
    error = "; ".join(f"chunk {r.job_id[-5:]}: {r.error}" for r in records if r.error)
    return state, stop, error


def counts_of(records: Sequence[JobRecord]) -> Counter[Status]:
    """The chunks' counts added up."""
    total: Counter[Status] = Counter()
    for record in records:
        total.update({Status(s): n for s, n in record.counts.items() if n})
    return total


class JobFinish:
    """Closes a scaled-out job from what its chunks recorded."""

    def __init__(self, store: JobStore, s3: Any, clock: Callable[[], float]) -> None:
        self._store, self._s3, self._clock = store, s3, clock

    def finish(self, upload: Upload, chunks: int) -> dict[str, Any]:
        """Join the results, write the summary, close the job; the summary (state and rows only on a retry after
        the job was closed)."""
        job = self._store.get(upload.job_id)
        if job.is_finished:
            self._clear(upload)
            return {"state": job.state.value, "rows": job.rows or 0}
        records = [self._store.get(chunk_id(upload.job_id, i)) for i in range(chunks)]
        state, stop, error = job_state(records)
        keys, work = ReportKeys.of(upload), ScaleKeys(upload.job_id)
        ResultsJoin(self._s3, upload.bucket, keys.results).join(work.results(i) for i in range(chunks))
        summary = self._summary(upload, records, state, stop, error)
        summary |= {"intake": self._intake(upload), "cost": self._cost(upload, chunks)}
        body = json.dumps(summary, indent=2, sort_keys=True).encode()
        self._s3.put_object(Bucket=upload.bucket, Key=keys.summary, Body=body, ContentType="application/json")
        self._page(upload, chunks, summary, {"page": keys.page, "results": keys.results, "summary": keys.summary})
        extra = {"results_key": keys.results, "summary_key": keys.summary, "engine": ENGINE, "chunks": chunks}
        self._close(upload, state, records, error, extra)
        self._clear(upload)
        return summary

    def fail(self, upload: Upload, reason: str) -> dict[str, Any]:
        """Close the job FAILED with `reason` and whatever its chunks recorded."""
        items = [item for item in map(self._store.item, self._chunk_keys(upload)) if item is not None]
        self._close(upload, JobState.FAILED, [record_of(item) for item in items], reason, {"engine": ENGINE})
        self._clear(upload)
        return {"job_id": upload.job_id, "state": JobState.FAILED.value, "error": reason}

    def _intake(self, upload: Upload) -> dict[str, Any]:
        """What the plan's reader said of the file."""
        body = self._s3.get_object(Bucket=upload.bucket, Key=ScaleKeys(upload.job_id).intake)["Body"].read()
        intake: dict[str, Any] = json.loads(body)
        return intake

    def _cost(self, upload: Upload, chunks: int) -> dict[str, Any]:
        """The chunks' costs added up (each chunk's own summary has its parts and estimate)."""
        parts, estimate, keys = 0, Decimal(0), ScaleKeys(upload.job_id)
        for index in range(chunks):
            body = self._s3.get_object(Bucket=upload.bucket, Key=keys.chunk_summary(index))["Body"].read()
            cost = json.loads(body)["cost"]
            parts, estimate = parts + int(cost["parts"]), estimate + Decimal(cost["estimated"])
        return {"parts": parts, "estimated": str(estimate)}

    def _page(self, upload: Upload, chunks: int, summary: dict[str, Any], files: dict[str, str]) -> None:
        """The job's report page, its tallies the chunks' pages' added up (a chunk whose page was not written, which
        its run logged, is left out)."""
        pages, work, parts = PageFiles(self._s3), ScaleKeys(upload.job_id), []
        for index in range(chunks):
            page = ReportKeys(work.results(index), work.chunk_summary(index)).page
            with suppress(self._s3.exceptions.NoSuchKey):
                parts.append((f"chunk {index}", pages.read(upload.bucket, page)))
        pages.publish(upload.bucket, PageCollector.of_parts(parts), summary, files, self._clock())

    def _chunk_keys(self, upload: Upload) -> list[str]:
        try:
            answer = self._s3.get_object(Bucket=upload.bucket, Key=ScaleKeys(upload.job_id).plan)
        except self._s3.exceptions.NoSuchKey:
            return []  # the plan was never written: no chunk ran
        plan = json.loads(answer["Body"].read())
        return [chunk_id(upload.job_id, item["index"]) for item in plan]

    def _summary(
        self, upload: Upload, records: Sequence[JobRecord], state: JobState, stop: str, error: str
    ) -> dict[str, Any]:
        counts = counts_of(records)
        return {
            "job_id": upload.job_id,
            "source": {"bucket": upload.bucket, "key": upload.key, "version_id": upload.version_id},
            "state": state.value,
            "rows": sum(r.rows or 0 for r in records),
            "counts": {str(s): n for s, n in counts.items()},
            "stop_reason": stop or None,
            "error": error or None,
            "engine": ENGINE,
            "chunks": len(records),
        }

    def _close(
        self, upload: Upload, state: JobState, records: Sequence[JobRecord], error: str, extra: dict[str, Any]
    ) -> None:
        record = self._store.get(upload.job_id)
        if record.is_finished:
            return  # closed by an earlier attempt of this step: a retry changes nothing
        lease = Lease(self._store, record, owner(upload.job_id))
        rows = sum(r.rows or 0 for r in records)
        lease.finish(state, self._clock(), rows, counts_of(records), error, extra)

    def _clear(self, upload: Upload) -> None:
        """Remove the job's working objects (plan, indexes, losers, chunk results)."""
        listing = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=upload.bucket, Prefix=ScaleKeys(upload.job_id).folder
        )
        for page in listing:
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self._s3.delete_objects(Bucket=upload.bucket, Delete={"Objects": objects, "Quiet": True})
