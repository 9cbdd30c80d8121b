"""The header row: which column holds the number, the content, the senderId and the orderId.

Names are matched ignoring case, spaces, `_` and `-`, each field under a few aliases (README.md, "The CSV").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from smsdrop.intake.bounds import COLUMN_NAME_CHARS, cut
from smsdrop.intake.rejections import FileProblem, FileRefused, column_list, column_name

logger = logging.getLogger(__name__)

_NAME_NOISE = re.compile(r"[\s_\-]+")
ALIASES = {
    "number": ("number", "phone", "mobile", "msisdn", "numbers"),
    "content": ("content", "message", "text", "body"),
    "senderId": ("senderid", "sender", "from"),
    "orderId": ("orderid", "order", "reference", "ref"),
}
_FIELD_OF = {alias: field for field, aliases in ALIASES.items() for alias in aliases}


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each field is in a row. Absent optional fields point one past the end (an empty cell)."""

    names: tuple[str, ...]
    number: int
    content: int
    sender_id: int
    order_id: int
    by_name: Mapping[str, int] = field(default_factory=dict)
    """Every column's position under its canonical name (known fields under the field's name)."""

    def position(self, name: str) -> int | None:
        """Where the column `name` is, matched as headers are (any alias of a known field finds it); None if absent."""
        canonical = _NAME_NOISE.sub("", name).lower()
        return self.by_name.get(_FIELD_OF.get(canonical, canonical))

    @classmethod
    def of(cls, header: list[str] | None) -> Columns:
        """The columns named by the header record; FileRefused if there is none, or a column is missing,
        unnamed or named twice."""
        if header is None:
            raise FileRefused(FileProblem.EMPTY)
        names = tuple(name.strip() for name in header)
        names = (names[0].removeprefix("\ufeff").strip(), *names[1:]) if names else names
        if not any(names):
            raise FileRefused(FileProblem.NO_HEADER)
        found = _fields(names)
        for needed, problem in (("number", FileProblem.NO_NUMBER_COLUMN), ("content", FileProblem.NO_CONTENT_COLUMN)):
            if needed not in found:
                raise FileRefused(problem, names)
        extra = [name for name, field in zip(names, found, strict=True) if field not in ALIASES]
        if extra:
            logger.info("Ignoring columns smsdrop does not use: %s", column_list(extra))
        absent = len(names)
        sender_id, order_id = found.get("senderId", absent), found.get("orderId", absent)
        return cls(names, found["number"], found["content"], sender_id, order_id, found)


def _fields(names: tuple[str, ...]) -> dict[str, int]:
    """The position of each field, in header order (unknown columns under their own canonical name)."""
    found: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            raise FileRefused(FileProblem.EMPTY_COLUMN_NAME, names, position=position + 1)
        canonical = _NAME_NOISE.sub("", name).lower()
        field = _FIELD_OF.get(canonical, canonical)
        if field in found:
            first, second = column_name(names[found[field]]), column_name(name)
            named = cut(field, COLUMN_NAME_CHARS)
            raise FileRefused(FileProblem.DUPLICATE_COLUMN, names, first=first, second=second, field=named)
        found[field] = position
    return found
