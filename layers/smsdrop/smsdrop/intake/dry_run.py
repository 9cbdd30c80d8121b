"""Dry runs: check and batch a file, send nothing. Asked for by folder or by object metadata."""

from __future__ import annotations

from typing import Any

from smsdrop.intake.uploads import INCOMING_PREFIX, Upload

DRY_RUN_PREFIX = f"{INCOMING_PREFIX}dry-run/"
DRY_RUN_METADATA = "dry-run"  # x-amz-meta-dry-run: true


def is_dry_run(s3: Any, upload: Upload) -> bool:
    """Whether the upload is under incoming/dry-run/ or carries the metadata `dry-run: true`."""
    if upload.key.startswith(DRY_RUN_PREFIX):
        return True
    request = {"Bucket": upload.bucket, "Key": upload.key} | (
        {"VersionId": upload.version_id} if upload.version_id else {}
    )
    metadata: dict[str, str] = s3.head_object(**request).get("Metadata", {})
    return metadata.get(DRY_RUN_METADATA, "").strip().lower() == "true"
