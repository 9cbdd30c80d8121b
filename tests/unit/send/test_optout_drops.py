"""The ingest function's route for opt-out files: optouts/ adds, optouts/remove/ removes, a summary without numbers
is left under reports/optouts/, and job files still go to the runner."""

import io
import json

from aws_lambda_powertools import Logger
from botocore.response import StreamingBody

from smsdrop.intake.uploads import Upload
from smsdrop.send.handler_support import run_jobs
from smsdrop.send.optout_drops import OptOutDrops

Logger()  # the parent of the package's child loggers, as the handler's is


class ListOfNumbers:
    def __init__(self):
        self.numbers, self.sources = set(), set()

    def add(self, numbers, source, now):
        numbers = set(numbers)
        self.numbers |= numbers
        self.sources.add(source)
        return len(numbers)

    def remove(self, numbers):
        numbers = set(numbers)
        self.numbers -= numbers
        return len(numbers)


class Bucket:
    def __init__(self, objects):
        self.objects = dict(objects)

    def get_object(self, Bucket, Key, VersionId=None):  # noqa: N803 - boto3's names
        body = self.objects[Key]
        return {"Body": StreamingBody(io.BytesIO(body), len(body))}

    def put_object(self, Bucket, Key, Body):  # noqa: N803 - boto3's names
        self.objects[Key] = Body


def s3_event(*keys):
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": key, "versionId": "v1", "eTag": "e", "size": 9}},
            }
            for key in keys
        ]
    }


def test_an_opt_out_file_adds_its_numbers_and_one_under_remove_takes_them_off():
    bucket = Bucket({"optouts/stop.csv": b"phone\n+919876543210\n+447700900123\nnot a number\n"})
    bucket.objects["optouts/remove/oops.csv"] = b"+447700900123\n"
    optouts = ListOfNumbers()
    drops = OptOutDrops(bucket, optouts, "", clock=lambda: 1.0)
    answer = run_jobs(lambda: None, s3_event("optouts/stop.csv", "optouts/remove/oops.csv"), lambda: 1, lambda: drops)
    assert optouts.numbers == {"919876543210"}
    assert optouts.sources == {"s3://b/optouts/stop.csv"}
    assert [(o["action"], o["numbers"], o["not_numbers"]) for o in answer["optouts"]] == [
        ("added", 2, 1),
        ("removed", 1, 0),
    ]
    summary = bucket.objects["reports/optouts/stop.csv.summary.json"].decode()
    assert json.loads(summary)["first_rows_not_numbers"] == [4]
    assert "9876543210" not in summary
    assert answer["runs"] == []


def test_job_files_still_go_to_the_runner_and_other_objects_are_ignored():
    ran = []

    class Runner:
        def run(self, upload, remaining_ms):
            ran.append(upload.key)
            from smsdrop.send.run_result import RunEnd, RunResult

            return RunResult(upload.job_id, RunEnd.COMPLETED)

    def no_drops():
        raise AssertionError("no opt-out file in this event")

    answer = run_jobs(Runner, s3_event("incoming/a.csv", "optouts/a.xlsx", "elsewhere/b.csv"), lambda: 1, no_drops)
    assert ran == ["incoming/a.csv"]
    assert "optouts" not in answer
    assert Upload("b", "incoming/a.csv", "v1").is_job
