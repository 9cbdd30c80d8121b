"""Taking a job over where its last invocation left it, without reading the job back.

The job item says which rows past the checkpoint are recorded (`recorded`) and which batches were in flight. After a
hand-over that is all there is: nothing is read, and the results file carries on from its state object. After a
crash the in-flight batches may or may not have their items: those (at most `in_flight` batches) are read by key,
and so are the rows whose lines the results file lost (from its last state to the checkpoint: at most one part's
worth, plus the rows recorded past the checkpoint). A row of an in-flight batch without an item may have been sent:
it is set aside and recorded UNKNOWN, never sent again.

In a job resumed after a stop or a cancel (`resend`) every row has an item: one still marked unsent is no more
recorded than a row without one, and an in-flight row is recorded UNKNOWN over its unsent item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from smsdrop.models import UNKNOWN_REASON, Outcome, Recipient, Row, Status
from smsdrop.send.ports import Item, JobLease, Results, ResultsStream
from smsdrop.store.results import Result
from smsdrop.store.steering import UNSENT

RECOVERED = "recovered"
"""The batch name of rows recorded UNKNOWN because an earlier holder had them in flight."""

Settle = Callable[[Iterable[int], Sequence[str]], None]
"""Told rows now recorded past the checkpoint, and in-flight marks of an earlier holder to drop with them."""


class Recovery:
    """Rows an earlier holder of the job recorded or may have sent (see the module docstring)."""

    def __init__(
        self,
        lease: JobLease,
        results: Results,
        stream: ResultsStream,
        clock: Callable[[], float],
    ) -> None:
        self._lease = lease
        self._results = results
        self._rows = lease.record.row_items
        self._stream = stream
        self._clock = clock
        self._marks = list(lease.record.in_flight)
        self._suspect = {row for rows in lease.record.in_flight.values() for row in rows}
        self._recorded = frozenset(lease.record.recorded)
        self._unknown: list[Row] = []
        self._resend = lease.record.resend

    def catch_up(self) -> frozenset[int]:
        """Bring the results file up to the checkpoint; the rows recorded past it (which are not sent again)."""
        checkpoint = self._lease.record.checkpoint
        through = checkpoint.row if checkpoint else 0
        if self._stream.through_row < through:  # lines lost with a crash: read back (at most a part's worth)
            self._stream.add(self._results.read(self._rows, self._stream.through_row, through))
        held = self._stream.held_rows
        wanted = {row for row in self._recorded | self._suspect if row > through and row not in held}
        found = self._results.by_row(self._rows, wanted) if wanted else {}
        if self._resend:
            found = {row: item for row, item in found.items() if UNSENT not in item}
        self._stream.add(found.values())
        self._stream.advance(through)
        self._suspect -= found.keys()
        self._recorded |= found.keys()
        return self._recorded

    def fresh(self, rows: Iterable[Row]) -> Iterator[Row]:
        """Rows not yet recorded; rows an earlier holder may have sent are set aside as UNKNOWN."""
        for row in rows:
            if row.row in self._recorded:
                continue
            if row.row in self._suspect and isinstance(row, Recipient):
                self._unknown.append(row)
                continue
            yield row

    def record_unknown(self, settle: Settle, read_through: int) -> None:
        """Record set-aside rows as UNKNOWN (never resent); once the reader is past every row an earlier holder had
        in flight (it has read through row `read_through`), `settle` the rows recorded and the marks to drop."""
        written: list[int] = []
        if self._unknown:
            outcome = Outcome(Status.UNKNOWN, UNKNOWN_REASON)
            recovered = [Result(r, outcome, RECOVERED) for r in self._unknown]
            self._stream.add(self._write(recovered))
            written = [r.row for r in self._unknown]
            self._unknown.clear()
        if self._marks and read_through >= max(self._suspect, default=0):
            settle(written, self._marks)
            self._marks = []
        elif written:
            settle(written, [])

    def _write(self, recovered: list[Result]) -> list[Item]:
        if self._resend:
            return [item for item, _ in self._results.write_unsent(self._rows, recovered, self._clock())]
        return self._results.write_once(self._rows, recovered, self._clock())
