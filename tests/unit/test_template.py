"""template.yaml: lint-clean, least privilege, encrypted, and in step with the code, the local stack and events/."""

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from cfnlint.decode.cfn_yaml import load

from local.aws import create_results_table
from local.invoke import recursion_allowed
from smsdrop.config import DEFAULT_GATEWAY_URL, ENV
from smsdrop.delivery.settings import DELIVERY_ENV
from smsdrop.intake.row_checks import Destinations
from smsdrop.intake.uploads import Upload
from smsdrop.send.send_window import SendWindow
from smsdrop.store.delivery import AWAITING, AWAITING_INDEX, DUE, MSG_ID_INDEX, SUBMITTED_AT

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
EVENTS = ROOT / "events"

BUCKET_NAME = {"Fn::Sub": "${AWS::StackName}-${AWS::AccountId}-${AWS::Region}"}
SECRET_ARN = {"Fn::If": ["CreateSecret", {"Ref": "GatewaySecret"}, {"Ref": "ExistingSecretArn"}]}
CONTINUATION_QUEUE_NAME = {"Fn::GetAtt": ["ContinuationQueue", "QueueName"]}
TABLE = {"Ref": "ResultsTable"}
FUNCTIONS = ["IngestFunction", "SweepFunction"]
DELIVERY_FUNCTIONS = ["DeliveryFunction", "DeliveryPushFunction"]
SCALE_FUNCTIONS = ["ScaleFunction"]
ALL_FUNCTIONS = FUNCTIONS + DELIVERY_FUNCTIONS + SCALE_FUNCTIONS
SCALE_OUT_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-scale-out"
}


def _plain(node: Any) -> Any:
    """cfn-lint's YAML nodes as plain dicts, lists and strings (intrinsics become {"Ref": ...} etc.)."""
    return json.loads(json.dumps(node))


def _load_template() -> dict[str, Any]:
    return _plain(load(str(TEMPLATE_PATH)))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


def _props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources[logical_id]["Properties"]


def _environment(template: dict[str, Any], function: str) -> dict[str, Any]:
    """The function's variables as deployed: SAM merges Globals into each function."""
    merged = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    merged.update(_props(template["Resources"], function).get("Environment", {}).get("Variables", {}))
    return merged


def _walk(node: Any) -> Any:
    """Every dict in a tree, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


# ---------------------------------------------------------------- lint


def test_cfn_lint_finds_nothing_in_the_template_not_even_informational():
    matches = lint(
        TEMPLATE_PATH.read_text(),
        config=ManualArgs(regions=["us-east-1", "eu-west-1", "ap-south-1"], include_checks=["I"]),
    )
    assert [str(match) for match in matches] == []


# ---------------------------------------------------------------- least privilege

POLICY_TEMPLATES = [
    ("IngestFunction", "AWSSecretsManagerGetSecretValuePolicy", {"SecretArn": SECRET_ARN}),
    ("IngestFunction", "SQSSendMessagePolicy", {"QueueName": CONTINUATION_QUEUE_NAME}),
    ("SweepFunction", "SQSSendMessagePolicy", {"QueueName": CONTINUATION_QUEUE_NAME}),
    ("DeliveryFunction", "AWSSecretsManagerGetSecretValuePolicy", {"SecretArn": SECRET_ARN}),
    ("DeliveryPushFunction", "AWSSecretsManagerGetSecretValuePolicy", {"SecretArn": {"Ref": "PushTokenSecret"}}),
    ("ScaleFunction", "AWSSecretsManagerGetSecretValuePolicy", {"SecretArn": SECRET_ARN}),
]


def _policies(resources: dict[str, Any], function: str) -> list[Any]:
    return _props(resources, function).get("Policies", [])


def _template_policies(resources: dict[str, Any], function: str) -> list[tuple[str, Any]]:
    return [
        next(iter(policy.items()))
        for policy in _policies(resources, function)
        if isinstance(policy, dict) and "Statement" not in policy
    ]


@pytest.mark.parametrize(
    ("function", "policy", "arguments"),
    POLICY_TEMPLATES,
    ids=[f"{function}-{policy}" for function, policy, _ in POLICY_TEMPLATES],
)
def test_each_function_gets_its_policy_templates_scoped_to_the_stack_resources(resources, function, policy, arguments):
    assert (policy, arguments) in _template_policies(resources, function)


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_a_function_has_no_policy_template_beyond_the_listed_ones(resources, function):
    allowed = [(policy, arguments) for name, policy, arguments in POLICY_TEMPLATES if name == function]
    assert sorted(map(repr, _template_policies(resources, function))) == sorted(map(repr, allowed))


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_a_function_attaches_no_managed_policy_by_name(resources, function):
    assert [policy for policy in _policies(resources, function) if isinstance(policy, str)] == []


def test_no_statement_anywhere_grants_on_every_resource(template):
    wildcards = [node for node in _walk(template) if node.get("Resource") in ("*", ["*"])]
    assert wildcards == []


def _delivery_statements(index: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": f"Query{index}Index",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Sub": f"${{ResultsTable.Arn}}/index/{index}"},
        },
        {
            "Sid": "UpdateResultItems",
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": {"Fn::GetAtt": ["ResultsTable", "Arn"]},
        },
    ]


BUCKET_OBJECTS = "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}"
SCHEDULING_STATEMENTS = [
    {
        "Sid": "ScheduleContinuations",
        "Effect": "Allow",
        "Action": ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"],
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${ScheduleGroup}/*"
        },
    },
    {
        "Sid": "PassSchedulerRole",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
        "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
    },
]
"""A waiting job's schedule in the stack's group only, run as the role that may only queue its continuation."""


SCALE_STATEMENTS = [
    {
        "Sid": "ReadUploadsOnly",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": {"Fn::Sub": f"{BUCKET_OBJECTS}/incoming/*"},
    },
    {
        "Sid": "ReportsAndWorkingObjects",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        "Resource": {"Fn::Sub": f"{BUCKET_OBJECTS}/reports/*"},
    },
    {
        "Sid": "ListWorkingObjects",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": {"Fn::Sub": BUCKET_OBJECTS},
        "Condition": {"StringLike": {"s3:prefix": "reports/.scale/*"}},
    },
    {
        "Sid": "JobChunkAndResultItems",
        "Effect": "Allow",
        "Action": [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
        ],
        "Resource": {"Fn::GetAtt": ["ResultsTable", "Arn"]},
    },
]
"""The scale-out steps: read the upload, write the reports and the job's working objects, list and remove those."""


def test_the_only_inline_statements_are_what_each_function_calls_on_its_own_prefix_table_or_index(resources):
    statements = [
        (function, statement)
        for function in ALL_FUNCTIONS
        for policy in _policies(resources, function)
        if isinstance(policy, dict) and "Statement" in policy
        for statement in policy["Statement"]
    ]
    assert statements == [
        (
            "IngestFunction",
            {
                "Sid": "ReadUploadsOnly",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [{"Fn::Sub": f"{BUCKET_OBJECTS}/incoming/*"}, {"Fn::Sub": f"{BUCKET_OBJECTS}/optouts/*"}],
            },
        ),
        (
            "IngestFunction",
            {
                "Sid": "WriteReportsOnly",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": {"Fn::Sub": f"{BUCKET_OBJECTS}/reports/*"},
            },
        ),
        (
            "IngestFunction",
            {
                "Sid": "HandOverState",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:DeleteObject"],
                "Resource": {"Fn::Sub": f"{BUCKET_OBJECTS}/reports/.state/*"},
            },
        ),
        (
            "IngestFunction",
            {
                "Sid": "ListHandOverState",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": {"Fn::Sub": BUCKET_OBJECTS},
                "Condition": {"StringLike": {"s3:prefix": "reports/.state/*"}},
            },
        ),
        (
            "IngestFunction",
            {
                "Sid": "JobAndResultItems",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                ],
                "Resource": {"Fn::GetAtt": ["ResultsTable", "Arn"]},
            },
        ),
        *(("IngestFunction", statement) for statement in SCHEDULING_STATEMENTS),
        (
            "IngestFunction",
            {"Sid": "StartScaleOut", "Effect": "Allow", "Action": "states:StartExecution", "Resource": SCALE_OUT_ARN},
        ),
        (
            "SweepFunction",
            {
                "Sid": "QueryActiveJobsIndex",
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": {"Fn::Sub": "${ResultsTable.Arn}/index/ActiveJobs"},
            },
        ),
        *(("DeliveryFunction", statement) for statement in _delivery_statements(AWAITING_INDEX)),
        (
            "DeliveryFunction",
            {
                "Sid": "RedrawReportPages",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": {
                    "Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}/reports/*"
                },
            },
        ),
        *(("DeliveryPushFunction", statement) for statement in _delivery_statements(MSG_ID_INDEX)),
        (
            "DeliveryPushFunction",
            {
                "Sid": "RedrawReportPages",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": {"Fn::Sub": f"{BUCKET_OBJECTS}/reports/*"},
            },
        ),
        *(("ScaleFunction", statement) for statement in SCALE_STATEMENTS),
    ]


def test_the_scheduler_role_may_only_be_assumed_by_the_scheduler_for_the_stacks_group_and_only_queue_a_message(
    resources,
):
    role = _props(resources, "SchedulerRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "scheduler.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {
                "aws:SourceAccount": {"Ref": "AWS::AccountId"},
                "aws:SourceArn": {"Fn::GetAtt": ["ScheduleGroup", "Arn"]},
            }
        },
    }
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["ContinuationQueue", "Arn"]}}
    ]
    assert "ManagedPolicyArns" not in role
    assert resources["ScheduleGroup"]["Type"] == "AWS::Scheduler::ScheduleGroup"


def test_the_secret_arn_is_the_same_choice_for_the_env_the_policy_and_the_output(template):
    assert _environment(template, "IngestFunction")["GATEWAY_SECRET_ID"] == SECRET_ARN
    assert template["Outputs"]["SecretArn"]["Value"] == SECRET_ARN
    assert template["Conditions"]["CreateSecret"] == {"Fn::Equals": [{"Ref": "ExistingSecretArn"}, ""]}
    assert template["Parameters"]["ExistingSecretArn"]["Default"] == ""


def test_the_created_secret_holds_placeholders_only(resources):
    secret = resources["GatewaySecret"]
    assert secret["Condition"] == "CreateSecret"
    assert "SecretString" not in secret["Properties"]
    generated = secret["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {
        "apiKey": "REPLACE_ME",
        "apiSecret": "REPLACE_ME",
        "appId": "REPLACE_ME",
    }
    assert generated["GenerateStringKey"] not in {"apiKey", "apiSecret", "appId"}


# ---------------------------------------------------------------- bucket


def test_the_bucket_and_every_policy_use_one_fixed_name_so_there_is_no_dependency_cycle(resources):
    assert _props(resources, "Bucket")["BucketName"] == BUCKET_NAME
    for function in ALL_FUNCTIONS:
        policies = json.dumps(_policies(resources, function))
        assert '"Bucket"' not in policies, f"{function} policies refer to the Bucket resource"


def test_the_bucket_is_encrypted_versioned_and_private(resources):
    bucket = _props(resources, "Bucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_the_bucket_refuses_every_request_without_tls(resources):
    policy = _props(resources, "BucketPolicy")
    assert policy["Bucket"] == {"Ref": "Bucket"}
    assert {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}, {"Fn::Sub": "${Bucket.Arn}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    } in policy["PolicyDocument"]["Statement"]


def test_reports_and_their_old_versions_expire_after_the_retention_parameter(resources):
    rules = _props(resources, "Bucket")["LifecycleConfiguration"]["Rules"]
    (reports,) = [rule for rule in rules if rule.get("Prefix") == "reports/"]
    assert reports["Status"] == "Enabled"
    assert reports["ExpirationInDays"] == {"Ref": "ReportsRetentionDays"}
    assert reports["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "ReportsRetentionDays"}}


def test_only_csv_csv_gz_and_xlsx_under_incoming_and_csv_under_optouts_trigger_the_ingest_function(resources):
    filters = set()
    for event in _props(resources, "IngestFunction")["Events"].values():
        if event["Type"] != "S3":
            continue
        assert event["Properties"]["Bucket"] == {"Ref": "Bucket"}
        # A copy (metadata edit, version restore) makes a new version: it must not start a new job.
        assert event["Properties"]["Events"] == [
            "s3:ObjectCreated:Put",
            "s3:ObjectCreated:Post",
            "s3:ObjectCreated:CompleteMultipartUpload",
        ]
        rules = {rule["Name"]: rule["Value"] for rule in event["Properties"]["Filter"]["S3Key"]["Rules"]}
        filters.add((rules["prefix"], rules["suffix"]))
    assert filters == {("incoming/", ".csv"), ("incoming/", ".csv.gz"), ("incoming/", ".xlsx"), ("optouts/", ".csv")}


# ---------------------------------------------------------------- table


def test_the_table_is_encrypted_recoverable_and_expires_items_on_expires_at(resources):
    table = _props(resources, "ResultsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert resources["ResultsTable"]["DeletionPolicy"] == "Retain"


class _CreateTableRecorder:
    """Stands in for a DynamoDB client and records the create_table call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create_table(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.fixture(scope="module")
def local_table() -> dict[str, Any]:
    recorder = _CreateTableRecorder()
    create_results_table(recorder, "SendResults")
    (call,) = recorder.calls
    return call


def _by_name(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {item[key]: item for item in items}


@pytest.mark.parametrize("part", ["KeySchema", "BillingMode"])
def test_the_table_matches_the_local_stack(resources, local_table, part):
    assert _props(resources, "ResultsTable")[part] == local_table[part]


def test_the_table_declares_the_same_attributes_as_the_local_stack(resources, local_table):
    table = _props(resources, "ResultsTable")
    assert _by_name(table["AttributeDefinitions"], "AttributeName") == _by_name(
        local_table["AttributeDefinitions"], "AttributeName"
    )


@pytest.mark.parametrize("index", ["ByMsgId", "ActiveJobs", "AwaitingReport"])
def test_each_index_matches_the_local_stack(resources, local_table, index):
    deployed = _by_name(_props(resources, "ResultsTable")["GlobalSecondaryIndexes"], "IndexName")
    local = _by_name(local_table["GlobalSecondaryIndexes"], "IndexName")
    assert deployed.keys() == local.keys()
    assert deployed[index] == local[index]


def test_the_awaiting_report_index_is_keyed_and_projected_as_the_delivery_code_reads_it(resources):
    table = _props(resources, "ResultsTable")
    index = _by_name(table["GlobalSecondaryIndexes"], "IndexName")[AWAITING_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": AWAITING, "KeyType": "HASH"},
        {"AttributeName": DUE, "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["msg_id", SUBMITTED_AT]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert (types[AWAITING], types[DUE]) == ("S", "N")


# ---------------------------------------------------------------- functions


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_every_environment_variable_is_one_the_code_reads(template, function):
    known = set(ENV.values()) | set(DELIVERY_ENV.values())
    unknown = {name for name in _environment(template, function) if name not in known}
    assert {name for name in unknown if not name.startswith("POWERTOOLS_")} == set()


INGEST_VARIABLES = [
    ("RESULTS_TABLE", TABLE),
    ("GATEWAY_SECRET_ID", SECRET_ARN),
    ("GATEWAY_URL", {"Ref": "GatewayUrl"}),
    ("NUMBERS_PER_CALL", {"Ref": "NumbersPerCall"}),
    ("IN_FLIGHT_BATCHES", {"Ref": "InFlightBatches"}),
    ("CALLS_PER_SECOND", {"Ref": "CallsPerSecond"}),
    ("TIME_MARGIN_MS", {"Ref": "TimeMarginMs"}),
    ("RESULT_TTL_DAYS", {"Ref": "ResultTtlDays"}),
    ("DEFAULT_REGION", {"Ref": "DefaultRegion"}),
    ("NUMBER_CHECK", {"Ref": "NumberCheck"}),
    ("ALLOWED_COUNTRIES", {"Ref": "AllowedCountries"}),
    ("GSM_SAFE", {"Ref": "GsmSafe"}),
    ("SEND_WINDOW", {"Ref": "SendWindow"}),
    ("SEND_WINDOW_TZ", {"Ref": "SendWindowTimeZone"}),
    ("SCHEDULE_GROUP", {"Ref": "ScheduleGroup"}),
    ("SCHEDULER_ROLE_ARN", {"Fn::GetAtt": ["SchedulerRole", "Arn"]}),
    ("CONTINUATION_QUEUE_ARN", {"Fn::GetAtt": ["ContinuationQueue", "Arn"]}),
    ("MAX_ROWS_PER_JOB", {"Ref": "MaxRowsPerJob"}),
    ("MAX_COST_PER_JOB", {"Ref": "MaxCostPerJob"}),
    ("CHECK_FIRST_BELOW_BYTES", {"Ref": "CheckFirstBelowBytes"}),
    ("CONTINUATION_QUEUE_URL", {"Ref": "ContinuationQueue"}),
    ("LEASE_SECONDS", {"Ref": "LeaseSeconds"}),
    ("POWERTOOLS_SERVICE_NAME", "smsdrop"),
    ("POWERTOOLS_METRICS_NAMESPACE", "smsdrop"),
    ("POWERTOOLS_LOG_LEVEL", {"Ref": "LogLevel"}),
    ("GATEWAY_ALLOW_HTTP", "false"),
    ("GATEWAY_RETRY_SERVER_ERRORS", {"Ref": "GatewayRetryServerErrors"}),
]


@pytest.mark.parametrize(("name", "value"), INGEST_VARIABLES, ids=[name for name, _ in INGEST_VARIABLES])
def test_the_ingest_function_gets_each_setting_from_the_stack(template, name, value):
    assert _environment(template, "IngestFunction")[name] == value


NOT_FOR_CHUNKS = ("CHECK_FIRST_BELOW_BYTES", "SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "CONTINUATION_QUEUE_ARN")
SCALE_VARIABLES = [
    *((name, value) for name, value in INGEST_VARIABLES if name not in NOT_FOR_CHUNKS),
    ("CHUNK_ROWS", {"Ref": "ChunkRows"}),
    ("SCALE_OUT_MAX_CONCURRENCY", {"Ref": "ScaleOutMaxConcurrency"}),
    ("ACCOUNT_CALLS_PER_SECOND", {"Ref": "AccountCallsPerSecond"}),
    ("ACCOUNT_CALLS_IN_FLIGHT", {"Ref": "AccountCallsInFlight"}),
    ("CHUNK_HOP_SECONDS", {"Ref": "ChunkHopSeconds"}),
    ("CHUNK_POLL_SECONDS", {"Ref": "ChunkPollSeconds"}),
]
"""The scale function runs today's runner on each chunk: it keeps to the same guards (caps, send window), and shares
the account's limits among the chunks. It needs no schedule (its Wait states wait) and checks every file first."""


@pytest.mark.parametrize(("name", "value"), SCALE_VARIABLES, ids=[name for name, _ in SCALE_VARIABLES])
def test_the_scale_function_gets_each_setting_its_chunks_keep_to_from_the_stack(template, name, value):
    assert _environment(template, "ScaleFunction")[name] == value


@pytest.mark.parametrize("name", ["RESULTS_TABLE", "CONTINUATION_QUEUE_URL", "POWERTOOLS_SERVICE_NAME"])
def test_the_sweep_function_knows_the_table_and_the_queue(template, name):
    assert _environment(template, "SweepFunction")[name] == _environment(template, "IngestFunction")[name]


@pytest.mark.parametrize(
    ("function", "code_uri"),
    [
        ("IngestFunction", "functions/ingest/"),
        ("SweepFunction", "functions/sweep/"),
        ("DeliveryFunction", "functions/delivery/"),
        ("DeliveryPushFunction", "functions/delivery_push/"),
        ("ScaleFunction", "functions/scale/"),
    ],
    ids=ALL_FUNCTIONS,
)
def test_every_function_runs_python_311_on_arm64_with_the_layer_and_tracing(template, function, code_uri):
    props = _props(template["Resources"], function)
    assert (props["CodeUri"], props["Handler"], props["Runtime"], props["Architectures"]) == (
        code_uri,
        "app.handler",
        "python3.11",
        ["arm64"],
    )
    assert props["Layers"] == [{"Ref": "SmsdropLayer"}]
    assert template["Globals"]["Function"]["Tracing"] == "Active"


def test_the_layer_is_built_by_sam_for_python_311(resources):
    layer = resources["SmsdropLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/smsdrop/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    assert layer["Metadata"]["BuildMethod"] == "python3.11"


def test_a_long_file_is_continued_through_a_queue_that_outlives_the_function_timeout(resources):
    ingest = _props(resources, "IngestFunction")
    queue = _props(resources, "ContinuationQueue")
    assert ingest["Timeout"] == 900
    assert queue["VisibilityTimeout"] >= 6 * ingest["Timeout"]  # AWS's advice for an SQS event source
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ContinuationDeadLetterQueue", "Arn"]}
    assert ingest["Events"]["Continuation"] == {
        "Type": "SQS",
        "Properties": {
            "Queue": {"Fn::GetAtt": ["ContinuationQueue", "Arn"]},
            "BatchSize": 1,
            "ScalingConfig": {"MaximumConcurrency": {"Ref": "ContinuationMaxConcurrency"}},
        },
    }


def test_failed_async_events_land_in_a_queue_after_two_retries(resources):
    assert _props(resources, "IngestFunction")["EventInvokeConfig"] == {
        "MaximumRetryAttempts": 2,
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}
        },
    }


def test_concurrency_and_memory_come_from_parameters(resources):
    ingest = _props(resources, "IngestFunction")
    assert ingest["MemorySize"] == {"Ref": "MemorySize"}
    assert _props(resources, "ScaleFunction")["MemorySize"] == {"Ref": "ScaleMemorySize"}
    assert ingest["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }


DELIVERY_VARIABLES = [
    ("DeliveryFunction", "RESULTS_TABLE", TABLE),
    ("DeliveryFunction", "GATEWAY_SECRET_ID", SECRET_ARN),
    ("DeliveryFunction", "GATEWAY_URL", {"Ref": "GatewayUrl"}),
    ("DeliveryFunction", "GATEWAY_ALLOW_HTTP", "false"),
    ("DeliveryFunction", "DELIVERY_MAX_AGE_HOURS", {"Ref": "DeliveryMaxAgeHours"}),
    ("DeliveryPushFunction", "RESULTS_TABLE", TABLE),
    ("DeliveryPushFunction", "PUSH_TOKEN_SECRET_ID", {"Ref": "PushTokenSecret"}),
]


@pytest.mark.parametrize(
    ("function", "name", "value"), DELIVERY_VARIABLES, ids=[f"{f}-{name}" for f, name, _ in DELIVERY_VARIABLES]
)
def test_each_delivery_function_gets_its_settings_from_the_stack(template, function, name, value):
    assert _environment(template, function)[name] == value


def test_the_delivery_poll_runs_on_the_schedule_parameter_and_is_not_retried(resources):
    poller = _props(resources, "DeliveryFunction")
    (event,) = poller["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == {"Fn::Sub": "rate(${DeliveryPollMinutes} minutes)"}
    assert poller["EventInvokeConfig"] == {"MaximumRetryAttempts": 0}


def test_the_delivery_poll_minutes_parameter_never_makes_a_singular_rate(template):
    assert template["Parameters"]["DeliveryPollMinutes"]["MinValue"] >= 2


def test_the_push_webhook_is_a_public_function_url_guarded_by_the_token_in_code(template, resources):
    push = _props(resources, "DeliveryPushFunction")
    assert push["FunctionUrlConfig"] == {"AuthType": "NONE", "InvokeMode": "BUFFERED"}
    assert "Events" not in push
    assert template["Outputs"]["DeliveryPushUrl"]["Value"] == {"Fn::GetAtt": ["DeliveryPushFunctionUrl", "FunctionUrl"]}


def test_the_sweep_runs_every_five_minutes(resources):
    (event,) = _props(resources, "SweepFunction")["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(5 minutes)"


# ---------------------------------------------------------------- parameters, alarms, outputs

PARAMETER_DEFAULTS = [
    ("GatewayUrl", DEFAULT_GATEWAY_URL),
    ("GatewayRetryServerErrors", "false"),
    ("NumbersPerCall", 1000),
    ("InFlightBatches", 4),
    ("CallsPerSecond", 0),
    ("TimeMarginMs", 60000),
    ("ResultTtlDays", 90),
    ("DefaultRegion", ""),
    ("NumberCheck", "valid"),
    ("AllowedCountries", ""),
    ("GsmSafe", "false"),
    ("SendWindow", ""),
    ("SendWindowTimeZone", "Asia/Kolkata"),
    ("MaxRowsPerJob", 0),
    ("MaxCostPerJob", 0),
    ("CheckFirstBelowBytes", 50000000),
    ("RowShards", 16),
    ("ReservedConcurrency", 10),
    ("MemorySize", 512),
    ("ScaleMemorySize", 1769),
    ("ReportsRetentionDays", 90),
    ("DeliveryPollMinutes", 5),
    ("DeliveryMaxAgeHours", 72),
    ("ExistingSecretArn", ""),
    ("AlarmEmail", ""),
]


@pytest.mark.parametrize(("name", "default"), PARAMETER_DEFAULTS, ids=[name for name, _ in PARAMETER_DEFAULTS])
def test_each_parameter_defaults_to_the_documented_value(template, name, default):
    assert template["Parameters"][name]["Default"] == default


def test_numbers_per_call_cannot_exceed_the_api_limit(template):
    assert template["Parameters"]["NumbersPerCall"]["MaxValue"] == 1000


def test_number_check_allows_only_the_two_levels(template):
    assert template["Parameters"]["NumberCheck"]["AllowedValues"] == ["valid", "possible"]


def test_retrying_server_errors_is_a_true_or_false_choice_off_by_default(template):
    parameter = template["Parameters"]["GatewayRetryServerErrors"]
    assert (parameter["AllowedValues"], parameter["Default"]) == (["true", "false"], "false")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (DEFAULT_GATEWAY_URL, True),
        ("https://gateway.example.com:8443/sms", True),
        ("http://api.itniotech.com/sms", False),
        ("http://host.docker.internal:5000", False),
        ("HTTP://api.itniotech.com/sms", False),
        ("ftp://api.itniotech.com/sms", False),
        ("https://", False),
        ("https://api.itniotech.com/sms withspace", False),
        ("", False),
    ],
    ids=["default", "https-port", "http", "local-http", "upper-http", "ftp", "bare-scheme", "space", "empty"],
)
def test_the_gateway_url_parameter_only_allows_https(template, url, allowed):
    pattern = template["Parameters"]["GatewayUrl"]["AllowedPattern"]
    assert (re.fullmatch(pattern, url) is not None) is allowed


SEND_WINDOWS = [
    ("SendWindow", "", True),
    ("SendWindow", "09:00-21:00", True),
    ("SendWindow", "21:00-06:00", True),
    ("SendWindow", "9:00-21:00", False),
    ("SendWindow", "09:00-24:00", False),
    ("SendWindow", "09:00 - 21:00", False),
    ("SendWindowTimeZone", "Asia/Kolkata", True),
    ("SendWindowTimeZone", "UTC", True),
    ("SendWindowTimeZone", "America/Argentina/Buenos_Aires", True),
    ("SendWindowTimeZone", "", False),
    ("SendWindowTimeZone", "Asia/Kolkata; rm", False),
]


SEND_WINDOW_IDS = [f"{name}-{value or 'empty'}" for name, value, _ in SEND_WINDOWS]


@pytest.mark.parametrize(("parameter", "value", "allowed"), SEND_WINDOWS, ids=SEND_WINDOW_IDS)
def test_the_send_window_parameters_allow_only_what_the_settings_can_read(template, parameter, value, allowed):
    assert (re.fullmatch(template["Parameters"][parameter]["AllowedPattern"], value) is not None) is allowed
    if allowed:  # and the code reads it
        spec, zone = (value, "UTC") if parameter == "SendWindow" else ("09:00-21:00", value)
        SendWindow.parse(spec, zone)


ALARMS = [
    (
        "FailedEventsAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        {"Fn::GetAtt": ["FailedEventsQueue", "QueueName"]},
    ),
    (
        "ContinuationDeadLetterAlarm",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        {"Fn::GetAtt": ["ContinuationDeadLetterQueue", "QueueName"]},
    ),
    ("JobsStoppedAlarm", "smsdrop", "JobsStopped", "service", "smsdrop"),
    ("DeliveryErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", {"Ref": "DeliveryFunction"}),
    ("DeliveryPushErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", {"Ref": "DeliveryPushFunction"}),
]


@pytest.mark.parametrize(("alarm", "namespace", "metric", "dimension", "value"), ALARMS, ids=[row[0] for row in ALARMS])
def test_each_alarm_fires_on_the_first_occurrence(resources, alarm, namespace, metric, dimension, value):
    props = _props(resources, alarm)
    assert (props["Namespace"], props["MetricName"]) == (namespace, metric)
    assert props["Dimensions"] == [{"Name": dimension, "Value": value}]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    assert props["AlarmActions"] == {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}


def test_the_alarm_topic_exists_only_with_an_alarm_email(resources):
    assert resources["AlarmTopic"]["Condition"] == "HasAlarmEmail"


@pytest.mark.parametrize(
    "output",
    ["BucketName", "TableName", "SecretArn", "ContinuationQueueUrl", "IngestFunctionArn", "DeliveryPushUrl"],
)
def test_the_stack_outputs_what_an_operator_needs(template, output):
    assert "Value" in template["Outputs"][output]


def test_samconfig_names_a_lowercase_stack_and_holds_no_account_id():
    text = (ROOT / "samconfig.toml").read_text()
    config = tomllib.loads(text)
    stack = config["default"]["global"]["parameters"]["stack_name"]
    assert stack == stack.lower()
    assert re.search(r"\b\d{12}\b", text) is None


# ---------------------------------------------------------------- events


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda path: path.name)
def test_every_sample_event_is_valid_json(path):
    assert isinstance(json.loads(path.read_text()), dict)


S3_EVENTS = [
    ("s3-put.json", "incoming/campaign.csv", "incoming/campaign.csv"),
    ("s3-put-gz.json", "incoming/campaign+2026.csv.gz", "incoming/campaign 2026.csv.gz"),
]


@pytest.mark.parametrize(("name", "raw_key", "key"), S3_EVENTS, ids=[row[0] for row in S3_EVENTS])
def test_each_s3_event_has_the_shape_s3_sends_and_matches_the_trigger(name, raw_key, key):
    (record,) = _load_event(name)["Records"]
    assert (record["eventSource"], record["eventVersion"]) == ("aws:s3", "2.1")
    assert record["eventName"].startswith("ObjectCreated:")
    s3 = record["s3"]
    assert s3["bucket"]["name"] == "smsdrop-local"
    assert s3["bucket"]["arn"] == "arn:aws:s3:::smsdrop-local"
    obj = s3["object"]
    assert obj["key"] == raw_key
    assert unquote_plus(obj["key"]) == key
    assert key.startswith("incoming/")
    assert key.endswith((".csv", ".csv.gz"))
    assert isinstance(obj["size"], int)
    assert re.fullmatch(r"[0-9a-f]{32}(-\d+)?", obj["eTag"])
    assert obj["versionId"]
    assert re.fullmatch(r"[0-9A-F]{16,}", obj["sequencer"])


def test_the_continuation_event_is_an_sqs_record_whose_body_names_the_upload():
    (record,) = _load_event("continuation.json")["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].startswith("arn:aws:sqs:")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    body = json.loads(record["body"])
    assert {"job_id", "bucket", "key", "version_id"} <= body.keys()
    (upload,) = _load_event("s3-put.json")["Records"]
    assert (body["bucket"], body["key"], body["version_id"]) == (
        upload["s3"]["bucket"]["name"],
        unquote_plus(upload["s3"]["object"]["key"]),
        upload["s3"]["object"]["versionId"],
    )


def test_the_continuation_job_id_is_the_one_the_code_derives_from_the_upload():
    (record,) = _load_event("continuation.json")["Records"]
    body = json.loads(record["body"])
    assert Upload.from_message(body).job_id == body["job_id"]


def test_the_sweep_event_is_a_scheduled_eventbridge_event():
    event = _load_event("sweep.json")
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    (rule,) = event["resources"]
    assert rule.startswith("arn:aws:events:")


def test_env_json_only_overrides_variables_the_template_declares(template):
    # sam local invoke --env-vars ignores variables the template does not declare for the function.
    env = _load_event("env.json")
    assert set(env) == {"Parameters", *ALL_FUNCTIONS}
    for function in ALL_FUNCTIONS:
        declared = set(_environment(template, function))
        assert set(env[function]) <= declared, function
    everywhere = set.intersection(*(set(_environment(template, function)) for function in ALL_FUNCTIONS))
    assert set(env["Parameters"]) <= everywhere


@pytest.mark.parametrize("function", ["IngestFunction", "DeliveryFunction"])
def test_env_json_points_at_a_local_http_gateway_and_allows_it(function):
    env = _load_event("env.json")[function]
    assert env["GATEWAY_URL"].startswith("http://host.docker.internal:")
    assert env["GATEWAY_ALLOW_HTTP"] == "true"
    assert all(isinstance(value, str) for value in env.values())


# ---------------------------------------------------------------- sharp edges (issue: no file can wedge a job)


def test_uploads_and_their_old_versions_expire_because_they_hold_full_numbers(resources, template):
    rules = {r["Id"]: r for r in _props(resources, "Bucket")["LifecycleConfiguration"]["Rules"]}
    uploads = rules["ExpireUploads"]
    assert uploads["Prefix"] == "incoming/"
    assert uploads["ExpirationInDays"] == {"Ref": "IncomingRetentionDays"}
    assert uploads["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "IncomingRetentionDays"}}
    parameters = template["Parameters"]
    assert parameters["IncomingRetentionDays"]["Default"] == parameters["ResultTtlDays"]["Default"]


def test_a_results_file_upload_is_kept_open_as_long_as_the_items_of_a_paused_job_live(resources):
    rules = {r["Id"]: r for r in _props(resources, "Bucket")["LifecycleConfiguration"]["Rules"]}
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": {"Ref": "ResultTtlDays"}
    }


def test_the_webhook_has_its_own_reserved_concurrency_and_its_own_generated_token_secret(resources):
    push = _props(resources, "DeliveryPushFunction")
    assert push["ReservedConcurrentExecutions"] == {"Ref": "PushReservedConcurrency"}
    assert set(push["Environment"]["Variables"]) == {"PUSH_TOKEN_SECRET_ID"}  # no API key, no gateway secret
    generated = _props(resources, "PushTokenSecret")["GenerateSecretString"]
    assert generated["SecretStringTemplate"] == "{}"
    assert generated["GenerateStringKey"] == "pushToken"
    assert generated["PasswordLength"] >= 32


@pytest.mark.parametrize(
    "name",
    sorted(n for n, p in _load_template()["Parameters"].items() if p["Type"] == "Number" and "AllowedValues" not in p),
)
def test_every_numeric_parameter_has_a_floor_and_a_ceiling(template, name):
    parameter = template["Parameters"][name]
    assert "MinValue" in parameter
    assert "MaxValue" in parameter
    assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"]


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("", True), ("91", True), ("91,44", True), ("+91, +44", True), ("1,7,358", True), ("IN", False), ("9144", False)],
    ids=["all", "one", "two", "plus-and-spaces", "three-digit-code", "region-letters", "too-long-a-code"],
)
def test_allowed_countries_takes_calling_codes_as_the_code_reads_them(template, value, allowed):
    pattern = template["Parameters"]["AllowedCountries"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is allowed
    if allowed:
        Destinations.parse(value)
    else:
        with pytest.raises(ValueError, match="ALLOWED_COUNTRIES"):
            Destinations.parse(value)


# ---------------------------------------------------------------- AWS's limits: the continuation loop, a warm table


def test_the_ingest_function_allows_the_recursive_loop_its_continuations_make(resources):
    assert _props(resources, "IngestFunction")["RecursiveLoop"] == "Allow"
    assert recursion_allowed(TEMPLATE_PATH)  # what the local invoker reads, so local runs loop as deployed ones do


def test_no_other_function_may_run_in_a_loop(resources):
    assert [f for f in ALL_FUNCTIONS if "RecursiveLoop" in _props(resources, f)] == ["IngestFunction"]


def test_the_table_is_pre_warmed_only_when_the_parameter_asks(template, resources):
    assert template["Parameters"]["TableWarmWriteUnits"]["Default"] == 0
    unset = {"Fn::Equals": [{"Ref": "TableWarmWriteUnits"}, "0"]}
    assert template["Conditions"]["HasWarmThroughput"] == {"Fn::Not": [unset]}
    warm = {"WriteUnitsPerSecond": {"Ref": "TableWarmWriteUnits"}, "ReadUnitsPerSecond": 12000}
    expected = {"Fn::If": ["HasWarmThroughput", warm, {"Ref": "AWS::NoValue"}]}
    assert _props(resources, "ResultsTable")["WarmThroughput"] == expected


MISSPELT = [("RecursiveLoop: Allow", "RecursiveLop: Allow"), ("WriteUnitsPerSecond:", "WriteUnitPerSecond:")]


@pytest.mark.parametrize(("right", "wrong"), MISSPELT, ids=["recursive-loop", "warm-write-units"])
def test_cfn_lint_knows_the_new_properties_so_a_misspelt_one_is_an_error(right, wrong):
    text = TEMPLATE_PATH.read_text()
    assert text.count(right) == 1
    matches = lint(text.replace(right, wrong), config=ManualArgs(regions=["us-east-1"]))
    assert [m.rule.id for m in matches] == ["E3002"]


# ---------------------------------------------------------------- a job must always end (issue 13)


def test_the_no_progress_cap_is_a_parameter_of_five_given_to_the_ingest_function(template):
    parameter = template["Parameters"]["MaxClaimsWithoutProgress"]
    assert (parameter["Default"], parameter["MinValue"]) == (5, 2)
    env = _environment(template, "IngestFunction")
    assert env["MAX_CLAIMS_WITHOUT_PROGRESS"] == {"Ref": "MaxClaimsWithoutProgress"}
    assert ENV["max_claims_without_progress"] == "MAX_CLAIMS_WITHOUT_PROGRESS"


def test_a_job_ended_for_want_of_progress_raises_an_alarm_on_the_first_one(resources):
    props = _props(resources, "JobsWithoutProgressAlarm")
    assert (props["Namespace"], props["MetricName"]) == ("smsdrop", "JobsWithoutProgress")
    assert props["Dimensions"] == [{"Name": "service", "Value": "smsdrop"}]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
