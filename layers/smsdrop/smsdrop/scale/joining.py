"""Finish's join: the chunks' results objects, in chunk order, after one header line, as one results file.

An S3 multipart upload: a chunk object of at least 5 MiB is copied server-side (UploadPartCopy) when nothing is
waiting before it; smaller ones are gathered into a part of 5 MiB (every part but the last must be that big).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from smsdrop.output.results_file import COLUMNS, PART_BYTES, LineBuffer


class ResultsJoin:
    """One results file made of chunk objects, written part by part."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self._s3, self._bucket, self._key = s3, bucket, key
        header = LineBuffer()
        header.line(list(COLUMNS))
        self._buffer = header.take()
        self._upload_id = ""
        self._parts: list[dict[str, Any]] = []

    def join(self, sources: Iterable[str]) -> None:
        """Append each source object, then complete the file."""
        for source in sources:
            self._append(source)
        self._complete()

    def _append(self, source: str) -> None:
        size = self._s3.head_object(Bucket=self._bucket, Key=source)["ContentLength"]
        if not self._buffer and size >= PART_BYTES:
            self._copy(source)
            return
        self._buffer += self._s3.get_object(Bucket=self._bucket, Key=source)["Body"].read()
        if len(self._buffer) >= PART_BYTES:
            self._upload_buffer()

    def _copy(self, source: str) -> None:
        answer = self._s3.upload_part_copy(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._started(),
            PartNumber=len(self._parts) + 1,
            CopySource={"Bucket": self._bucket, "Key": source},
        )
        self._parts.append({"PartNumber": len(self._parts) + 1, "ETag": answer["CopyPartResult"]["ETag"]})

    def _upload_buffer(self) -> None:
        number, body, self._buffer = len(self._parts) + 1, self._buffer, b""
        answer = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._started(), PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def _started(self) -> str:
        if not self._upload_id:
            answer = self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._key, ContentType="text/csv")
            self._upload_id = answer["UploadId"]
        return self._upload_id

    def _complete(self) -> None:
        if not self._parts:
            self._s3.put_object(Bucket=self._bucket, Key=self._key, Body=self._buffer, ContentType="text/csv")
            return
        if self._buffer:
            self._upload_buffer()
        self._s3.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )
