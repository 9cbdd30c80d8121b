"""What one invocation leaves in S3 for the next about the results file it was writing: one small JSON object.

`reports/.state/<job_id>/<n>.json`, n being the parts uploaded so far, holds the lines not yet in an uploaded part,
the items of rows recorded past the last line (their lines wait for the rows before them), and the page's and the
cost's tallies of every line written. It is written after each part is uploaded (before the job item is told of
the part, so the job item never names a part its state object does not know) and when an invocation hands over;
the state of the previous part goes once the job item knows the new one. A crash loses only what came after the
last write: the next invocation reads those rows' items back (a bounded read, see smsdrop.send.recovery).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from smsdrop.output.results_file import REPORTS_PREFIX
from smsdrop.store.file_parts import PartsRecord

STATE_PREFIX = f"{REPORTS_PREFIX}.state/"
Item = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Saved:
    """The results file of a job as far as it got: the multipart upload (if a part was uploaded), the rows up to
    which lines are in parts (`parts_through`) and written at all (`through_row`), the lines since the last part,
    the items held past `through_row`, and the page's and the cost's tallies (None before any line)."""

    upload_id: str = ""
    etags: tuple[str, ...] = ()
    parts_through: int = 0
    through_row: int = 0
    lines: str = ""
    held: list[Item] = field(default_factory=list)
    page: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None

    @classmethod
    def after_parts(cls, parts: PartsRecord) -> Saved:
        """What is known from the job item alone: the parts, and nothing after them."""
        return cls(parts.upload_id, parts.etags, parts.through_row, parts.through_row)

    def as_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Saved:
        """Back from `as_json`."""
        return cls(**{**data, "etags": tuple(data["etags"])})


class StateStore:
    """The state objects of one job's results file."""

    def __init__(self, s3: Any, bucket: str, job_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = f"{STATE_PREFIX}{job_id}/"

    def load(self, parts: int) -> Saved | None:
        """The state saved with `parts` parts uploaded, or None if there is none."""
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._key(parts))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return Saved.from_json(json.loads(body))

    def save(self, parts: int, saved: Saved) -> None:
        """Keep `saved`, the state with `parts` parts uploaded."""
        body = json.dumps(saved.as_json(), separators=(",", ":")).encode()
        self._s3.put_object(Bucket=self._bucket, Key=self._key(parts), Body=body, ContentType="application/json")

    def drop(self, parts: int) -> None:
        """Forget the state saved with `parts` parts (a later one replaces it)."""
        self._s3.delete_object(Bucket=self._bucket, Key=self._key(parts))

    def clear(self) -> None:
        """Forget every state of the job (its file is complete)."""
        listing = self._s3.list_objects_v2(Bucket=self._bucket, Prefix=self._prefix)
        for entry in listing.get("Contents", []):
            self._s3.delete_object(Bucket=self._bucket, Key=entry["Key"])

    def _key(self, parts: int) -> str:
        return f"{self._prefix}{parts}.json"
