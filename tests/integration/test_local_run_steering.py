"""`python -m local.run` steering its job through the smsdrop command line's code: --cancel-after N cancels once the
simulator accepted N numbers, --resume-after-stop tops the balance up and resumes a stopped job (and, against a
gateway of its own, resumes without touching it)."""

import json
import os
import subprocess
import sys

from local import ROOT
from local.gateway_sim import Faults, GatewaySimulator

CAMPAIGN = ROOT / "examples" / "campaign.csv"
VALID = 320  # examples/campaign.csv: 329 rows, 9 rejected


def local_run(*args, env=None):
    done = subprocess.run(
        [sys.executable, "-m", "local.run", str(CAMPAIGN), "--json", "--numbers-per-call", "40", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout else done.stderr


def test_cancel_after_n_accepted_numbers_ends_the_job_cancelled_with_every_other_row_cancelled():
    code, summary = local_run("--cancel-after", "80", "--in-flight", "4")

    assert code == 1  # the job did not complete: it was cancelled
    assert summary["state"] == "CANCELLED"
    accepted = summary["simulator"]["accepted"]
    assert 80 <= accepted <= 80 + 4 * 40  # the batches in flight at the cancel finish, nothing after them
    assert summary["counts"]["SUBMITTED"] == accepted
    assert summary["counts"]["CANCELLED"] == VALID - accepted
    assert summary["simulator"]["duplicates"] == 0
    assert summary["history"][-1]["event"] == "cancelled"
    assert summary["history"][-1]["by"] == "local.run"


def test_resume_after_stop_tops_the_balance_up_and_sends_each_unsent_row_once():
    code, summary = local_run("--balance", "100", "--resume-after-stop", "--remaining-ms", "4000")

    assert code == 0
    assert summary["state"] == "COMPLETED"
    assert summary["counts"]["SUBMITTED"] == VALID
    assert summary["resumed"] == {"accepted_before": 80, "accepted_after": VALID - 80}
    assert summary["simulator"] == {"accepted": VALID, "duplicates": 0}
    assert [entry["event"] for entry in summary["history"]] == ["stopped", "resumed", "completed"]


def test_against_a_gateway_url_resume_after_stop_resumes_without_touching_the_provider():
    with GatewaySimulator(faults=Faults(balance=100)) as provider:
        env = os.environ | {
            "SMSDROP_API_KEY": provider.api_key,
            "SMSDROP_API_SECRET": provider.api_secret,
            "SMSDROP_APP_ID": provider.app_id,
        }
        code, summary = local_run("--gateway-url", provider.base_url, "--allow-http", "--resume-after-stop", env=env)

        assert summary["state"] == "STOPPED"  # the balance is still out: the resumed rows stop again, unsent
        assert [entry["event"] for entry in summary["history"]] == ["stopped", "resumed", "stopped"]
        assert len(provider.audit().accepted) == summary["counts"]["SUBMITTED"] == 80
        assert provider.balance == 20  # the run never topped this provider up
        assert code == 0
