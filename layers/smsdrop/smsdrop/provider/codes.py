"""The provider's status codes, what a sender must do with each, and a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SUCCESS = "0"


class Action(StrEnum):
    """What a non-zero status means for the sender (docs/provider-api.md, "Status codes")."""

    STOP = "STOP"
    """Nothing more can succeed: stop the whole job."""
    RETRY = "RETRY"
    """Transient: resend the same request later with a fresh signature."""
    REJECT = "REJECT"
    """The call's content or numbers are at fault: fail its numbers and go on."""


class ProviderCode(StrEnum):
    """Every non-zero status the provider documents (page and full code table), with its action and message."""

    action: Action
    message: str

    def __new__(cls, code: str, action: Action, message: str) -> ProviderCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.action = action
        member.message = message
        return member

    AUTHENTICATION_ERROR = (
        "-1",
        Action.STOP,
        "Authentication failed: check apiKey, apiSecret and appId in the gateway secret",
    )
    RESTRICTED_IP = (
        "-2",
        Action.STOP,
        "The provider refuses calls from this IP address: ask the provider to allow it",
    )
    SENSITIVE_CONTENT = (
        "-3",
        Action.REJECT,
        "The content has words the provider blocks: reword the message",
    )
    EMPTY_CONTENT = ("-4", Action.REJECT, "The message content is empty")
    CONTENT_TOO_LONG = ("-5", Action.REJECT, "The message content is longer than 1024 characters")
    NOT_A_TEMPLATE = (
        "-6",
        Action.REJECT,
        "The content matches no approved template: register it with the provider or change the message",
    )
    TOO_MANY_NUMBERS = (
        "-7",
        Action.REJECT,
        "The call has more numbers than the provider allows: lower NUMBERS_PER_CALL",
    )
    EMPTY_NUMBER = ("-8", Action.REJECT, "The phone number is empty")
    ABNORMAL_NUMBER = (
        "-9",
        Action.REJECT,
        "The provider says the phone number is invalid: check the number and its country code",
    )
    INSUFFICIENT_BALANCE = (
        "-10",
        Action.STOP,
        "The account balance is too low: top up the account, then smsdrop resume the job (not a re-upload)",
    )
    PLATFORM_SUBMIT_FAILURE = ("-12", Action.RETRY, "The provider's platform failed to submit the message")
    USER_LOCKED = ("-13", Action.STOP, "The provider account is locked: contact the provider")
    TOO_FREQUENT = (
        "-15",
        Action.RETRY,
        "Calls are too frequent for the provider: lower CALLS_PER_SECOND or IN_FLIGHT_BATCHES",
    )
    TIMESTAMP_EXPIRED = (
        "-16",
        Action.RETRY,
        "The request timestamp is over 30 minutes off the provider's clock: check the system clock",
    )
    PORT_PROGRAM_UNUSUAL = ("-18", Action.RETRY, "The provider's service failed (port program unusual)")
    NO_CHANNEL = (
        "-19",
        Action.STOP,
        "No sending channel is bound to the account: ask the provider's business manager to bind one",
    )
    PARAMETER_EXCEPTION = (
        "-22",
        Action.REJECT,
        "The provider rejected the request's parameters (for example orderId count not matching numbers)",
    )
    PERIOD_TOTAL_LIMIT = ("-27", Action.RETRY, "The account reached its send limit for the period")
    PERIOD_PHONE_LIMIT = (
        "-28",
        Action.REJECT,
        "The phone number reached the provider's per-number send limit for the period",
    )
    API_KEY_DISABLED = (
        "-30",
        Action.STOP,
        "The API key is disabled: enable it or put a new key in the gateway secret",
    )
    IP_NOT_WHITELISTED = (
        "-31",
        Action.STOP,
        "The sender's IP address is not whitelisted: add the NAT gateway's IP in the provider console",
    )
    NO_APP_PERMISSION = (
        "-32",
        Action.STOP,
        "The API key has no permission for this app: check appId in the gateway secret",
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The sender's reading of one non-zero status."""

    code: str
    action: Action
    message: str
    known: bool

    def describe(self, provider_reason: str) -> str:
        """Our message, with the provider's own words when they add something."""
        if not self.known or not provider_reason or provider_reason == self.message:
            return self.message
        return f"{self.message} (provider: {provider_reason})"


_BY_STATUS: dict[str, ProviderCode] = {code.value: code for code in ProviderCode}


def classify(status: str, provider_reason: str = "") -> Verdict:
    """Read a non-zero status; an undocumented code rejects the call with the provider's reason."""
    code = _BY_STATUS.get(status)
    if code is None:
        message = provider_reason or f"The provider answered with undocumented code {status}"
        return Verdict(code=status, action=Action.REJECT, message=message, known=False)
    return Verdict(code=code.value, action=code.action, message=code.message, known=True)
