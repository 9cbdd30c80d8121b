"""A scaled-out job as an operator watches it: while its chunks run, each chunk's item holds its own counts and the
job's item only what the Plan found (`chunks`, `planned_rows`); the job's counts are the sum of its chunks'."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from smsdrop.scale.finish import ENGINE, counts_of
from smsdrop.store.controls import JobView
from smsdrop.store.jobs import ENDED, JobStore, record_of
from smsdrop.store.schema import CHUNK_MARK, chunk_id
from smsdrop.store.updates import Update

CHUNKS, PLANNED_ROWS = "chunks", "planned_rows"
CHUNKS_DONE = "chunks_done"
"""Not stored: the chunks that have ended, as the view of a running scaled-out job shows it."""


def is_chunk(job_id: str) -> bool:
    """Whether `job_id` is a chunk's item of a scaled-out job (not a job of its own)."""
    return CHUNK_MARK in job_id


def planned(store: JobStore, job_id: str, chunks: int, rows: int) -> None:
    """Note on the job's item that it is sent by the engine in `chunks` chunks of `rows` data rows in all."""
    update = Update().set("engine = :e", {":e": ENGINE}).set(f"{CHUNKS} = :c", {":c": chunks})
    store.update(job_id, update.set(f"{PLANNED_ROWS} = :r", {":r": rows}))


def watched(store: JobStore, job: JobView) -> JobView:
    """`job` with its chunks' counts added up, its planned rows and the chunks that have ended, while it runs on the
    engine; `job` itself otherwise (its item has the totals once it has ended)."""
    chunks = job.number(CHUNKS)
    if not chunks or job.state in ENDED:
        return job
    items = [store.item(chunk_id(job.record.job_id, i)) for i in range(chunks)]
    records = [record_of(item) for item in items if item is not None]
    counts = {str(status): n for status, n in counts_of(records).items()}
    record = replace(job.record, counts=counts, rows=job.number(PLANNED_ROWS) or None)
    item: dict[str, Any] = {**job.item, CHUNKS_DONE: sum(r.is_finished for r in records)}
    return JobView(record, job.upload, item)
