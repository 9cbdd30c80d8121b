"""The rules for one data row: text, field count, number, its country, content, senderId, orderId, duplicates.

The content sent is the content cell with its placeholders filled (placeholders.py) and, with GSM_SAFE, the usual
offenders replaced by GSM-7 twins: that text is what the length and duplicate checks see and what is sent.
A row that passes is a Recipient; one that fails is a RowError holding the cells that identify it, cut to
the bounds of bounds.py, so a rejected row is recorded whatever its cells hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smsdrop.intake.bounds import CELL_CHARS, cut, shown
from smsdrop.intake.columns import Columns
from smsdrop.intake.first_seen import FirstSeen, LocalFirstSeen
from smsdrop.intake.phone_numbers import NumberRules
from smsdrop.intake.placeholders import Placeholders
from smsdrop.intake.rejections import Rejected, Rejection, column_name
from smsdrop.models import Recipient, Row, RowError
from smsdrop.output.cheaper_texts import TextTally

CONTENT_LIMIT = 1024
SENDER_ID_LIMIT = 32
ORDER_ID_LIMIT = 64
_UNDECODED = re.compile("[\ud800-\udfff]")  # how LineFeed keeps bytes it could not decode (and NUL)


@dataclass(frozen=True, slots=True)
class Destinations:
    """The country calling codes rows may be sent to (ALLOWED_COUNTRIES); none listed means every country."""

    allowed: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, setting: str) -> Destinations:
        """From ALLOWED_COUNTRIES: calling codes separated by commas (`91,44`, `+91, +44`); empty allows all."""
        codes = [code.strip().removeprefix("+") for code in setting.split(",") if code.strip()]
        if not all(code.isdigit() and code.isascii() and len(code) <= 3 for code in codes):
            raise ValueError(f"ALLOWED_COUNTRIES={setting!r}: give calling codes separated by commas, like 91,44")
        return cls(frozenset(map(int, codes)))

    def check(self, country_code: int) -> None:
        """Rejected COUNTRY_NOT_ALLOWED if `country_code` is not one of the allowed."""
        if self.allowed and country_code not in self.allowed:
            listed = ", ".join(map(str, sorted(self.allowed)))
            raise Rejected(Rejection.COUNTRY_NOT_ALLOWED, country_code=country_code, allowed=listed)


class RowCheck:
    """Checks the data rows of one file, remembering what duplicates and repeated orderIds need, and tallying the
    texts to send in `texts`."""

    def __init__(
        self,
        columns: Columns,
        numbers: NumberRules,
        reject_duplicates: bool,
        job_id: str,
        destinations: Destinations = Destinations(),
        texts: TextTally | None = None,
        first_seen: FirstSeen | None = None,
    ) -> None:
        self._names = columns.names
        self._width = len(columns.names)
        self._number, self._content = columns.number, columns.content
        self._sender_id, self._order_id = columns.sender_id, columns.order_id
        self._normalise = numbers.normalise
        self._destinations = destinations
        self._fill = Placeholders(columns).fill
        self.texts = texts or TextTally()
        self.first_seen = first_seen or LocalFirstSeen()
        self._reject_duplicates = reject_duplicates
        self._order_prefix = _order_prefix(job_id)

    def __call__(self, fields: list[str], row: int, offset: int) -> Row | None:
        """The row as a Recipient, or a RowError; None for a blank line."""
        if len(fields) != self._width:
            wrong = Rejected(Rejection.FIELD_COUNT, found=len(fields), expected=self._width)
            return self.refuse(fields, row, offset, wrong)
        fields.append("")
        content = fields[self._content].strip()
        sender_id = fields[self._sender_id].strip()
        order_id = fields[self._order_id].strip()
        try:
            number, country_code = self._normalise(fields[self._number])
            self._destinations.check(country_code)
            content, replaced = self.texts.prepare(self._fill(content, fields))
            if not content or len(content) > CONTENT_LIMIT or len(sender_id) > SENDER_ID_LIMIT:
                _check_text(content, sender_id)
            if order_id:
                self._check_order_id(order_id, row)
            if self._reject_duplicates:
                self._check_not_sent(number, content, row)
        except Rejected as rejected:
            return self.refuse(fields, row, offset, rejected)
        self.texts.add(content, row, replaced)
        return Recipient(
            row, offset, number, country_code, content, sender_id, order_id or self._order_prefix + str(row)
        )

    def undecoded(self, fields: list[str]) -> Rejected | None:
        """NOT_TEXT naming the first cell that holds a byte its encoding could not decode (or a NUL), if one does."""
        for position, cell in enumerate(fields):
            if bad := _UNDECODED.search(cell):
                where = f"column {column_name(self._names[position])}" if position < self._width else "an extra cell"
                return Rejected(Rejection.NOT_TEXT, byte=shown(bad[0]), where=where)
        return None

    def refuse(self, fields: list[str], row: int, offset: int, rejected: Rejected) -> RowError | None:
        """The row as a RowError with the cells that could be read, each cut to CELL_CHARS; None if blank."""
        if not any(map(str.strip, fields)):
            return None
        cells = [*fields, *[""] * self._width]
        number, sender_id = cut(cells[self._number], CELL_CHARS), cut(cells[self._sender_id].strip(), CELL_CHARS)
        order_id = cut(cells[self._order_id].strip(), CELL_CHARS) or f"{self._order_prefix}{row}"
        return RowError(row, offset, number, sender_id, order_id, rejected.rejection.value, rejected.reason)

    def _check_order_id(self, order_id: str, row: int) -> None:
        if len(order_id) > ORDER_ID_LIMIT:
            raise Rejected(Rejection.ORDER_ID_TOO_LONG, length=len(order_id), limit=ORDER_ID_LIMIT)
        if "," in order_id:
            raise Rejected(Rejection.ORDER_ID_COMMA)
        first = self.first_seen.order(order_id, row)
        if first != row:
            raise Rejected(Rejection.ORDER_ID_REPEATED, order_id=order_id, row=first)

    def _check_not_sent(self, number: str, content: str, row: int) -> None:
        first = self.first_seen.send(number, content, row)
        if first != row:
            raise Rejected(Rejection.DUPLICATE, row=first)


def _check_text(content: str, sender_id: str) -> None:
    if not content:
        raise Rejected(Rejection.CONTENT_EMPTY)
    if len(content) > CONTENT_LIMIT:
        raise Rejected(Rejection.CONTENT_TOO_LONG, length=len(content), limit=CONTENT_LIMIT)
    if len(sender_id) > SENDER_ID_LIMIT:
        raise Rejected(Rejection.SENDER_TOO_LONG, length=len(sender_id), limit=SENDER_ID_LIMIT)


def _order_prefix(job_id: str) -> str:
    """The start of generated orderIds: the job id (no commas, short enough for 10-digit rows) and a dash."""
    job = job_id.replace(",", "")[: ORDER_ID_LIMIT - 11]
    return f"{job or 'row'}-"
