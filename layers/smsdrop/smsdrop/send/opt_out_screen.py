"""The opt-out list between the batcher and the window: each batch's numbers are looked up as the batch is taken to
be started, and those on the list leave its call for its rejected rows (REJECTED "opted out", never sent). A batch
is screened just before it starts, so an opt-out added while a job runs is honoured by every batch after it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from smsdrop.intake.rejections import Rejection
from smsdrop.models import Batch, CallItem, Recipient, RowError
from smsdrop.send.ports import OptOuts

OPTED_OUT = Rejection.OPTED_OUT.reason()


def screened(batches: Iterable[Batch], optouts: OptOuts) -> Iterator[Batch]:
    """Each batch of `batches` without the recipients `optouts` lists (they ride along as rejected rows)."""
    for batch in batches:
        listed = optouts.opted_out({r.number for r in batch.recipients}) if batch.has_call else set()
        yield _without(batch, listed) if listed else batch


def _without(batch: Batch, listed: set[str]) -> Batch:
    """`batch` with the recipients whose number is in `listed` moved from its call to its rejected rows."""
    items = tuple(_kept(item, listed) for item in batch.items)
    dropped = tuple(_opted_out(r) for r in batch.recipients if r.number in listed)
    return replace(batch, items=tuple(item for item in items if item.recipients), rejected=batch.rejected + dropped)


def _kept(item: CallItem, listed: set[str]) -> CallItem:
    return replace(item, recipients=tuple(r for r in item.recipients if r.number not in listed))


def _opted_out(recipient: Recipient) -> RowError:
    r = recipient
    return RowError(r.row, r.offset, r.number, r.sender_id, r.order_id, Rejection.OPTED_OUT.value, OPTED_OUT)
