"""A gzip upload as plain bytes for the chunks: a compressed file cannot be entered midway, so the plan writes its
inflated bytes once (`reports/.scale/<job>/plain.csv`) and every chunk reads its own range of that object. The
reader's offsets of a gzip file are offsets in its inflated bytes, so the plan's positions hold in the copy."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from smsdrop.intake.line_feed import ObjectBytes
from smsdrop.intake.uploads import Upload, is_workbook
from smsdrop.output.results_file import PART_BYTES


def inflated_copy(s3: Any, upload: Upload, key: str) -> bool:
    """Write the upload's inflated bytes to `key` if it is a gzip file; whether it was."""
    stored = ObjectBytes(s3, upload.bucket, upload.key, upload.version_id)
    if is_workbook(upload.key) or stored.from_offset(0) is not None:
        return False
    _upload(s3, upload.bucket, key, _parts(stored()))
    return True


def _parts(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes in parts of at least PART_BYTES (S3 multipart's least), the last one as it comes."""
    part = bytearray()
    for chunk in chunks:
        part += chunk
        if len(part) >= PART_BYTES:
            yield bytes(part)
            part.clear()
    yield bytes(part)


def _upload(s3: Any, bucket: str, key: str, parts: Iterable[bytes]) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/csv")["UploadId"]
    done = [
        {"PartNumber": number, "ETag": s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"]}
        for number, body in enumerate(parts, start=1)
    ]  # fmt: skip
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
