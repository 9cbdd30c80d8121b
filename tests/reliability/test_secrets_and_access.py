"""Secrets, data and access: no log line or metric holds a credential, a signature or a phone number; credentials
rotate without a redeploy; and what the deployed stack allows (the checks tests/unit/test_template.py lacks)."""

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import replace

import pytest
from cfnlint.decode.cfn_yaml import load

from local import ROOT
from local.invoke import continuation_event, s3_put_event
from smsdrop.config import Settings
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.report_client import ReportClient
from smsdrop.provider.send_client import GatewayClient
from smsdrop.provider.session import ProviderHttp
from smsdrop.send.runner import JobRunner, RunEnd
from tests.reliability.support import function_env, invoke

WRITTEN = ["+91 98765 43210", "0091-98765-43211", "919876543212", "(+91) 98765.43213", "+919876543214"]
NUMBERS = [re.sub(r"\D", "", n).removeprefix("00") for n in WRITTEN]


def campaign_with_bad_rows(count):
    rows = [f"9198765{i:05d},Your code is {i % 9}4471,SHOP,o{i}" for i in range(count)]
    rows += [f'"{w}",Hello,SHOP,w{i}' for i, w in enumerate(WRITTEN)]
    rows += ["91987654AB21,Hi,SHOP,bad1", "9.18765E+11,Hi,SHOP,bad2", f"{WRITTEN[0]},Hello,SHOP,dup"]
    return ("number,content,senderId,orderId\n" + "\n".join(rows) + "\n").encode()


def rotate(harness, simulator, api_key, api_secret):
    """Put new credentials in the secret; from now on the simulator accepts only them."""
    value = {"apiKey": api_key, "apiSecret": api_secret, "appId": simulator.app_id}
    secretsmanager = harness.aws.client("secretsmanager")
    secretsmanager.put_secret_value(SecretId=harness.aws.names.secret, SecretString=json.dumps(value))
    simulator.api_key, simulator.api_secret = api_key, api_secret


def run_to_end(harness, upload, env, folder, remaining_ms):
    """The S3 event, then every continuation, each in a process of its own; everything they wrote."""
    outputs, ends = [], []
    event = s3_put_event(upload)
    while event:
        done = invoke(event, env, folder, remaining_ms=remaining_ms)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs += [done.stdout, done.stderr]
        ends += done.ends
        message = harness.next_continuation()
        event = continuation_event(json.dumps(message), "m") if message else None
    return outputs, ends


@pytest.mark.slow
@pytest.mark.timeout(600)  # a safety net against a hang: on a loaded machine it has taken 170 s
def test_no_log_line_or_metric_of_a_normal_run_a_run_that_fails_and_stops_or_a_refused_file_holds_a_secret_or_number(
    harness, simulator, tmp_path
):
    api_key, api_secret = f"key-{secrets.token_hex(12)}", secrets.token_hex(16)
    rotate(harness, simulator, api_key, api_secret)
    env = function_env(harness, POWERTOOLS_LOG_LEVEL="DEBUG", NUMBERS_PER_CALL="20", IN_FLIGHT_BATCHES="2")
    started = time.time()

    normal, normal_ends = run_to_end(harness, harness.upload(campaign_with_bad_rows(200)), env, tmp_path, 900_000)
    # 500s and resets end UNKNOWN (never resent), -18 and -16 are retried, stalls are late; the balance runs out.
    faults = {"http_500_rate": 0.3, "code_18_rate": 0.1, "code_16_rate": 0.1, "reset_rate": 0.25, "stall_rate": 0.1}
    simulator.set_faults(**faults, stall_s=2.5, balance=200)
    failing = harness.upload(campaign_with_bad_rows(400), "incoming/b.csv")
    stopped, stopped_ends = run_to_end(harness, failing, env, tmp_path, 1300)
    headerless = harness.upload(b"+91 98765 43210,Hello,SHOP,o1\n+91 98765 43211,Hello,SHOP,o2\n", "incoming/c.csv")
    refused, refused_ends = run_to_end(harness, headerless, env, tmp_path, 900_000)

    assert (normal_ends[-1], stopped_ends[-1], refused_ends) == ("COMPLETED", "STOPPED", ["FAILED"])
    assert len(stopped_ends) > 1  # the stopped job was handed over between invocations too
    text = "\n".join(normal + stopped + refused)
    for said in ("Job finished", "gateway call ambiguous", "retrying", "Provider stopped the job", "File refused"):
        assert said in text  # the logs of every path were captured
    assert '"_aws"' in text  # and the metrics (embedded metric format)

    assert api_key not in text
    assert api_secret not in text
    sent = {call.sign for call in simulator.calls}
    assert sent
    assert [s for s in sent if s in text] == []
    window = range(int(started) - 60, int(time.time()) + 60)
    signs = {hashlib.md5(f"{api_key}{api_secret}{t}".encode()).hexdigest() for t in window}
    assert [h for h in re.findall(r"[0-9a-f]{32}", text) if h in signs] == []
    assert [n for n in WRITTEN + NUMBERS if n in text] == []
    file_numbers = set(re.findall(r"9198765\d{5}", campaign_with_bad_rows(400).decode()))
    assert [n for n in file_numbers if n in text or n[2:] in text] == []


# ---------------------------------------------------------------------------------------------- rotation


class RotateAt:
    """The runner's gateway: before its n-th call the credentials are rotated (the secret, and the provider
    accepts only the new ones), and that call waits `age_s`, as if that much time had passed."""

    def __init__(self, inner, nth, rotation, age_s):
        self.inner, self.left, self.rotation, self.age_s = inner, nth, rotation, age_s

    def send(self, items, time_left=None):
        self.left -= 1
        if self.left == 0:
            self.rotation()
            # The secret cache (powertools) reads the wall clock and takes no clock to inject: really wait.
            threading.Event().wait(self.age_s)
        return self.inner.send(items, time_left)


@pytest.mark.parametrize(
    ("max_age_s", "ends_as"),
    [(1, RunEnd.COMPLETED), (300, RunEnd.STOPPED)],
    ids=["re-read-after-max-age-so-the-new-key-is-used", "cached-for-300s-so-the-old-key-is-refused-and-the-job-stops"],
)
def test_credentials_rotated_in_the_secret_mid_run_are_used_once_the_cached_value_is_older_than_secret_max_age(
    harness, simulator, max_age_s, ends_as
):
    upload = harness.upload(campaign_with_bad_rows(1000))
    settings, ports = harness.ports(in_flight=1, secret_max_age_s=max_age_s)
    old_key = simulator.api_key
    new_key, new_secret = f"new-{secrets.token_hex(8)}", secrets.token_hex(16)
    rotating = RotateAt(ports.gateway, 4, lambda: rotate(harness, simulator, new_key, new_secret), 1.1)

    result = harness.run(upload, JobRunner(settings, replace(ports, gateway=rotating)))

    assert result.end is ends_as
    keys = [call.api_key for call in simulator.calls]
    assert keys[:3] == [old_key] * 3
    if ends_as is RunEnd.COMPLETED:
        assert set(keys[3:]) == {new_key}  # every call after the rotation, without a redeploy or a cold start
        assert len(keys) == 11
    else:
        assert keys[3:] == [old_key]  # the cached key, refused (-1): the job stops rather than fail every row
        assert result.stop_reason.startswith("-1 ")
    harness.assert_promises_kept(upload, 1008)


# ---------------------------------------------------------------------------------------------- the stack

TEMPLATE = json.loads(json.dumps(load(str(ROOT / "template.yaml"))))
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function")
QUEUES = sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::SQS::Queue")
CREDENTIAL_WORDS = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)


def environment(function):
    merged = dict(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    merged.update(RESOURCES[function]["Properties"].get("Environment", {}).get("Variables", {}))
    return merged


def test_the_stack_has_functions_and_queues_to_check():
    assert {"IngestFunction", "SweepFunction"} <= set(FUNCTIONS)
    assert {"ContinuationQueue", "FailedEventsQueue"} <= set(QUEUES)


SECRET_REFERENCES = {
    "GATEWAY_SECRET_ID": {"Fn::If": ["CreateSecret", {"Ref": "GatewaySecret"}, {"Ref": "ExistingSecretArn"}]},
    "PUSH_TOKEN_SECRET_ID": {"Ref": "PushTokenSecret"},
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_is_given_a_credential_in_its_environment_only_the_secret_to_read_it_from(function):
    suspicious = {name: value for name, value in environment(function).items() if CREDENTIAL_WORDS.search(name)}
    assert set(suspicious) <= set(SECRET_REFERENCES)
    for name, value in suspicious.items():
        assert value == SECRET_REFERENCES[name]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_logs_to_its_own_log_group_kept_only_for_the_retention_parameter(function):
    group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]
    assert set(group) == {"Ref"}
    log_group = RESOURCES[group["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    others = [f for f in FUNCTIONS if f != function]
    assert all(RESOURCES[f]["Properties"]["LoggingConfig"]["LogGroup"] != group for f in others)


@pytest.mark.parametrize("queue", QUEUES)
def test_every_queue_is_encrypted_at_rest(queue):
    assert RESOURCES[queue]["Properties"].get("SqsManagedSseEnabled") is True


GATEWAY_FUNCTIONS = [f for f in FUNCTIONS if "GATEWAY_URL" in environment(f)]


@pytest.mark.parametrize("function", GATEWAY_FUNCTIONS)
@pytest.mark.parametrize("client", [GatewayClient, ReportClient], ids=["send", "report"])
def test_a_deployed_function_refuses_a_plain_http_gateway_even_if_the_url_parameter_let_one_through(function, client):
    deployed = environment(function)
    assert deployed["GATEWAY_ALLOW_HTTP"] == "false"
    settings = Settings.from_env({"GATEWAY_URL": "http://api.itniotech.com/sms", "GATEWAY_ALLOW_HTTP": "false"})
    assert issubclass(client, ProviderHttp)
    with pytest.raises(ValueError, match="must use https"):
        client(settings.gateway_url, lambda: Credentials("k", "s", "a"), allow_http=settings.allow_http)


def test_the_secret_is_re_read_often_enough_for_a_rotation_to_need_no_redeploy():
    assert "SECRET_MAX_AGE_S" not in json.dumps(TEMPLATE)  # the code's default applies
    assert Settings().secret_max_age_s <= 300
