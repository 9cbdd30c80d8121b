"""Which uploads are jobs, and the identity of each: the same upload is always the same job."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

INCOMING_PREFIX = "incoming/"
WORKBOOK_SUFFIX = ".xlsx"
JOB_SUFFIXES = (".csv", ".csv.gz", WORKBOOK_SUFFIX)


def is_workbook(key: str) -> bool:
    """Whether the object is an Excel workbook (.xlsx) rather than a CSV."""
    return key.lower().endswith(WORKBOOK_SUFFIX)


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded object: where it is and which version of it."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str = ""
    size: int | None = None

    @property
    def job_id(self) -> str:
        """Derived from bucket, key and version (or ETag when unversioned): a re-delivered event maps here."""
        identity = self.version_id or f"etag:{self.etag.strip(chr(34))}"
        digest = hashlib.sha256(f"{self.bucket}\n{self.key}\n{identity}".encode()).hexdigest()
        return digest[:32]

    @property
    def row_span(self) -> tuple[int, int] | None:
        """The rows (after, through) this upload's job records when not all of its file's (a chunk's); None: all."""
        return None

    @property
    def rows_of(self) -> str:
        """The job whose row items this upload's rows are, when not its own (a chunk of a scaled-out job)."""
        return ""

    @property
    def is_job(self) -> bool:
        """Whether this object is a file dropped for sending (under incoming/, .csv, .csv.gz or .xlsx)."""
        return self.key.startswith(INCOMING_PREFIX) and self.key.lower().endswith(JOB_SUFFIXES)

    def to_message(self) -> dict[str, Any]:
        """The JSON-ready body of a continuation message."""
        return {"job_id": self.job_id, **asdict(self)}

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> Upload:
        """Rebuild an upload from a continuation message body."""
        return cls(
            bucket=body["bucket"],
            key=body["key"],
            version_id=body.get("version_id"),
            etag=body.get("etag", ""),
            size=body.get("size"),
        )
