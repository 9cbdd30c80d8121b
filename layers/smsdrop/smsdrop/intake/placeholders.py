"""Placeholders in a content: `((name))` is replaced by the row's cell in the column `name`.

Names are matched as headers are (case, spaces, `_` and `-` ignored; `((order))` finds an `orderId` column under
any of its aliases); a name is 1 to 64 letters, digits, spaces, `_` or `-`. A placeholder whose column is missing,
or whose cell is empty in a row, rejects that row, naming the column. `\\((` writes a literal `((`; any other
`((` that does not start a placeholder, and every `))`, is text as written. Filling is one pass: a value holding
`((x))` is not filled again.
"""

from __future__ import annotations

import re

from smsdrop.intake.columns import Columns
from smsdrop.intake.rejections import Rejected, Rejection, column_name

_PLACEHOLDER = re.compile(r"\\\(\(|\(\(([\w \-]{1,64})\)\)")


class Placeholders:
    """Fills the placeholders of contents from the cells of the same row, under one header."""

    def __init__(self, columns: Columns) -> None:
        self._columns = columns

    def fill(self, content: str, fields: list[str]) -> str:
        """`content` with each placeholder replaced by its cell (trimmed); Rejected if a column or a value is
        missing."""
        if "((" not in content:
            return content
        return _PLACEHOLDER.sub(lambda match: self._value(match, fields), content)

    def _value(self, match: re.Match[str], fields: list[str]) -> str:
        name = match[1]
        if name is None:
            return "(("
        position = self._columns.position(name)
        if position is None:
            raise Rejected(Rejection.PLACEHOLDER_NO_COLUMN, name=name)
        value = fields[position].strip()
        if not value:
            raise Rejected(Rejection.PLACEHOLDER_EMPTY, name=name, column=column_name(self._columns.names[position]))
        return value
