"""Hostile and broken uploads (tests/data/bad/, expectations.toml): each goes through the real job runner against
moto server and the simulator, and must end in a recorded job outcome - refused with its reason, or completed
with the bad rows rejected - never a crash, a hang (pytest-timeout) or a memory blow-up (peak RSS, measured in a
process of its own for the big ones, which are generated here rather than committed). Whatever the file holds,
what is recorded is bounded text (intake/bounds.py) and a results file lists every recorded row: no file is
poison that fails the job's writes on every retry."""

import csv
import hashlib
import io
import re
import tomllib
import zlib
from pathlib import Path

import pytest

from local import ROOT
from local.invoke import s3_put_event
from smsdrop.intake.bounds import CELL_CHARS, REASON_CHARS, REFUSAL_CHARS
from smsdrop.intake.columns import Columns
from smsdrop.send.runner import RunEnd
from tests.reliability.support import function_env, invoke, stored_items, stored_job

BAD = ROOT / "tests" / "data" / "bad"
EXPECTED = tomllib.loads((BAD / "expectations.toml").read_text())
HEADER = "number,content,senderId,orderId\n"
COMMITTED = sorted(name for name, e in EXPECTED.items() if "generate" not in e)
GENERATED = sorted(name for name, e in EXPECTED.items() if "generate" in e)
SMALL = b"number,content,senderId,orderId\n919876500001,hi,S,o1\n919876500002,hi,S,o2\n919876500003,hi,S,o3\n"
ITEM_BYTES = 400_000  # DynamoDB's item size limit
MARKER_CHARS = len("…[cut 131072 chars]")


def test_the_table_names_every_committed_file_and_nothing_else():
    on_disk = {p.name for p in BAD.iterdir() if p.name != "expectations.toml"}
    assert on_disk == set(COMMITTED)
    assert len(COMMITTED) + len(GENERATED) >= 25


def check_outcome(name, expected, job, items, audit, rows_sent_as=None):
    """The job ended as the table says; nothing was sent that should not be, and nothing sent was changed."""
    check_bounded(job, items)
    accepted = {a.order_id: a for a in audit.accepted}
    if expected["outcome"] == "refused":
        assert job["state"] == "FAILED", name
        assert expected["error"] in job["error"]
        assert "9876500" not in re.sub(r"\D", "", job["error"])  # no phone number of the file (all have these)
        assert len(items) == expected.get("items", 0)
        assert accepted.keys() == {i["order_id"] for i in items if i["status"] == "SUBMITTED"}
        return
    assert job["state"] == "COMPLETED", (name, job.get("error"))
    assert int(job["rows"]) == len(items) == len({int(i["row"]) for i in items})
    rejected = {str(int(i["row"])): i["reject_code"] for i in items if i["status"] == "REJECTED"}
    assert rejected == expected["rejected"]
    assert {i["status"] for i in items} <= {"SUBMITTED", "REJECTED"}
    submitted = {i["order_id"]: i for i in items if i["status"] == "SUBMITTED"}
    assert submitted.keys() == accepted.keys()
    assert all(submitted[o]["msg_id"] == a.msg_id and submitted[o]["number"] == a.number for o, a in accepted.items())
    if rows_sent_as is not None:
        assert {o: a.content_sha256 for o, a in accepted.items()} == {o: rows_sent_as[o] for o in accepted}


def check_bounded(job, items):
    """What was recorded is text of a bounded size, whatever the file held."""
    assert len(job.get("error", "")) <= REFUSAL_CHARS
    for item in items:
        assert sum(len(k) + len(str(v).encode()) for k, v in item.items()) < ITEM_BYTES  # strict UTF-8
        assert len(item["reason"]) <= REASON_CHARS
        assert all(len(item[cell]) <= CELL_CHARS + MARKER_CHARS for cell in ("number", "sender_id", "order_id"))


def check_results_file(s3, bucket, job, items):
    """The results file was written, one line for every recorded row."""
    body = s3.get_object(Bucket=bucket, Key=job["results_key"])["Body"].read().decode()
    lines = list(csv.reader(io.StringIO(body, newline="")))
    assert lines[0][0] == "row"
    assert sorted(int(line[0]) for line in lines[1:]) == sorted(int(i["row"]) for i in items)


def written_contents(data: bytes, encoding: str = "utf-8-sig", delimiter: str = ",") -> dict[str, str]:
    """orderId -> sha256 of the content cell as written (trimmed), for every row of a small CSV."""
    header, *rows = csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=delimiter)
    columns = Columns.of(header)
    content, order_id = columns.content, columns.order_id
    cells = [(r[order_id], r[content]) for r in rows if len(r) > max(content, order_id) and r[order_id]]
    return {order: hashlib.sha256(text.strip().encode()).hexdigest() for order, text in cells}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", COMMITTED)
def test_a_committed_bad_file_ends_as_the_table_says(harness, simulator, name):
    expected = EXPECTED[name]
    data = (BAD / name).read_bytes()
    upload = harness.upload(data, key=f"incoming/{name}")
    result = harness.run(upload)
    assert result.end.value == ("FAILED" if expected["outcome"] == "refused" else "COMPLETED")
    how = {k: expected[k] for k in ("encoding", "delimiter") if k in expected}
    contents = written_contents(data, **how) if expected["outcome"] == "completed" else None
    job, items = harness.job(upload), harness.items(upload)
    check_outcome(name, expected, job, items, simulator.audit(), contents)
    check_results_file(harness.aws.client("s3"), upload.bucket, job, items)


# ---------------------------------------------------------------------------------------------- generated


def field_10mb_one_line(path):
    path.write_text(HEADER + '919876500001,"' + "x" * 10_000_000 + '",S,o1\n919876500002,ok,S,o2\n')


def field_10mb_multiline(path):
    path.write_text(HEADER + '919876500001,"' + ("y" * 99 + "\n") * 100_000 + '",S,o1\n919876500002,ok,S,o2\n')


def row_100k_columns(path):
    wide = ",".join(["919876500002", *["z"] * 99_999])
    path.write_text(HEADER + f"919876500001,ok,S,o1\n{wide}\n919876500003,ok,S,o3\n")


def header_100k_columns(path):
    names = ",".join(f"c{i}" for i in range(99_998))
    path.write_text(f"number,content,{names}\n919876500001,ok{',' * 99_998}\n")


def invalid_utf8_after_the_first_block(path):
    rows = "".join(f"9198765{i:05d},{'w' * 1000},S,o{i}\n" for i in range(300))  # past the first 256 KiB read
    tail = b"919876509998,caf\xe9,S,bad\n919876509999,fine,S,last\n"
    path.write_bytes(HEADER.encode() + rows.encode() + tail)


def bad_bytes_in_number_and_order_id_after_the_first_block(path):
    rows = "".join(f"9198765{i:05d},{'w' * 1000},S,o{i}\n" for i in range(300))  # past the first 256 KiB read
    tail = b"91987650999\xe9,hi,S,n1\n919876509998,hi,S,caf\xe9\n919876509999,fine,S,last\n"  # Windows-1252 e-acute
    path.write_bytes(HEADER.encode() + rows.encode() + tail)


def cells_of_240kb(path):
    big = "".join(chr(0x1F600 + i % 80) for i in range(60_000))  # 240 KB of emoji; csv allows 131 072 characters
    rows = [f"{big},hi,S,{big}", f"919876500003,hi,{big},{big}", "919876500004,hi,S,o4"]
    path.write_text(HEADER + "\n".join(rows) + "\n")


def number_cells_of_131072_characters(path):
    cell = "(" * 131_071 + "!"  # as long as csv allows: the old pattern took about a minute over each
    rows = [f"{cell},hi,S,o{i}" if i % 2 else f"9198765{i:05d},hi,S,o{i}" for i in range(1, 7)]
    path.write_text(HEADER + "\n".join(rows) + "\n")


def header_700kb_without_content(path):
    names = ",".join(f"column{i:05d}" for i in range(60_000))
    path.write_text(f"number,{names}\n919876500001{',' * 60_000}\n")


def gzip_bomb_one_line(path):
    _gzip(path, [HEADER.encode()] + [b"a" * (1 << 20)] * 1024)  # 1 GiB of one line, about 1 MB of gzip


def gzip_bomb_blank_lines(path):
    _gzip(path, [HEADER.encode(), b"919876500001,ok,S,o1\n"] + [b"\n" * (1 << 20)] * 50)  # 52 million blank lines


def excel_padding_rows(path):
    rows = "919876500001,hi,S,o1\n919876500002,hi,S,o2\n919876500003,hi,S,o3\n"
    path.write_text(HEADER + rows + ",,,\n" * (1_048_576 - 4))  # a spreadsheet's last row is 1 048 576


def _gzip(path, chunks):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(packer.compress(chunk))
        out.write(packer.flush())


GENERATORS = {
    f.__name__: f
    for f in (
        field_10mb_one_line,
        field_10mb_multiline,
        row_100k_columns,
        header_100k_columns,
        invalid_utf8_after_the_first_block,
        bad_bytes_in_number_and_order_id_after_the_first_block,
        cells_of_240kb,
        number_cells_of_131072_characters,
        header_700kb_without_content,
        gzip_bomb_one_line,
        gzip_bomb_blank_lines,
        excel_padding_rows,
    )
}
_BASELINE: dict[str, float] = {}


def _baseline(harness, folder: Path) -> float:
    """The peak memory of the same process sending a 3-row file (measured once)."""
    if "mb" not in _BASELINE:
        upload = harness.upload(SMALL, key="incoming/small.csv")
        done = invoke(s3_put_event(upload), function_env(harness), folder)
        assert done.ends == [RunEnd.COMPLETED.value], done.stderr[-2000:]
        _BASELINE["mb"] = done.answer["max_rss_kb"] / 1024
        harness.simulator.reset_audit()
    return _BASELINE["mb"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.timeout(EXPECTED[n]["seconds"] + 30)) for n in GENERATED], ids=GENERATED
)
def test_a_generated_bad_file_ends_as_the_table_says_in_bounded_time_and_memory(harness, simulator, tmp_path, name):
    expected = EXPECTED[name]
    path = tmp_path / name
    GENERATORS[expected["generate"]](path)
    upload = harness.upload(path.read_bytes(), key=f"incoming/{name}")
    baseline = _baseline(harness, tmp_path)

    done = invoke(s3_put_event(upload), function_env(harness), tmp_path, timeout_s=expected["seconds"])

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.ends == [("FAILED" if expected["outcome"] == "refused" else "COMPLETED")]
    table = harness.aws.names.table
    job, items = stored_job(table, upload.job_id), stored_items(table, upload.job_id)
    check_outcome(name, expected, job, items, simulator.audit())
    check_results_file(harness.aws.client("s3"), upload.bucket, job, items)
    peak = done.answer["max_rss_kb"] / 1024
    print(f"\n{name}: {path.stat().st_size / 1e6:.1f} MB, peak RSS {peak:.0f} MB (3-row file: {baseline:.0f} MB)")
    assert peak - baseline < expected["max_rss_mb"]
