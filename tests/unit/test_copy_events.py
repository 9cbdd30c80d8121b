"""A CopyObject event (metadata edited in place, an old version restored) never starts a job: the template does not
trigger on copies, and the handler ignores them should a trigger ever be set to s3:ObjectCreated:*."""

import json

from ingest.app import handler
from local import ROOT
from local.invoke import LocalContext
from smsdrop.send.events import uploads_in


def event(name):
    return json.loads((ROOT / "events" / name).read_text())


def test_a_copy_event_names_no_upload_and_runs_no_job():
    copy = event("s3-copy.json")
    assert copy["Records"][0]["eventName"] == "ObjectCreated:Copy"
    assert uploads_in(copy) == []
    assert handler(copy, LocalContext(budget_ms=1000)) == {"runs": []}


def test_a_copy_beside_a_put_in_one_event_leaves_only_the_put():
    both = event("s3-put.json")
    both["Records"].append(event("s3-copy.json")["Records"][0])
    assert [u.version_id for u in uploads_in(both)] == [both["Records"][0]["s3"]["object"]["versionId"]]
