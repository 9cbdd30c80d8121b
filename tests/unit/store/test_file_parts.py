"""The results file's parts as the job item keeps them: 16 bytes an MD5 ETag, any other ETag as its text."""

from boto3.dynamodb.types import Binary

from smsdrop.store.file_parts import PartsRecord, pack_etags, unpack_etags

MD5 = ('"0123456789abcdef0123456789abcdef"', '"fedcba9876543210fedcba9876543210"')


def test_md5_etags_take_sixteen_bytes_each_and_read_back_as_s3_wrote_them():
    packed = pack_etags(MD5)
    assert len(packed) == 32
    assert unpack_etags(packed) == MD5
    assert unpack_etags(Binary(packed)) == MD5  # as boto3 reads a binary attribute


def test_etags_of_any_other_form_are_kept_as_text():
    odd = ('"0123456789abcdef0123456789abcdef-2"', MD5[0])
    assert unpack_etags(pack_etags(odd)) == odd


def test_a_job_item_without_an_upload_has_no_parts_and_one_with_parts_reads_them_back():
    assert PartsRecord.of({"job_id": "j"}) is None
    record = PartsRecord("up-1").with_part(MD5[0], 90).with_part(MD5[1], 200)
    values = record.update().values
    item = {"results_upload": values[":upload"], "results_etags": values[":etags"], "results_through": 200}
    assert PartsRecord.of(item) == record == PartsRecord("up-1", MD5, 200)
