"""The results file's multipart upload as the job item keeps it: the upload id, each part's ETag, and the row up to
which lines are in uploaded parts.

An ETag of a part is the MD5 of its bytes in hex, between quotes: kept as its 16 raw bytes, so a 10M-row file
(~160 parts of 5 MiB) costs the job item ~2.6 KB, not 5.4 KB (S3 caps an upload at 10,000 parts: 160 KB). An ETag
of any other form (a bucket with another checksum scheme) is kept as text, all of that upload's ETags with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smsdrop.store.updates import Update

UPLOAD_ID = "results_upload"
ETAGS = "results_etags"
THROUGH = "results_through"
_MD5 = re.compile(r'"[0-9a-f]{32}"')


@dataclass(frozen=True, slots=True)
class PartsRecord:
    """The parts of the results file uploaded so far: their ETags in order, and the last row they hold a line of."""

    upload_id: str
    etags: tuple[str, ...] = ()
    through_row: int = 0

    def with_part(self, etag: str, through_row: int) -> PartsRecord:
        """The record after one more part, holding lines up to `through_row`."""
        return PartsRecord(self.upload_id, (*self.etags, etag), through_row)

    def update(self) -> Update:
        """The job item update that records these parts."""
        return (
            Update()
            .set(f"{UPLOAD_ID} = :upload", {":upload": self.upload_id})
            .set(f"{ETAGS} = :etags", {":etags": pack_etags(self.etags)})
            .set(f"{THROUGH} = :through", {":through": self.through_row})
        )

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> PartsRecord | None:
        """The record a job item (plain values) holds, or None before the first part."""
        if UPLOAD_ID not in item:
            return None
        return cls(item[UPLOAD_ID], unpack_etags(item.get(ETAGS, b"")), int(item.get(THROUGH, 0)))


def pack_etags(etags: tuple[str, ...]) -> bytes | str:
    """MD5 ETags as 16 bytes each; any other ETags as their text, comma-separated."""
    if all(_MD5.fullmatch(etag) for etag in etags):
        return b"".join(bytes.fromhex(etag[1:-1]) for etag in etags)
    return ",".join(etags)


def unpack_etags(packed: Any) -> tuple[str, ...]:
    """Back from `pack_etags` (bytes, DynamoDB's Binary, or text)."""
    if isinstance(packed, str):
        return tuple(etag for etag in packed.split(",") if etag)
    raw = bytes(getattr(packed, "value", packed))
    return tuple(f'"{raw[i : i + 16].hex()}"' for i in range(0, len(raw), 16))
