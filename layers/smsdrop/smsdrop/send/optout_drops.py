"""What the ingest function does with an opt-out file dropped under `optouts/` (add its numbers to the list) or
`optouts/remove/` (take them off): read it as a stream, write the list, and leave what it did beside the reports,
in `reports/optouts/<name>.summary.json` (no number in it: counts and row numbers only)."""

from __future__ import annotations

import json
import posixpath
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.intake.optout_file import OptOutNumbers, removes
from smsdrop.intake.uploads import Upload
from smsdrop.store.optouts import OptOutList

logger = Logger(child=True)
metrics = Metrics()
SUMMARY_PREFIX = "reports/optouts/"


class OptOutDrops:
    """Applies opt-out files to the list `optouts`, reading national numbers as numbers of `default_region`."""

    def __init__(
        self, s3: Any, optouts: OptOutList, default_region: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._s3 = s3
        self._optouts = optouts
        self._region = default_region
        self._clock = clock

    def apply(self, upload: Upload) -> dict[str, Any]:
        """Add (or, under optouts/remove/, remove) the numbers of `upload`; what was done, as the summary says."""
        reader = OptOutNumbers.for_region(self._region)
        numbers = reader.numbers(self._lines(upload))
        action = "removed" if removes(upload.key) else "added"
        if action == "removed":
            done = self._optouts.remove(numbers)
        else:
            done = self._optouts.add(numbers, f"s3://{upload.bucket}/{upload.key}", self._clock())
        summary = {"key": upload.key, "action": action, "numbers": done, "rows": reader.rows, "not_numbers": reader.bad}
        summary |= {"first_rows_not_numbers": reader.bad_rows}
        self._write(upload, summary)
        logger.info("Opt-out file applied", extra=summary)
        metrics.add_metric(name=f"OptOuts{action.title()}", unit=MetricUnit.Count, value=done)
        return summary

    def _lines(self, upload: Upload) -> Any:
        version = {"VersionId": upload.version_id} if upload.version_id else {}
        body = self._s3.get_object(Bucket=upload.bucket, Key=upload.key, **version)["Body"]
        return body.iter_lines(keepends=True)

    def _write(self, upload: Upload, summary: dict[str, Any]) -> None:
        key = f"{SUMMARY_PREFIX}{posixpath.basename(upload.key)}.summary.json"
        self._s3.put_object(Bucket=upload.bucket, Key=key, Body=json.dumps(summary, indent=2).encode())
