"""What the operator gets back when a job ends: reports/<name>.results.csv, .summary.json and the .html page."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from smsdrop.intake.uploads import INCOMING_PREFIX, Upload
from smsdrop.models import Status
from smsdrop.output.excel_cells import RESULT_COLUMNS, result_cells
from smsdrop.output.page_data import PageCollector
from smsdrop.output.page_files import PageFiles
from smsdrop.output.sms_parts import PriceTable
from smsdrop.store.schema import rows_query

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
        """The summary's `cost` object."""
        return {"parts": self.parts, "estimated": str(self.estimate)}


class ItemSink(Protocol):
    """Something fed every item of the results file as it is written."""

    def add(self, item: Mapping[str, Any]) -> None: ...


class ReportWriter:
    """Streams a job's items into a CSV in S3 (multipart, a few MiB in memory at most), then its summary and page."""

    def __init__(
        self, s3: Any, dynamodb: Any, table: str, prices: PriceTable, clock: Callable[[], float] = time.time
    ) -> None:
        self._s3 = s3
        self._db = dynamodb
        self._table = table
        self._prices = prices
        self._clock = clock

    def write(self, upload: Upload, summary: Mapping[str, Any]) -> ReportKeys:
        """Write the files of `upload`'s job, the summary with the parts and estimated cost; returns the keys."""
        keys = ReportKeys.of(upload)
        cost = Cost(self._prices)
        page = PageCollector(self._prices, BILLABLE)
        self._upload_parts(upload.bucket, keys.results, _csv_chunks(self._items(upload.job_id), cost, page))
        summary = {**summary, "cost": cost.as_json()}
        body = json.dumps(summary, indent=2, sort_keys=True).encode()
        self._s3.put_object(Bucket=upload.bucket, Key=keys.summary, Body=body, ContentType="application/json")
        files = {"page": keys.page, "results": keys.results, "summary": keys.summary}
        PageFiles(self._s3).publish(upload.bucket, page, summary, files, self._clock())
        return keys

    def _items(self, job_id: str) -> Iterator[Mapping[str, Any]]:
        pages = self._db.get_paginator("query").paginate(TableName=self._table, **rows_query(job_id))
        for page in pages:
            yield from page["Items"]

    def _upload_parts(self, bucket: str, key: str, chunks: Iterable[bytes]) -> None:
        upload_id = self._s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/csv")["UploadId"]
        try:
            parts = [
                {
                    "PartNumber": n,
                    "ETag": self._s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=chunk)[
                        "ETag"
                    ],
                }
                for n, chunk in enumerate(chunks, start=1)
            ]
            self._s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception:
            self._s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise


def _csv_chunks(items: Iterable[Mapping[str, Any]], *sinks: ItemSink) -> Iterator[bytes]:
    """The results file in chunks of about PART_BYTES (always at least one, with the header); each item also goes
    to every sink (the cost, the page's tallies)."""
    part = _Part()
    writer = csv.writer(part, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow(result_line(item))
        for sink in sinks:
            sink.add(item)
        if part.size >= PART_BYTES:
            yield part.take()
    yield part.take()


class _Part:
    """A file-like sink for csv.writer that keeps its lines as UTF-8 bytes: a part costs its size in memory,
    where a StringIO would hold up to 4 bytes a character and then a copy for `getvalue()` and one to encode."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()

    @property
    def size(self) -> int:
        """Bytes written since the last `take`."""
        return self._buffer.tell()

    def write(self, text: str) -> None:
        """csv.writer's one call."""
        self._buffer.write(text.encode())

    def take(self) -> bytes:
        """What was written (BytesIO hands over its own buffer, no copy), and start again empty."""
        data, self._buffer = self._buffer.getvalue(), io.BytesIO()
        return data
