"""`python -m local.run` in a real subprocess: moto server, the simulator and the real handler."""

import json
import subprocess
import sys

import pytest

from local import ROOT

CAMPAIGN = ROOT / "examples" / "campaign.csv"


def run_campaign(*args):
    """`python -m local.run examples/campaign.csv ARGS` in a subprocess, finished with exit code 0."""
    done = subprocess.run(
        [sys.executable, "-m", "local.run", str(CAMPAIGN), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def local_run(*args):
    return json.loads(run_campaign("--json", *args).stdout)


@pytest.fixture(scope="module")
def campaign_summary():
    return local_run("--latency-ms", "5")


def test_the_json_summary_has_every_documented_field(campaign_summary):
    documented = {"job_id", "state", "rows", "counts", "stop_reason", "invocations", "simulator", "reports"}
    assert set(campaign_summary) >= documented
    assert campaign_summary["reports"] == {
        "results": "reports/campaign.results.csv",
        "summary": "reports/campaign.summary.json",
    }
    assert set(campaign_summary["counts"]) == {"SUBMITTED", "REJECTED", "FAILED", "UNKNOWN"}
    assert set(campaign_summary["simulator"]) == {"accepted", "duplicates"}


def test_the_example_campaign_completes_with_every_row_accounted_for(campaign_summary):
    assert campaign_summary["state"] == "COMPLETED"
    assert campaign_summary["rows"] == 329
    assert sum(campaign_summary["counts"].values()) == 329
    assert campaign_summary["counts"]["REJECTED"] >= 9
    assert campaign_summary["simulator"]["accepted"] == campaign_summary["counts"]["SUBMITTED"]
    assert campaign_summary["simulator"]["duplicates"] == 0


def test_a_short_time_budget_finishes_across_continuations():
    summary = local_run("--numbers-per-call", "20", "--remaining-ms", "400", "--latency-ms", "30")
    assert summary["state"] == "COMPLETED"
    assert summary["invocations"] > 1
    assert sum(summary["counts"].values()) == 329
    assert summary["simulator"]["duplicates"] == 0


def test_running_out_of_balance_stops_the_job_with_the_reason():
    summary = local_run("--numbers-per-call", "50", "--in-flight", "1", "--balance", "100")
    assert summary["state"] == "STOPPED"
    assert summary["stop_reason"].startswith("-10")
    assert summary["counts"]["SUBMITTED"] == summary["simulator"]["accepted"] <= 100
    assert sum(summary["counts"].values()) == 329


def test_a_dry_run_checks_every_row_and_sends_nothing():
    summary = local_run("--dry-run")
    assert summary["dry_run"] is True
    assert summary["simulator"]["accepted"] == 0
    assert summary["counts"]["SUBMITTED"] == 0
    assert summary["counts"]["VALIDATED"] + summary["counts"]["REJECTED"] == 329
    assert summary["reports"]["results"] == "reports/dry-run/campaign.results.csv"


def test_delivery_reports_move_submitted_numbers_to_delivered_or_undelivered():
    # A generous read timeout: one getReport answer later than 2 s on a loaded machine ends the single poll early
    # ("the next run tries again"), leaving numbers SUBMITTED; no answer here is meant to be late.
    summary = local_run("--delivery", "--delivered-ratio", "0.5", "--read-timeout-s", "30")
    counts = summary["counts"]
    assert counts["SUBMITTED"] == 0
    assert counts["DELIVERED"] > 0
    assert counts["UNDELIVERED"] > 0
    assert counts["DELIVERED"] + counts["UNDELIVERED"] == summary["simulator"]["accepted"]
    assert sum(counts.values()) == 329


def test_a_newcomer_sees_the_chunks_of_a_file_sent_by_the_step_functions_engine_complete(campaign_summary):
    done = run_campaign("--engine", "stepfunctions", "--chunk-rows", "100")
    assert "planned: 4 chunk(s)" in done.stderr
    ended = [line for line in done.stderr.splitlines() if line.startswith("chunk ")]  # in the order they ended
    assert sorted(line.split(":")[0] for line in ended) == [f"chunk {n} of 4" for n in (1, 2, 3, 4)]
    assert all(": COMPLETED, " in line for line in ended)
    assert "engine: Step Functions, 4 chunk(s)" in done.stdout
    counts = campaign_summary["counts"]
    assert f"rows: 329   SUBMITTED: {counts['SUBMITTED']}   REJECTED: {counts['REJECTED']}" in done.stdout
    assert "0 sent twice" in done.stdout
