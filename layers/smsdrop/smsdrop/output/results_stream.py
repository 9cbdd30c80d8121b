"""The results file written as the job runs: lines in row order, uploaded in 5 MiB parts, resumable by the next
invocation, so closing a job costs the same whatever its size (it never reads the items back).

Batches are recorded out of row order (rows are grouped by text), so an item is held until every row before it is
recorded, which the job item's checkpoint says: when the job item is told a checkpoint, the lines up to it are
written (`advance`). Lines gather into a part; at 5 MiB the part is uploaded (S3 multipart: every part but the last
at least 5 MiB), its ETag and the row up to which lines are in parts go to the job item. Between invocations what
is not in a part travels through a small state object (smsdrop.output.stream_state). The page's and the cost's
tallies are fed each line as it is written, so they go along with it. At the end (`close`) the held items are
written in row order, the last part uploaded and the upload completed (a small file is one PUT), then the summary
and the page.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from smsdrop.intake.uploads import Upload
from smsdrop.output.page_data import PageCollector
from smsdrop.output.page_files import PageFiles
from smsdrop.output.results_file import BILLABLE, COLUMNS, PART_BYTES, Cost, LineBuffer, ReportKeys, result_line
from smsdrop.output.sms_parts import PriceTable
from smsdrop.output.stream_state import Item, Saved, StateStore
from smsdrop.store.file_parts import PartsRecord

logger = Logger(child=True)


class PartLedger(Protocol):
    """Where the parts uploaded so far are noted: the job item, through the holder's lease."""

    def record_parts(self, parts: PartsRecord) -> None:
        """Note the parts uploaded so far."""
        ...


class ResultsStream:
    """The results file of one job, as one invocation writes it (see the module docstring)."""

    def __init__(
        self,
        s3: Any,
        keys: ReportKeys,
        bucket: str,
        state: StateStore,
        ledger: PartLedger,
        prices: PriceTable,
        saved: Saved | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._s3 = s3
        self._keys = keys
        self._bucket = bucket
        self._state = state
        self._ledger = ledger
        self._clock = clock
        start = saved or Saved()
        self._upload_id, self._etags, self._parts_through = start.upload_id, list(start.etags), start.parts_through
        self.through_row = start.through_row
        """Every line up to this row is written (in a part or in the buffer)."""
        self._lines = LineBuffer(start.lines.encode())
        if saved is None:
            self._lines.line(list(COLUMNS))
        self._page = PageCollector(prices, BILLABLE)
        self._cost = Cost(prices)
        if start.page is not None and start.cost is not None:
            self._page.resume(start.page)
            self._cost.resume(start.cost)
        self._held: dict[int, Item] = {}
        self._order: list[int] = []
        self.add(start.held)

    @property
    def held_rows(self) -> frozenset[int]:
        """Rows past `through_row` whose items are held, waiting for the rows before them."""
        return frozenset(self._held)

    def add(self, items: Iterable[Item]) -> None:
        """Hold recorded items until their lines' turn; an item of a row already written or held is ignored."""
        for item in items:
            row = int(item["row"]["N"])
            if row > self.through_row and row not in self._held:
                self._held[row] = item
                heapq.heappush(self._order, row)

    def advance(self, through_row: int) -> None:
        """Every row up to `through_row` is recorded: write their lines; upload a part once there are 5 MiB."""
        while self._order and self._order[0] <= through_row:
            row = heapq.heappop(self._order)
            self._write(self._held.pop(row))
            if self._lines.size >= PART_BYTES:
                self.through_row = row
                self._upload_part()
        self.through_row = max(self.through_row, through_row)

    def hand_over(self) -> None:
        """Leave what is not in a part for the next invocation (the job is handed over, not finished)."""
        held = [self._held[row] for row in sorted(self._held)]
        self._state.save(len(self._etags), self._saved(self._lines.peek().decode(), held))

    def close(self, summary: Mapping[str, Any]) -> ReportKeys:
        """The job is over: write every held line, finish the file, then the summary (with the cost) and the page."""
        self.advance(max(self._order, default=self.through_row))
        self._finish_file(self._lines.take())
        summary = {**summary, "cost": self._cost.as_json()}
        keys, bucket = self._keys, self._bucket
        body = json.dumps(summary, indent=2, sort_keys=True).encode()
        self._s3.put_object(Bucket=bucket, Key=keys.summary, Body=body, ContentType="application/json")
        files = {"page": keys.page, "results": keys.results, "summary": keys.summary}
        PageFiles(self._s3).publish(bucket, self._page, summary, files, self._clock())
        self._state.clear()
        return keys

    def _write(self, item: Item) -> None:
        self._lines.line(result_line(item))
        self._cost.add(item)
        self._page.add(item)

    def _upload_part(self) -> None:
        if not self._upload_id:
            answer = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self._keys.results, ContentType="text/csv"
            )
            self._upload_id = answer["UploadId"]
        self._etags.append(self._part(len(self._etags) + 1, self._lines.take()))
        self._parts_through = self.through_row
        parts = len(self._etags)
        self._state.save(parts, self._saved("", []))
        self._ledger.record_parts(PartsRecord(self._upload_id, tuple(self._etags), self._parts_through))
        self._state.drop(parts - 1)

    def _part(self, number: int, body: bytes) -> str:
        answer = self._s3.upload_part(
            Bucket=self._bucket, Key=self._keys.results, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        etag: str = answer["ETag"]
        return etag

    def _finish_file(self, last: bytes) -> None:
        """The last part and the completion, or the whole file in one PUT if it never reached a part."""
        if not self._upload_id:
            self._s3.put_object(Bucket=self._bucket, Key=self._keys.results, Body=last, ContentType="text/csv")
            return
        try:
            if last:
                self._etags.append(self._part(len(self._etags) + 1, last))
            parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(self._etags, start=1)]
            self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=self._keys.results, UploadId=self._upload_id, MultipartUpload={"Parts": parts}
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise
            logger.warning("Results file already completed by an earlier attempt", extra={"key": self._keys.results})

    def _saved(self, lines: str, held: list[Item]) -> Saved:
        return Saved(
            self._upload_id,
            tuple(self._etags),
            self._parts_through,
            self.through_row,
            lines,
            held,
            self._page.state(),
            self._cost.as_json(),
        )


class ResultsFiles:
    """Opens the results file of a job where its last invocation left it (the runner's `results_file` port)."""

    def __init__(self, s3: Any, prices: PriceTable, clock: Callable[[], float] = time.time) -> None:
        self._s3 = s3
        self._prices = prices
        self._clock = clock

    def open(self, upload: Upload, ledger: PartLedger, parts: PartsRecord | None) -> ResultsStream:
        """The results file of `upload`'s job, whose job item knows of `parts`; `ledger` is told of new parts."""
        state = StateStore(self._s3, upload.bucket, upload.job_id)
        saved = state.load(len(parts.etags) if parts else 0)
        if parts is not None and (saved is None or saved.upload_id != parts.upload_id):
            logger.warning("Results file state missing: the page counts only rows from here on")
            saved = Saved.after_parts(parts)
        keys, saved = self.keys(upload), saved or self.fresh(upload)
        return ResultsStream(self._s3, keys, upload.bucket, state, ledger, self._prices, saved, self._clock)

    def keys(self, upload: Upload) -> ReportKeys:
        """Where the results file, summary and page of `upload`'s job go."""
        return ReportKeys.of(upload)

    def fresh(self, upload: Upload) -> Saved | None:
        """Where a new results file starts: None, a header line and nothing else."""
        return None
