"""The guards end to end through local.run (moto server, the gateway simulator, the real handler): a quote that
never closes at the last row refuses the file with nothing accepted by the simulator; an opt-out file dropped under
optouts/ holds its numbers back from the send, and a file exactly at MAX_ROWS_PER_JOB is sent."""

import json
import subprocess
import sys

from local import ROOT

ROWS = 40


def local_run(path, *args):
    """local.run in a process of its own (each starts its own moto server), its --json summary."""
    command = [sys.executable, "-m", "local.run", str(path), "--json", "--latency-ms", "1", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    return json.loads(done.stdout)


def write_file(path, last_row):
    lines = ["Phone,Message"] + [f"+9198765{n:05d},Hello {n}" for n in range(ROWS - 1)] + [last_row]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_first_refuses_a_file_whose_last_row_never_closes_its_quote_with_nothing_sent(tmp_path):
    path = write_file(tmp_path / "bad_last_row.csv", '+919876599999,"Hello, and the quote never closes')
    summary = local_run(path)
    assert summary["state"] == "FAILED"
    assert f"a quoted field in row {ROWS + 1} is not closed properly" in summary["error"]
    assert summary["simulator"] == {"accepted": 0, "duplicates": 0}
    assert summary["counts"]["SUBMITTED"] == 0


def test_opted_out_numbers_are_held_back_and_a_file_at_its_row_cap_is_sent(tmp_path):
    path = write_file(tmp_path / "campaign.csv", "+919876599999,Last one")
    stop = tmp_path / "stop.csv"
    stop.write_text("Mobile,Reply\n+91 98765 00003,STOP\n+919876500007,stop\n")
    summary = local_run(path, "--max-rows", str(ROWS), "--optouts", str(stop))
    assert summary["state"] == "COMPLETED"
    assert summary["simulator"] == {"accepted": ROWS - 2, "duplicates": 0}
    assert summary["counts"]["REJECTED"] == 2
    assert summary["intake"]["guards"] == {
        "max_rows_per_job": ROWS,
        "max_cost_per_job": None,
        "checked_first": {"rows": ROWS, "estimated_cost": "0.0880"},
        "opted_out": 2,
        "send_window": None,
        "would_wait": None,
    }
