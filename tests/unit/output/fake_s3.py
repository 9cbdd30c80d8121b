"""Just enough of an S3 client for the results file: objects, and multipart uploads held to S3's part rules."""

from __future__ import annotations

import hashlib
import io
import itertools
from typing import Any

from botocore.exceptions import ClientError

MIN_PART = 5 * 1024 * 1024


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeS3:
    """Objects by key, multipart uploads by id; `min_part` is S3's 5 MiB (every part but the last)."""

    def __init__(self, min_part: int = MIN_PART) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}
        self.puts: list[str] = []
        self.min_part = min_part
        self._ids = itertools.count(1)

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:  # noqa: N803
        self.objects[Key] = bytes(Body)
        self.puts.append(Key)
        return {}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        if Key not in self.objects:
            raise _error("NoSuchKey", "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def delete_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        self.objects.pop(Key, None)
        return {}

    def list_objects_v2(self, Bucket: str, Prefix: str) -> dict[str, Any]:  # noqa: N803
        return {"Contents": [{"Key": key} for key in sorted(self.objects) if key.startswith(Prefix)]}

    def create_multipart_upload(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        upload_id = f"upload-{next(self._ids)}"
        self.uploads[upload_id] = {}
        return {"UploadId": upload_id}

    def upload_part(self, Bucket: str, Key: str, UploadId: str, PartNumber: int, Body: bytes) -> dict[str, Any]:  # noqa: N803
        if UploadId not in self.uploads:
            raise _error("NoSuchUpload", "UploadPart")
        self.uploads[UploadId][PartNumber] = bytes(Body)
        return {"ETag": f'"{hashlib.md5(Body).hexdigest()}"'}

    def complete_multipart_upload(self, Bucket: str, Key: str, UploadId: str, MultipartUpload: dict[str, Any]) -> dict:  # noqa: N803
        if UploadId not in self.uploads:
            raise _error("NoSuchUpload", "CompleteMultipartUpload")
        stored = self.uploads.pop(UploadId)
        parts = MultipartUpload["Parts"]
        assert [p["PartNumber"] for p in parts] == list(range(1, len(parts) + 1))
        bodies = [stored[p["PartNumber"]] for p in parts]
        for part, body in zip(parts, bodies, strict=True):
            assert part["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        if any(len(body) < self.min_part for body in bodies[:-1]):
            raise _error("EntityTooSmall", "CompleteMultipartUpload")
        self.objects[Key] = b"".join(bodies)
        return {}
