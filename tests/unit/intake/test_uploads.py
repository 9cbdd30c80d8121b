import pytest

from smsdrop.intake.uploads import Upload


@pytest.mark.parametrize(
    ("key", "is_job"),
    [
        ("incoming/campaign.csv", True),
        ("incoming/campaign.CSV", True),
        ("incoming/sub/folder/list.csv.gz", True),
        ("reports/campaign.results.csv", False),
        ("incoming/campaign.xlsx", True),
        ("incoming/campaign.XLSX", True),
        ("incoming/campaign.xls", False),
        ("campaign.csv", False),
        ("incoming/campaign.csv.zip", False),
    ],
    ids=[
        "csv",
        "upper-case-suffix",
        "gzip-in-subfolder",
        "report",
        "xlsx",
        "upper-case-xlsx",
        "old-excel",
        "outside-incoming",
        "zip",
    ],
)
def test_only_csv_and_xlsx_files_under_incoming_are_jobs(key, is_job):
    assert Upload("b", key).is_job is is_job


def test_the_same_upload_is_always_the_same_job():
    assert Upload("b", "incoming/a.csv", "v1").job_id == Upload("b", "incoming/a.csv", "v1", etag="x").job_id


@pytest.mark.parametrize(
    "other",
    [Upload("b", "incoming/a.csv", "v2"), Upload("c", "incoming/a.csv", "v1"), Upload("b", "incoming/b.csv", "v1")],
    ids=["new-version", "other-bucket", "other-key"],
)
def test_a_new_version_bucket_or_key_is_a_new_job(other):
    assert Upload("b", "incoming/a.csv", "v1").job_id != other.job_id


def test_an_unversioned_upload_is_identified_by_its_etag():
    first = Upload("b", "incoming/a.csv", None, etag='"abc"')
    assert first.job_id == Upload("b", "incoming/a.csv", None, etag="abc").job_id
    assert first.job_id != Upload("b", "incoming/a.csv", None, etag='"abd"').job_id


def test_a_continuation_message_round_trips_the_upload():
    upload = Upload("b", "incoming/a b.csv", "v1", '"e"', 42)
    message = upload.to_message()
    assert message["job_id"] == upload.job_id
    assert Upload.from_message(message) == upload
