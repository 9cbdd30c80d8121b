"""The smsdrop command line against moto server: a job found by S3 URI or id, status and jobs, the stack found by
its CloudFormation outputs, export of the original bytes of rows, and `status --watch` in a pseudo-terminal."""

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import openpyxl

from smsdrop.models import Position, Status
from smsdrop.send.runner import RunEnd
from smsdrop.store.jobs import JobState, JobStore
from smsdrop.store.lease import Completions
from smsdrop_cli.main import main
from tests.fixtures.jobs import numbers

ROOT = Path(__file__).resolve().parents[2]
SMSDROP = [sys.executable, "-m", "smsdrop_cli.main"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
WAIT_S = 60.0  # a safety net for output that must come: never reached when the code is right


def flags(harness):
    names = harness.aws.names
    return [
        "--endpoint-url",
        harness.aws.endpoint,
        "--table",
        names.table,
        "--bucket",
        names.bucket,
        "--queue-url",
        harness.settings.continuation_queue_url,
        "--prices",
        '{"91": 0.0022}',
    ]


def smsdrop(harness, *args):
    out = io.StringIO()
    code = main([*flags(harness), *args], out=out)
    return code, out.getvalue()


def test_status_finds_a_job_by_the_s3_uri_of_its_upload_or_by_its_id_and_tells_its_counts_and_cost(harness):
    body = ("number,content\n" + "".join(f"{n},Hello\n" for n in numbers(30)) + "12ab,Hello\n").encode()
    upload = harness.upload(body)
    assert harness.run(upload).end is RunEnd.COMPLETED

    code, by_uri = smsdrop(harness, "status", f"s3://{upload.bucket}/{upload.key}")
    assert code == 0
    assert f"job {upload.job_id}" in by_uri
    assert "state: COMPLETED" in by_uri
    assert "counts: SUBMITTED 30   REJECTED 1" in by_uri
    assert "file: 100% read" in by_uri
    assert "estimated cost: 0.0660 (30 SMS parts)" in by_uri
    assert "history: completed" in by_uri
    assert smsdrop(harness, "status", upload.job_id)[1].splitlines()[:6] == by_uri.splitlines()[:6]

    code, listed = smsdrop(harness, "jobs")
    assert code == 0
    assert re.search(rf"{upload.job_id}\s+COMPLETED\s+31\s+incoming/campaign.csv", listed)


def test_a_job_that_does_not_exist_or_an_action_that_does_not_apply_exits_1_saying_why(harness, capsys):
    assert smsdrop(harness, "status", "0" * 32)[0] == 1
    upload = harness.upload(("number,content\n" + f"{numbers(1)[0]},Hi\n").encode())
    harness.run(upload)
    assert smsdrop(harness, "pause", upload.job_id)[0] == 1
    assert smsdrop(harness, "cancel", upload.job_id)[0] == 1
    assert smsdrop(harness, "resume", upload.job_id)[0] == 1
    assert "already ended COMPLETED" in capsys.readouterr().err


def test_the_stack_is_found_by_its_cloudformation_outputs(harness):
    names = harness.aws.names
    outputs = {
        "BucketName": names.bucket,
        "TableName": names.table,
        "ContinuationQueueUrl": harness.settings.continuation_queue_url,
    }
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{names.queue}-marker"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    harness.aws.client("cloudformation").create_stack(StackName="smsdrop-test", TemplateBody=json.dumps(template))
    upload = harness.upload(("number,content\n" + f"{numbers(1)[0]},Hi\n").encode())
    harness.run(upload)
    out = io.StringIO()

    code = main(["--endpoint-url", harness.aws.endpoint, "--stack", "smsdrop-test", "status", upload.job_id], out=out)

    assert code == 0
    assert "state: COMPLETED" in out.getvalue()


def test_export_writes_the_original_bytes_of_the_rows_in_the_statuses_asked_for(harness, simulator, tmp_path):
    good = numbers(6)
    lines = [
        b"Phone;Message;Reference\r\n",  # Windows-1252, semicolons, CRLF, a quoted field with the delimiter
        f'{good[0]};"Caf\xe9; open";r1\r\n'.encode("cp1252"),
        f"{good[1]};Hello;r2\r\n".encode("cp1252"),
        b"12ab;Hello;r3\r\n",
        f'{good[2]};"two\r\nlines";r4\r\n'.encode("cp1252"),
        f"{good[3]};Hello;r5\r\n".encode("cp1252"),
    ]
    upload = harness.upload(b"".join(lines))
    simulator.set_faults(balance=1)  # the first call (one number) is accepted, the next answered -10
    runner = harness.runner(numbers_per_call=1, in_flight=1)
    assert harness.run(upload, runner).end is RunEnd.STOPPED
    statuses = {int(i["row"]): i["status"] for i in harness.items(upload)}
    assert list(statuses.values()).count("FAILED") == 3

    out = tmp_path / "rows.csv"
    code, _ = smsdrop(harness, "export", upload.job_id, "--status", "FAILED,REJECTED", "-o", str(out))

    assert code == 0
    chosen = {row for row, status in statuses.items() if status in ("FAILED", "REJECTED")}
    assert out.read_bytes() == lines[0] + b"".join(line for row, line in enumerate(lines[1:], start=2) if row in chosen)


def test_export_of_a_workbook_writes_the_rows_cells_as_csv(harness, simulator, tmp_path):
    good = [int(n) for n in numbers(4)]
    book = openpyxl.Workbook()
    for row in (["Phone", "Message"], [good[0], "Hi"], [good[1], "Sale, today"], ["12ab", "Hi"], [good[2], "Bye"]):
        book.active.append(row)
    body = io.BytesIO()
    book.save(body)
    upload = harness.upload(body.getvalue(), key="incoming/list.xlsx")
    simulator.set_faults(balance=1)
    assert harness.run(upload, harness.runner(numbers_per_call=1, in_flight=1)).end is RunEnd.STOPPED

    out = tmp_path / "rows.csv"
    assert smsdrop(harness, "export", upload.job_id, "--status", "FAILED", "-o", str(out))[0] == 0

    assert out.read_text().splitlines() == ["Phone,Message", f'{good[1]},"Sale, today"', f"{good[2]},Bye"]


def test_status_watch_draws_the_file_read_in_a_terminal_until_the_job_ends(harness):
    body = ("number,content\n" + "".join(f"{n},Hello\n" for n in numbers(100)) + "").encode()
    upload = harness.upload(body)
    lease = JobStore(harness.aws.client("dynamodb"), harness.aws.names.table).claim(
        upload, "test", time.time(), 600, int(time.time()) + 3600
    )
    watcher, output = _spawn([*SMSDROP, *flags(harness), "status", upload.job_id, "--watch", "--interval", "0.05"])
    try:
        assert output.until(lambda text: "RUNNING" in text and "0%" in text), output.text
        half = Completions(counts={Status.SUBMITTED: 50}, checkpoint=Position(len(body) // 2, 51))
        lease.complete(half, time.time() + 600)
        assert output.until(lambda text: "50%" in text), output.text
        lease.complete(Completions(counts={Status.SUBMITTED: 50}, checkpoint=Position(len(body), 101)), time.time())
        lease.finish(JobState.COMPLETED, time.time(), 100)
        assert watcher.wait(WAIT_S) == 0
        assert output.until(lambda text: f"job {upload.job_id} COMPLETED: SUBMITTED 100" in text), output.text
    finally:
        watcher.kill()
    bar = output.text.split(f"job {upload.job_id} COMPLETED")[0].splitlines()[-1]
    assert "100%" in bar  # the bar's last drawing, when the job ended


class _Terminal:
    """What a process wrote to its pseudo-terminal, read as it comes."""

    def __init__(self, fd):
        self._fd, self.text = fd, ""

    def until(self, seen):
        deadline = time.monotonic() + WAIT_S
        while not seen(self.text) and time.monotonic() < deadline:
            ready, _, _ = select.select([self._fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self._fd, 65536)
                except OSError:  # the process ended and closed the terminal
                    chunk = b""
                self.text += ANSI.sub("", chunk.decode(errors="replace"))
        return seen(self.text)


def _spawn(command):
    master, slave = pty.openpty()
    env = os.environ | {"COLUMNS": "120", "TERM": "xterm-256color", "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    return process, _Terminal(master)


def test_optout_add_holds_a_number_back_from_the_next_job_and_remove_and_check_say_so_with_the_number_masked(
    harness, capsys
):
    first, second = numbers(2)
    code, added = smsdrop(harness, "optout", "add", f"+{first}", "--number-region", "")
    assert code == 0
    assert added.strip() == f"••••{first[-4:]}: added to the opt-out list"

    upload = harness.upload(f"number,content\n{first},Hello\n{second},Hello\n".encode())
    assert harness.run(upload).end is RunEnd.COMPLETED
    statuses = {i["number"]: (i["status"], i.get("reason")) for i in harness.items(upload)}
    assert statuses[first] == ("REJECTED", "opted out")
    assert statuses[second][0] == "SUBMITTED"

    code, checked = smsdrop(harness, "optout", "check", f"+{first}", f"+{second}", "--number-region", "")
    assert (code, checked.splitlines()) == (
        0,
        [f"••••{first[-4:]}: opted out", f"••••{second[-4:]}: not on the list"],
    )
    assert smsdrop(harness, "optout", "remove", f"+{first}", "--number-region", "")[0] == 0
    assert (
        smsdrop(harness, "optout", "check", f"+{first}", "--number-region", "")[1].strip().endswith("not on the list")
    )

    code, _ = smsdrop(harness, "optout", "add", "12ab", "--number-region", "")
    err = capsys.readouterr().err
    assert code == 1
    assert "not a number, nothing done" in err
    assert first not in err
