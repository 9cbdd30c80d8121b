"""Every metric of our own on the dashboard is one the functions emit: read from the EMF logs of a real run.

The real handlers run in this process against moto server and the gateway simulator, through every path that
emits a metric: a completed job, a stopped one, a refused file, an ignored upload, a job handed over, a sweep and a
delivery poll that settles reports (asked later than they were sent, so they have a latency).
A metric put on the dashboard that no code emits fails here.
"""

import json
import time
from functools import cache

import pytest
from delivery import app as delivery_app
from sweep import app as sweep_app

from ingest import app as ingest_app
from local import ROOT
from local.invoke import LocalContext, s3_put_event
from smsdrop.config import Settings
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_poller, default_clients
from smsdrop.intake.uploads import Upload
from tests.fixtures.jobs import csv_of, numbers
from tests.unit.test_dashboard import own_metric_names, template


@pytest.fixture
def emitted(harness, monkeypatch, capsys):
    """Metric names and dimension sets of every EMF line the handlers printed."""
    env = {
        **harness.aws.env(),
        "RESULTS_TABLE": harness.settings.results_table,
        "GATEWAY_SECRET_ID": harness.settings.secret_id,
        "GATEWAY_URL": harness.settings.gateway_url,
        "GATEWAY_ALLOW_HTTP": "true",
        "CONTINUATION_QUEUE_URL": harness.settings.continuation_queue_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ingest_app.runner.cache_clear()
    delivery_app.poller.cache_clear()
    try:
        run_every_metric_path(harness, monkeypatch)
    finally:
        ingest_app.runner.cache_clear()
        delivery_app.poller.cache_clear()
    return emf(capsys.readouterr().out)


def run_every_metric_path(harness, monkeypatch):
    def ingest(body, key):
        ingest_app.handler(s3_put_event(harness.upload(body, key=key)), LocalContext(300_000))

    ingest((ROOT / "examples" / "campaign.csv").read_bytes(), "incoming/campaign.csv")
    ingest((ROOT / "tests" / "data" / "header_only.csv").read_bytes(), "incoming/header-only.csv")
    # Out of time at once: one batch is sent, the rest handed over (more rows than a batch: NUMBERS_PER_CALL).
    long_file = csv_of([(n, "hi", "", f"r{i}") for i, n in enumerate(numbers(250))])
    monkeypatch.setenv("NUMBERS_PER_CALL", "100")
    ingest_app.runner.cache_clear()
    ingest_app.handler(s3_put_event(harness.upload(long_file, key="incoming/long.csv")), LocalContext(1))
    monkeypatch.delenv("NUMBERS_PER_CALL")
    ingest_app.runner.cache_clear()
    harness.simulator.set_faults(balance=0)
    ingest(csv_of([(n, "hi", "", f"r{i}") for i, n in enumerate(numbers(3))]), "incoming/no-balance.csv")
    ignored = Upload(harness.aws.names.bucket, "elsewhere/notes.csv", "v1", '"e"', 1)
    ingest_app.handler(s3_put_event(ignored), LocalContext(300_000))
    later = cache(
        lambda: build_poller(
            Settings.from_env(), DeliverySettings.from_env(), *default_clients(), lambda: time.time() + 600
        )
    )
    monkeypatch.setattr(delivery_app, "poller", later)
    sweep_app.handler({"source": "aws.events"}, LocalContext(60_000, function_name="SweepFunction"))
    delivery_app.handler({"source": "aws.events"}, LocalContext(300_000, function_name="DeliveryFunction"))


def emf(stdout):
    """{metric name: set of dimension-name tuples} from the embedded metric format lines of `stdout`."""
    names: dict[str, set[tuple[str, ...]]] = {}
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                names.setdefault(metric["Name"], set()).update(tuple(d) for d in directive["Dimensions"])
    return names


def test_every_dashboard_metric_of_ours_is_emitted_with_the_service_dimension_on_a_run_through_every_path(emitted):
    # One test, not three: the run through every path takes ~25 s of CPU, and a fixture of a test's harness is made
    # again for each test.
    assert {"NumbersSubmitted", "FilesRefused", "JobsStopped", "UploadsIgnored", "JobsResumedBySweep"} <= set(emitted)
    assert {"ReportsDelivered", "ReportsPending"} <= set(emitted)
    assert {"JobsStarted", "JobsFinished", "ContinuationHops", "DeliveryReportLatency"} <= set(emitted)
    on_dashboard = own_metric_names(template())
    assert on_dashboard
    assert sorted(on_dashboard - set(emitted)) == []
    assert set().union(*(dims for name, dims in emitted.items() if name in on_dashboard)) == {("service",)}
