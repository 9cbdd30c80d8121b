"""The CloudWatch dashboard in template.yaml: valid JSON once substituted, only metrics that exist, every alarm.

That each of our own metrics on it is one the functions emit is checked against a real run's EMF logs in
tests/integration/test_dashboard_metrics.py.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}")
PSEUDO = {"AWS::Region", "AWS::StackName"}
# What AWS publishes for the stack's resources: namespace -> (dimension, resource type, metric names).
AWS_METRICS = {
    "AWS/Lambda": ("FunctionName", "AWS::Serverless::Function", {"Errors", "Throttles", "Duration", "Invocations"}),
    "AWS/SQS": ("QueueName", "AWS::SQS::Queue", {"NumberOfMessagesSent", "ApproximateNumberOfMessagesVisible"}),
    "AWS/DynamoDB": ("TableName", "AWS::DynamoDB::Table", {"ReadThrottleEvents", "WriteThrottleEvents"}),
}


def template() -> dict[str, Any]:
    return json.loads(json.dumps(load(str(ROOT / "template.yaml"))))


def body_text(tpl: dict[str, Any]) -> str:
    return tpl["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]


def dashboard(tpl: dict[str, Any]) -> dict[str, Any]:
    """The body with each ${Name} or ${Name.Attr} replaced by <Name> or <Name.Attr>."""
    return json.loads(PLACEHOLDER.sub(lambda m: "<" + ".".join(filter(None, m.groups())) + ">", body_text(tpl)))


def metrics(tpl: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(namespace, metric, dimension name, dimension value) of every metric the dashboard draws."""
    found = []
    for widget in dashboard(tpl)["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            namespace, name, dimension, value = metric[:4]
            found.append((namespace, name, dimension, value))
    return found


def own_metric_names(tpl: dict[str, Any]) -> set[str]:
    """Names of the dashboard's metrics in the functions' own namespace."""
    namespace = tpl["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    return {name for ns, name, _, _ in metrics(tpl) if ns == namespace}


@pytest.fixture(scope="module")
def tpl():
    return template()


def test_the_body_is_json_once_every_placeholder_is_substituted(tpl):
    assert dashboard(tpl)["widgets"]


def test_every_placeholder_names_a_pseudo_parameter_or_a_resource_of_the_stack(tpl):
    for name, attribute in PLACEHOLDER.findall(body_text(tpl)):
        assert name in PSEUDO or name in tpl["Resources"], name
        assert attribute in ("", "Arn", "QueueName"), attribute


def test_our_own_metrics_use_the_namespace_and_dimension_the_functions_emit_under(tpl):
    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    own = [m for m in metrics(tpl) if not m[0].startswith("AWS/")]
    assert own
    assert {(ns, dim, value) for ns, _, dim, value in own} == {
        (env["POWERTOOLS_METRICS_NAMESPACE"], "service", env["POWERTOOLS_SERVICE_NAME"])
    }


def test_aws_metrics_are_ones_aws_publishes_for_a_resource_of_the_stack(tpl):
    published = [m for m in metrics(tpl) if m[0].startswith("AWS/")]
    assert {ns for ns, *_ in published} == set(AWS_METRICS)
    for namespace, name, dimension, value in published:
        expected_dimension, resource_type, names = AWS_METRICS[namespace]
        assert (dimension, name in names) == (expected_dimension, True), (namespace, name)
        resource = re.fullmatch(r"<(\w+)(?:\.\w+)?>", value).group(1)
        assert tpl["Resources"][resource]["Type"] == resource_type


def test_every_alarm_of_the_stack_is_on_the_dashboard(tpl):
    alarms = {name for name, r in tpl["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    shown = [a for w in dashboard(tpl)["widgets"] if w["type"] == "alarm" for a in w["properties"]["alarms"]]
    assert sorted(shown) == sorted(f"<{alarm}.Arn>" for alarm in alarms)


def test_the_dashboard_shows_numbers_by_status_jobs_delivery_reports_hops_and_throttles(tpl):
    names = {name for _, name, _, _ in metrics(tpl)}
    assert {f"Numbers{s}" for s in ("Submitted", "Rejected", "Failed", "Unknown", "Delivered", "Undelivered")} <= names
    assert {"JobsStopped", "FilesRefused", "JobsResumedBySweep", "ReportsDelivered", "ReportsUndelivered"} <= names
    assert {"JobsStarted", "JobsFinished", "ContinuationHops", "DeliveryReportLatency"} <= names
    assert {
        "GatewayRetries",
        "AmbiguousAnswers",
        "DynamoDBThrottles",
        "ReadThrottleEvents",
        "Throttles",
        "Errors",
    } <= names


def test_the_stand_ins_for_metrics_the_functions_emit_are_gone(tpl):
    drawn = {(m[1], m[4]["stat"]) for m in _metric_rows(tpl)}
    assert ("Batches", "SampleCount") not in drawn  # JobsFinished counts finished jobs
    assert {"NumberOfMessagesSent", "WriteThrottleEvents"}.isdisjoint(name for name, _ in drawn)


def _metric_rows(tpl):
    return [m for w in dashboard(tpl)["widgets"] for m in w["properties"].get("metrics", [])]


def test_widgets_sit_on_the_24_column_grid_without_overlapping(tpl):
    cells = set()
    for widget in dashboard(tpl)["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & area, widget["properties"].get("title")
        cells |= area


def test_every_metric_widget_names_its_region_and_a_title(tpl):
    for widget in dashboard(tpl)["widgets"]:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "<AWS::Region>"
            assert widget["properties"]["title"]


def test_the_stack_outputs_the_dashboards_console_url(tpl):
    url = tpl["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert url.startswith("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}")
    assert url.endswith("#dashboards:name=${Dashboard}")
