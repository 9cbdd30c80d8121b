"""DynamoDB's batch operations, asked again for what they leave unprocessed: one loop for every batched read and
write of the store (BatchGetItem's UnprocessedKeys, BatchWriteItem's UnprocessedItems)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Request = dict[str, Any]


def retried(
    call: Callable[..., Request],
    pending: Request,
    unprocessed: str,
    attempts: int,
    sleep: Callable[[float], None],
    error: Callable[[Request], Exception],
) -> Iterator[Request]:
    """Each answer of `call(RequestItems=...)`, first on `pending`, then on what the answer left under `unprocessed`,
    backing off (50 ms doubling, at most 2 s) between tries; after `attempts` tries raises `error(what is left)`."""
    for attempt in range(attempts):
        answer: Request = call(RequestItems=pending)
        yield answer
        pending = answer.get(unprocessed) or {}
        if not pending:
            return
        sleep(min(2.0, 0.05 * 2**attempt))
    raise error(pending)
