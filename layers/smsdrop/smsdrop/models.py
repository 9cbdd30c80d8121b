"""The values that flow through a job: rows read from the file, the calls built from them, their fate."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smsdrop.errors import SmsdropError


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the file: `offset` is the byte offset (in the decompressed text) where the next record
    starts; `row` is the record number of the last record before it (the header is record 1)."""

    offset: int
    row: int


@dataclass(frozen=True, slots=True)
class Recipient:
    """A data row that passed validation: ready to send."""

    row: int
    offset: int
    number: str
    country_code: int
    content: str
    sender_id: str
    order_id: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A data row that cannot be sent, with a reason a person can act on. It is recorded, never dropped."""

    row: int
    offset: int
    number: str
    sender_id: str
    order_id: str
    code: str
    reason: str


Row = Recipient | RowError


@dataclass(frozen=True, slots=True)
class CallItem:
    """One element of the request's `array`: one content and sender for several numbers."""

    content: str
    sender_id: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    """A unit of work: at most one provider call (`items`) plus rows rejected before sending.

    Every row before `resume_at` is in this batch or an earlier one, so once this batch and all
    earlier ones are recorded the job may checkpoint at `resume_at`.
    """

    seq: int
    items: tuple[CallItem, ...]
    rejected: tuple[RowError, ...]
    resume_at: Position

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        """Every recipient of the call, in request order."""
        return tuple(r for item in self.items for r in item.recipients)

    @property
    def has_call(self) -> bool:
        """Whether this batch needs a provider call."""
        return bool(self.items)


class Status(StrEnum):
    """The state of one number in a job."""

    SUBMITTED = "SUBMITTED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    VALIDATED = "VALIDATED"
    DELIVERED = "DELIVERED"
    UNDELIVERED = "UNDELIVERED"
    CANCELLED = "CANCELLED"
    """Never sent: the operator cancelled the job first (final, unless the job is resumed, which may send it)."""


SEND_STATUSES = (Status.SUBMITTED, Status.REJECTED, Status.FAILED, Status.UNKNOWN)
UNKNOWN_REASON = "request may have reached the provider; not resent"
"""Why a number is UNKNOWN: its call may have been taken (an answer lost, a holder that died mid-call)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of one number: its status, and what the provider said of it."""

    status: Status
    reason: str = ""
    provider_code: str | None = None
    msg_id: str | None = None
    unsent: bool = False
    """Nothing of this number reached the provider because of the job, not of the number (a stop, a cancel):
    `smsdrop resume` may send it, and nothing else."""


class JobStop(SmsdropError):  # noqa: N818 - it is an instruction, not an error of ours
    """The provider said nothing more can succeed (auth, balance, IP, disabled key...): stop the job."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason
