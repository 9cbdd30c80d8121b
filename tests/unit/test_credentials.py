import json
from datetime import datetime, timedelta

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from smsdrop.provider.credentials import Credentials, CredentialsError, SecretCredentials

SECRET = {"apiKey": "key-123", "apiSecret": "very-secret-value", "appId": "app-9"}


@pytest.fixture
def sm(aws):
    return aws.client("secretsmanager")


def loader(aws, sm, max_age_s=300):
    return SecretCredentials(SecretsProvider(boto3_client=sm), aws.names.secret, max_age_s)


class _Now:
    """Stands in for powertools' cache clock, so expiry needs no sleep."""

    current: datetime

    @classmethod
    def now(cls):
        return cls.current


def test_the_loader_reads_the_three_fields_of_the_secret(aws, sm):
    sm.create_secret(Name=aws.names.secret, SecretString=json.dumps(SECRET))
    assert loader(aws, sm)() == Credentials(api_key="key-123", api_secret="very-secret-value", app_id="app-9")


def test_the_repr_of_credentials_shows_no_secret_value():
    text = repr(Credentials(api_key="key-123", api_secret="very-secret-value", app_id="app-9"))
    assert "key-123" not in text
    assert "very-secret-value" not in text
    assert "app-9" in text
    assert str(Credentials("key-123", "very-secret-value", "app-9")) == text


def test_a_missing_secret_is_a_credentials_error_naming_it(aws, sm):
    with pytest.raises(CredentialsError, match=f"cannot read gateway secret '{aws.names.secret}'"):
        loader(aws, sm)()


@pytest.mark.parametrize(
    "value",
    ["{not json", 'apiKey="key-123" apiSecret="very-secret-value"'],
    ids=["broken-json", "not-json"],
)
def test_a_secret_that_is_not_json_is_a_credentials_error_without_its_value(aws, sm, value):
    sm.create_secret(Name=aws.names.secret, SecretString=value)
    with pytest.raises(CredentialsError, match="is not valid JSON") as raised:
        loader(aws, sm)()
    assert "very-secret-value" not in str(raised.value)
    assert raised.value.__cause__ is None


@pytest.mark.parametrize("value", [["key", "secret"], "just a string", 42], ids=["list", "string", "number"])
def test_a_secret_that_is_not_a_json_object_is_a_credentials_error(aws, sm, value):
    sm.create_secret(Name=aws.names.secret, SecretString=json.dumps(value))
    with pytest.raises(CredentialsError, match="must be a JSON object with apiKey, apiSecret and appId"):
        loader(aws, sm)()


@pytest.mark.parametrize(
    ("secret", "named"),
    [
        ({"apiKey": "key-123", "appId": "app-9"}, "apiSecret"),
        ({"apiKey": "key-123", "apiSecret": "very-secret-value", "appId": ""}, "appId"),
        ({"apiKey": 123, "apiSecret": "very-secret-value", "appId": "app-9"}, "apiKey"),
        ({"apiSecret": "very-secret-value"}, "apiKey, appId"),
    ],
    ids=["missing", "empty", "not-a-string", "two-missing"],
)
def test_a_missing_field_is_a_credentials_error_that_names_it(aws, sm, secret, named):
    sm.create_secret(Name=aws.names.secret, SecretString=json.dumps(secret))
    with pytest.raises(CredentialsError, match=f"has no non-empty string field {named}$") as raised:
        loader(aws, sm)()
    assert "very-secret-value" not in str(raised.value)


def test_a_rotated_secret_is_picked_up_after_max_age_and_not_before(aws, sm, monkeypatch):
    monkeypatch.setattr("aws_lambda_powertools.utilities.parameters.base.datetime", _Now)
    monkeypatch.setattr(_Now, "current", datetime(2026, 1, 1, 12, 0, 0), raising=False)
    sm.create_secret(Name=aws.names.secret, SecretString=json.dumps(SECRET))
    credentials = loader(aws, sm, max_age_s=60)
    assert credentials().api_secret == "very-secret-value"

    sm.put_secret_value(SecretId=aws.names.secret, SecretString=json.dumps({**SECRET, "apiSecret": "rotated"}))
    _Now.current += timedelta(seconds=59)
    assert credentials().api_secret == "very-secret-value"
    _Now.current += timedelta(seconds=2)
    assert credentials().api_secret == "rotated"
