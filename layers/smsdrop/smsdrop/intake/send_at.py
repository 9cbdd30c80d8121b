"""Scheduled sends: the object metadata `send-at` (ISO 8601 with a UTC offset) holds a job until then.

`aws s3 cp list.csv s3://<bucket>/incoming/ --metadata send-at=2026-12-01T09:30:00+05:30`. A time without an offset
would be a guess about the zone it means, so it refuses the file, as does one that cannot be read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from smsdrop.errors import SmsdropError
from smsdrop.intake.uploads import Upload

SEND_AT_METADATA = "send-at"  # x-amz-meta-send-at
EXAMPLE = "2026-12-01T09:30:00+05:30"


class SendAtRefused(SmsdropError):  # noqa: N818 - a verdict on the upload, said to the operator
    """The upload's `send-at` cannot be used: the job fails with this reason and nothing is sent."""


def parse_send_at(raw: str) -> datetime:
    """The instant `raw` names (ISO 8601 with a UTC offset, or `Z`); SendAtRefused saying why it cannot be used."""
    text = raw.strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise SendAtRefused(f"send-at {text!r} is not an ISO 8601 time: write it like {EXAMPLE}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise SendAtRefused(f"send-at {text!r} has no UTC offset, so its zone is unknown: write it like {EXAMPLE}")
    return at


def read_send_at(s3: Any, upload: Upload) -> datetime | None:
    """The upload's `send-at`, if its metadata has one; SendAtRefused if it cannot be used."""
    request = {"Bucket": upload.bucket, "Key": upload.key} | (
        {"VersionId": upload.version_id} if upload.version_id else {}
    )
    metadata: dict[str, str] = s3.head_object(**request).get("Metadata", {})
    raw = metadata.get(SEND_AT_METADATA, "")
    return parse_send_at(raw) if raw.strip() else None
