"""The three ways a job touches the outside, as protocols: where rows come from, the gateway, the hand-over."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from smsdrop.intake.uploads import Upload
from smsdrop.models import CallItem, Outcome, Position, Row


class Reader(Protocol):
    """Streams the rows of one upload, from the start or from a checkpoint."""

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """Every data row from `start` on; raises FileRefused before the first row for a file it cannot read."""
        ...

    @property
    def position(self) -> Position:
        """The place right after the last row yielded."""
        ...

    @property
    def blank_lines(self) -> int:
        """Blank lines skipped so far in the whole file, the re-scanned prefix included."""
        ...


class Gateway(Protocol):
    """Sends one call and says what became of each number; raises JobStop when nothing more can succeed."""

    def send(self, items: Sequence[CallItem]) -> dict[int, Outcome]:
        """Outcomes keyed by row."""
        ...


class Continuation(Protocol):
    """Hands the rest of a job to a fresh invocation."""

    def request(self, upload: Upload) -> None:
        """Ask for another invocation to resume `upload`'s job from its checkpoint."""
        ...


ReaderFactory = Callable[[Upload, str], Reader]
