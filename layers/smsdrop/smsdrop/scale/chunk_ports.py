"""The job runner's ports for one chunk: today's adapters, but the reader kept to the chunk with Merge's answers,
no continuation message (the state machine runs the chunk's Task again), no schedule (its Wait state waits) and the
results lines in a chunk object."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from smsdrop.config import Settings
from smsdrop.errors import SmsdropError
from smsdrop.intake.first_seen import MergedLosers
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.uploads import Upload
from smsdrop.output.results_file import ReportKeys
from smsdrop.output.results_stream import ResultsFiles
from smsdrop.output.stream_state import Saved
from smsdrop.scale.chunk_reader import ChunkReader
from smsdrop.scale.chunk_waits import StepSchedules
from smsdrop.scale.chunks import ChunkUpload
from smsdrop.scale.keys import ScaleKeys
from smsdrop.send.clients import Clients
from smsdrop.send.ports import Reader, RunnerPorts
from smsdrop.send.wiring import build_ports, prices, row_rules


class NotAChunkError(SmsdropError):
    """A chunk's adapter was handed a whole upload."""


def as_chunk(upload: Upload) -> ChunkUpload:
    """`upload` as the chunk it must be."""
    if not isinstance(upload, ChunkUpload):
        raise NotAChunkError(f"{upload.key} is not a chunk of a scaled-out job")
    return upload


def read_losers(s3: Any, bucket: str, key: str) -> dict[int, tuple[str, int]]:
    """Merge's losers of one chunk: row -> (kind, first row)."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return {row: (kind, first) for row, kind, first in json.loads(body)}


class ChunkReaders:
    """Opens a chunk's reader: the file read with the job's rules, Merge's answers for duplicates and orderIds."""

    def __init__(self, s3: Any, rules: RowRules) -> None:
        self._s3 = s3
        self._rules = rules

    def __call__(self, upload: Upload, job_id: str) -> Reader:
        """The reader of `upload` (a chunk), generated orderIds named after the whole job as on one function."""
        chunk = as_chunk(upload)
        losers = read_losers(self._s3, chunk.bucket, ScaleKeys(chunk.parent).losers(chunk.chunk.index))
        rules = replace(self._rules, job_id=chunk.parent, first_seen=lambda: MergedLosers(losers))
        whole = RecipientReader(self._s3, chunk.bucket, *chunk.source, rules, ranged=True)
        return ChunkReader(whole, chunk.chunk)


class StepLoop:
    """The continuation of a chunk: nothing to queue, the state machine's Choice runs the chunk's Task again."""

    def request(self, upload: Upload) -> None:
        """Nothing: the Send map's loop hands the chunk to a fresh invocation."""


class ChunkResultsFiles(ResultsFiles):
    """A chunk's results lines, in row order without a header, in its own object (Finish joins them)."""

    def keys(self, upload: Upload) -> ReportKeys:
        """The chunk's results object and its own summary, in the job's working folder."""
        chunk = as_chunk(upload)
        keys = ScaleKeys(chunk.parent)
        return ReportKeys(keys.results(chunk.chunk.index), keys.chunk_summary(chunk.chunk.index))

    def fresh(self, upload: Upload) -> Saved | None:
        """No header; the lines start after the row before the chunk."""
        return Saved(through_row=as_chunk(upload).chunk.start.row)


def chunk_ports(settings: Settings, clients: Clients) -> RunnerPorts:
    """Today's adapters with the chunk's reader, loop, waits and results object."""
    return replace(
        build_ports(settings, clients),
        reader_factory=ChunkReaders(clients.s3, row_rules(settings)),
        continuation=StepLoop(),
        schedules=StepSchedules(),
        results_file=ChunkResultsFiles(clients.s3, prices(settings)),
    )
