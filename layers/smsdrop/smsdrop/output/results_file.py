"""What the operator gets back from a job: reports/<name>.results.csv, .summary.json and the .html page; where they
go, what a line of the results file holds, and what the summary's cost adds up (the file itself is written as the
job runs: smsdrop.output.results_stream)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from smsdrop.intake.uploads import INCOMING_PREFIX, Upload
from smsdrop.models import Status
from smsdrop.output.excel_cells import RESULT_COLUMNS, result_cells
from smsdrop.output.sms_parts import PriceTable

REPORTS_PREFIX = "reports/"
COLUMNS = RESULT_COLUMNS
SUMMARY_SUFFIX = ".summary.json"
PART_BYTES = 5 * 1024 * 1024  # S3 multipart parts: at least 5 MiB each but the last
BILLABLE = frozenset(
    s.value for s in (Status.SUBMITTED, Status.DELIVERED, Status.UNDELIVERED, Status.UNKNOWN, Status.VALIDATED)
)


@dataclass(frozen=True, slots=True)
class ReportKeys:
    """Where a job's results file and summary go."""

    results: str
    summary: str

    @classmethod
    def of(cls, upload: Upload) -> ReportKeys:
        """`incoming/a/b.csv.gz` -> `reports/a/b.results.csv` and `reports/a/b.summary.json`."""
        name = upload.key.removeprefix(INCOMING_PREFIX)
        for suffix in (".csv.gz", ".csv"):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
                break
        return cls(f"{REPORTS_PREFIX}{name}.results.csv", f"{REPORTS_PREFIX}{name}{SUMMARY_SUFFIX}")

    @property
    def page(self) -> str:
        """The report page beside them: `reports/a/b.html`."""
        return self.summary.removesuffix(SUMMARY_SUFFIX) + ".html"


def result_line(item: Mapping[str, Any]) -> list[str]:
    """One results-file line from a per-number item (DynamoDB's wire format)."""
    return result_cells({k: next(iter(v.values())) for k, v in item.items()})  # excel_cells.py: as text, never run


@dataclass(slots=True)
class Cost:
    """SMS parts of the numbers that were (or in a dry run would be) sent, and their estimated price."""

    prices: PriceTable
    parts: int = 0
    estimate: Decimal = Decimal(0)

    def add(self, item: Mapping[str, Any]) -> None:
        """Count an item's parts if its status is one that is (or would be) paid for."""
        if item["status"]["S"] in BILLABLE and "parts" in item:
            parts = int(item["parts"]["N"])
            self.parts += parts
            self.estimate += self.prices.price_per_part(item["number"]["S"]) * parts

    def as_json(self) -> dict[str, Any]:
        """The summary's `cost` object (also how a later invocation of the job carries on from it)."""
        return {"parts": self.parts, "estimated": str(self.estimate)}

    def resume(self, saved: Mapping[str, Any]) -> Cost:
        """Carry on from what `as_json` gave; returns itself."""
        self.parts, self.estimate = int(saved["parts"]), Decimal(saved["estimated"])
        return self


class LineBuffer:
    """Results-file lines as UTF-8 bytes, written by csv.writer: a part costs its size in memory, where a StringIO
    would hold up to 4 bytes a character and then a copy for `getvalue()` and one to encode."""

    def __init__(self, lines: bytes = b"") -> None:
        self._buffer = io.BytesIO()
        self._buffer.write(lines)
        self._writer = csv.writer(self, lineterminator="\r\n")

    @property
    def size(self) -> int:
        """Bytes written since the last `take`."""
        return self._buffer.tell()

    def line(self, cells: list[str]) -> None:
        """Write one line."""
        self._writer.writerow(cells)

    def write(self, text: str) -> None:
        """csv.writer's one call."""
        self._buffer.write(text.encode())

    def peek(self) -> bytes:
        """What was written since the last `take`, kept."""
        return self._buffer.getvalue()

    def take(self) -> bytes:
        """What was written (BytesIO hands over its own buffer, no copy), and start again empty."""
        data, self._buffer = self._buffer.getvalue(), io.BytesIO()
        return data
