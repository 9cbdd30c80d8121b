"""Check-first: a file is read and checked whole, with nothing written or sent, before its first batch goes out, so
a file over a cap (MAX_ROWS_PER_JOB, MAX_COST_PER_JOB) or one that cannot be read to its end (a quote that never
closes at the last row, a truncated gzip) is refused whole with nothing sent. It is done for every file when a cap
is set, else for files smaller than CHECK_FIRST_BELOW_BYTES; a larger file is checked as it is sent, and a problem
found half way ends it FAILED with the rows before it recorded.

The check is a second reader of the same upload (its rows checked as the send checks them) whose data rows are
counted and whose rows to send are priced by PRICES_PER_PART before any opt-out is looked up, so the cost capped is
the most the file can cost. It runs when a job starts without a checkpoint; a continuation, which starts from one,
trusts it. docs/performance.md gives its cost per million rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aws_lambda_powertools import Logger

from smsdrop.config import ConfigError, Settings
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.intake.uploads import Upload
from smsdrop.models import Position, Recipient, Row
from smsdrop.output.sms_parts import PriceTable
from smsdrop.send.ports import Reader

logger = Logger(child=True)


@dataclass(frozen=True, slots=True)
class Caps:
    """The caps of a job (0: none), the size below which a file is checked first anyway, and the prices."""

    prices: PriceTable
    max_rows: int = 0
    max_cost: Decimal = Decimal(0)
    check_first_below: int = 0

    @classmethod
    def from_settings(cls, settings: Settings, prices: PriceTable) -> Caps:
        """MAX_ROWS_PER_JOB, MAX_COST_PER_JOB and CHECK_FIRST_BELOW_BYTES; ConfigError for a cost that is no number."""
        try:
            max_cost = Decimal(settings.max_cost_per_job or 0)
        except InvalidOperation:
            raise ConfigError(f"MAX_COST_PER_JOB={settings.max_cost_per_job!r} is not a number") from None
        return cls(prices, settings.max_rows_per_job, max_cost, settings.check_first_below_bytes)

    @property
    def capped(self) -> bool:
        """Whether a cap is set."""
        return bool(self.max_rows or self.max_cost)

    def checks_first(self, upload: Upload) -> bool:
        """Whether `upload` is checked whole before anything is sent: always with a cap, else if small enough."""
        return self.capped or (upload.size is not None and upload.size < self.check_first_below)

    def guards(self, checked: Tally | None) -> dict[str, Any]:
        """The caps as the summary's `guards` show them (None: no cap), with what a check found (None: no check)."""
        return {
            "max_rows_per_job": self.max_rows or None,
            "max_cost_per_job": str(self.max_cost) if self.max_cost else None,
            "checked_first": checked.as_json() if checked else None,
        }


@dataclass(slots=True)
class Tally:
    """What the check found: data rows, and the estimated cost of the rows to send."""

    rows: int = 0
    cost: Decimal = Decimal(0)

    def add(self, row: Row, prices: PriceTable) -> None:
        """Count `row`, and price it if it is to be sent."""
        self.rows += 1
        if isinstance(row, Recipient):
            self.cost += prices.estimate(row.number, row.content)

    def as_json(self) -> dict[str, Any]:
        """What the check found, as the summary's `guards.checked_first` shows it."""
        return {"rows": self.rows, "estimated_cost": str(self.cost)}

    def refusal(self, caps: Caps) -> FileRefused | None:
        """Why a file with these figures is refused (None if it is within the caps)."""
        rows = f"{self.rows:,}"
        if caps.max_rows and self.rows > caps.max_rows:
            return FileRefused(FileProblem.OVER_MAX_ROWS, rows=rows, limit=f"{caps.max_rows:,}")
        if caps.max_cost and self.cost > caps.max_cost:
            cost, limit = f"{self.cost:,}", f"{caps.max_cost:,}"
            return FileRefused(FileProblem.OVER_MAX_COST, cost=cost, rows=rows, limit=limit)
        return None


class CheckedFirst:
    """The reader of `upload`'s job, which, from the start of a job that `caps` say is checked first, reads the whole
    file with `checker` (another reader of it) and refuses it (FileRefused) before yielding a row if that read fails
    or the file is over a cap. Otherwise it is `reader`."""

    def __init__(self, reader: Reader, checker: Callable[[], Reader], caps: Caps, upload: Upload) -> None:
        self._reader = reader
        self._checker = checker
        self._caps = caps
        self._upload = upload
        self._tally: Tally | None = None
        self._checked: Reader | None = None

    @property
    def position(self) -> Position:
        """Where the job's reader stands."""
        return self._reader.position

    @property
    def blank_lines(self) -> int:
        """Blank lines the job's reader skipped."""
        return self._reader.blank_lines

    def report(self) -> dict[str, Any]:
        """The job's reader's report, with the guards: the caps, and the figures if this invocation checked first."""
        report = self._reader.report()
        if self._checked is not None and "format" not in report:  # refused by the check: the job read nothing
            report = self._checked.report()
        return {**report, "guards": self._caps.guards(self._tally)}

    def keep(self, checkpoint: Position | None) -> None:
        """What the job's reader keeps at a hand-over."""
        self._reader.keep(checkpoint)

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """The job's rows from `start`; from the start of a job checked first, only once the whole file passed."""
        if start is None and self._caps.checks_first(self._upload):
            self._check()
        yield from self._reader.rows(start)

    def _check(self) -> None:
        tally, prices = Tally(), self._caps.prices
        self._checked = self._checker()
        for row in self._checked.rows():
            tally.add(row, prices)
        logger.info("Checked first", extra={"rows": tally.rows, "estimated_cost": str(tally.cost)})
        self._tally = tally
        refusal = tally.refusal(self._caps)
        if refusal is not None:
            raise refusal
