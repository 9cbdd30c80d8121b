"""The gateway credentials, read from a Secrets Manager secret holding {"apiKey","apiSecret","appId"}."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from smsdrop.errors import SmsdropError

FIELDS = {"api_key": "apiKey", "api_secret": "apiSecret", "app_id": "appId"}


class CredentialsError(SmsdropError):
    """The gateway secret is missing or malformed; the message names what is wrong, never a value."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What signs a call: the API key and secret, and the app the numbers are sent for."""

    api_key: str
    api_secret: str
    app_id: str

    def __repr__(self) -> str:
        return f"Credentials(app_id={self.app_id!r}, api_key='***', api_secret='***')"


def parse_credentials(value: object, secret_id: str) -> Credentials:
    """Credentials from the secret's decoded JSON; a missing or empty field raises `CredentialsError`."""
    if not isinstance(value, dict):
        raise CredentialsError(f"gateway secret {secret_id!r} must be a JSON object with apiKey, apiSecret and appId")
    missing = [name for name in FIELDS.values() if not isinstance(value.get(name), str) or not value[name]]
    if missing:
        raise CredentialsError(f"gateway secret {secret_id!r} has no non-empty string field {', '.join(missing)}")
    return Credentials(**{attr: value[name] for attr, name in FIELDS.items()})


class SecretCredentials:
    """Callable that returns the current credentials; powertools caches the secret for `max_age_s`,
    so a rotated secret is used at most `max_age_s` seconds later, without a redeploy."""

    def __init__(self, provider: SecretsProvider, secret_id: str, max_age_s: int = 300) -> None:
        self._provider = provider
        self._secret_id = secret_id
        self._max_age_s = max_age_s

    def __call__(self) -> Credentials:
        """The credentials, from the cache or freshly read from Secrets Manager."""
        try:
            value = self._provider.get(self._secret_id, transform="json", max_age=self._max_age_s)
        except TransformParameterError:
            raise CredentialsError(f"gateway secret {self._secret_id!r} is not valid JSON") from None
        except GetParameterError as exc:
            raise CredentialsError(f"cannot read gateway secret {self._secret_id!r}: {exc}") from None
        return parse_credentials(value, self._secret_id)
