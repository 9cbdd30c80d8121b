"""Finish's join: one header, then each chunk's lines in chunk order; big chunks copied by S3, small ones gathered."""

from __future__ import annotations

import io
from typing import Any

from smsdrop.output.results_file import PART_BYTES
from smsdrop.scale.joining import ResultsJoin


class FakeS3:
    """Objects in memory, a multipart upload that keeps its parts, and a log of the calls that moved bytes."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.parts: dict[int, bytes] = {}
        self.calls: list[str] = []

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        return {"ContentLength": len(self.objects[Key])}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        self.calls.append(f"get {Key}")
        return {"Body": io.BytesIO(self.objects[Key])}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:  # noqa: N803
        self.objects[Key] = Body

    def create_multipart_upload(self, **_: Any) -> dict[str, Any]:
        return {"UploadId": "u"}

    def upload_part(self, *, PartNumber: int, Body: bytes, **_: Any) -> dict[str, Any]:  # noqa: N803
        self.parts[PartNumber] = Body
        self.calls.append(f"part {PartNumber}")
        return {"ETag": f"e{PartNumber}"}

    def upload_part_copy(self, *, PartNumber: int, CopySource: dict[str, str], **_: Any) -> dict[str, Any]:  # noqa: N803
        self.parts[PartNumber] = self.objects[CopySource["Key"]]
        self.calls.append(f"copy {CopySource['Key']}")
        return {"CopyPartResult": {"ETag": f"e{PartNumber}"}}

    def complete_multipart_upload(self, *, Key: str, MultipartUpload: dict[str, Any], **_: Any) -> None:  # noqa: N803
        assert [p["PartNumber"] for p in MultipartUpload["Parts"]] == sorted(self.parts)
        self.objects[Key] = b"".join(self.parts[n] for n in sorted(self.parts))


HEADER = b"row,number,orderId,status,reason,msgId,parts,encoding\r\n"


def test_small_chunks_make_one_put_after_the_header() -> None:
    s3 = FakeS3({"c0": b"2,a\r\n", "c1": b"3,b\r\n"})
    ResultsJoin(s3, "b", "out").join(["c0", "c1"])
    assert s3.objects["out"] == HEADER + b"2,a\r\n3,b\r\n"


def test_a_big_chunk_after_a_full_part_is_copied_by_s3_not_read() -> None:
    big = b"x" * PART_BYTES
    s3 = FakeS3({"c0": big, "c1": big, "c2": b"tail"})
    ResultsJoin(s3, "b", "out").join(["c0", "c1", "c2"])
    assert s3.objects["out"] == HEADER + big + big + b"tail"
    assert s3.calls == ["get c0", "part 1", "copy c1", "get c2", "part 3"]
