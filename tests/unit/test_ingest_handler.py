import json

import pytest

from ingest.app import handler
from local import ROOT
from local.invoke import LocalContext
from smsdrop.intake.uploads import Upload
from smsdrop.send.events import uploads_in


def event(name):
    return json.loads((ROOT / "events" / name).read_text())


def test_an_s3_put_event_names_its_upload_with_version_and_etag():
    (upload,) = uploads_in(event("s3-put.json"))
    assert upload.bucket == "smsdrop-local"
    assert upload.key == "incoming/campaign.csv"
    assert upload.version_id
    assert upload.is_job


def test_keys_in_s3_events_are_url_decoded():
    (upload,) = uploads_in(event("s3-put-gz.json"))
    assert upload.key == "incoming/campaign 2026.csv.gz"
    assert upload.is_job


def test_a_continuation_message_names_the_same_upload_as_its_job():
    (upload,) = uploads_in(event("continuation.json"))
    body = json.loads(event("continuation.json")["Records"][0]["body"])
    assert upload == Upload.from_message(body)
    assert upload.job_id == body["job_id"]


def test_every_record_of_an_event_is_its_own_upload():
    two = event("s3-put.json")
    second = json.loads(json.dumps(two["Records"][0]))
    second["s3"]["object"]["key"] = "incoming/other.csv"
    two["Records"].append(second)
    assert [u.key for u in uploads_in(two)] == ["incoming/campaign.csv", "incoming/other.csv"]


@pytest.mark.parametrize(
    "key",
    ["reports/campaign.results.csv", "incoming/campaign.xls", "elsewhere/campaign.csv"],
    ids=["report", "old-excel", "outside-incoming"],
)
def test_objects_that_are_not_csv_drops_are_ignored_without_running_a_job(key):
    ignored = event("s3-put.json")
    ignored["Records"][0]["s3"]["object"]["key"] = key
    assert handler(ignored, LocalContext(budget_ms=1000)) == {"runs": []}
