"""Where a scaled-out job keeps its working objects: under `reports/.scale/<job id>/` (nothing under reports/
triggers a function), removed when the job ends."""

from __future__ import annotations

from dataclasses import dataclass

from smsdrop.output.results_file import REPORTS_PREFIX

SCALE_PREFIX = f"{REPORTS_PREFIX}.scale/"


@dataclass(frozen=True, slots=True)
class ScaleKeys:
    """The object keys of one scaled-out job's plan, chunk indexes, Merge's losers and chunk results files."""

    job_id: str

    @property
    def folder(self) -> str:
        """The prefix of every working object of the job."""
        return f"{SCALE_PREFIX}{self.job_id}/"

    @property
    def plan(self) -> str:
        """The plan: a JSON array of chunks, the Distributed Maps' ItemReader."""
        return f"{self.folder}plan.json"

    @property
    def plain(self) -> str:
        """A gzip upload's inflated bytes, which the chunks read (smsdrop.scale.plain)."""
        return f"{self.folder}plain.csv"

    @property
    def intake(self) -> str:
        """What the plan's reader says of the whole file (format, rules, texts): the summary's `intake`."""
        return f"{self.folder}intake.json"

    def index(self, chunk: int) -> str:
        """Chunk `chunk`'s digests (smsdrop.scale.index)."""
        return f"{self.folder}index/{chunk:05d}.bin"

    def losers(self, chunk: int) -> str:
        """The rows of chunk `chunk` that lose to an earlier row (smsdrop.scale.merge)."""
        return f"{self.folder}losers/{chunk:05d}.json"

    def results(self, chunk: int) -> str:
        """Chunk `chunk`'s results lines, in row order, no header."""
        return f"{self.folder}results/{chunk:05d}.csv"

    def chunk_summary(self, chunk: int) -> str:
        """Chunk `chunk`'s own summary, written when its runner closes it (Finish writes the job's)."""
        return f"{self.folder}results/{chunk:05d}.summary.json"
