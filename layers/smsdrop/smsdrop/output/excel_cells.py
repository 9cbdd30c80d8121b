"""The cells of a results-file line, written so that a spreadsheet opening the CSV neither runs nor mangles them.

Two dangers, one marker. A cell starting with `= + - @`, tab or CR would run as a formula: it is written with a
leading `'`. A cell of digits in an identifier column (number, orderId, msgId) would become a number: Excel shows
919876543210 as 9.19877E+11, keeps only 15 significant digits of a 19-digit msgId and drops leading zeros. So in
those columns a cell starting with a digit (or with `'` itself, so the marker can always be taken off again) is
written with a leading `'` too: Excel opens it as text, every digit kept, the `'` shown.

Why not `="919876543210"`, the usual trick: Excel hides it, but it is a formula, the very thing the rule above
refuses to write, and other readers (LibreOffice, pandas, a database import) take it literally. A script reading
the file takes one leading `'` off the number, orderId and msgId cells, and off any cell that starts `'=` `'+`
`'-` `'@`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESULT_COLUMNS = ("row", "number", "orderId", "status", "reason", "msgId", "parts", "encoding")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_STARTS = (*_FORMULA_STARTS, *"0123456789'")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, prefixed with `'` so it stays text."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def as_text(cell: str) -> str:
    """An identifier cell that a spreadsheet would run or turn into a number, prefixed with `'` (see the module)."""
    return f"'{cell}" if cell.startswith(_TEXT_STARTS) else cell


def result_cells(value: Mapping[str, Any]) -> list[str]:
    """The cells of one results-file line, in RESULT_COLUMNS order, from an item's plain values."""
    return [
        str(value["row"]),
        as_text(str(value.get("number", ""))),
        as_text(str(value.get("order_id", ""))),
        neutralise(str(value["status"])),
        neutralise(str(value.get("reason", ""))),
        as_text(str(value.get("msg_id", ""))),
        str(value.get("parts", "")),
        str(value.get("encoding", "")),
    ]
