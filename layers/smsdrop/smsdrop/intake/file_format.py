"""What kind of file an upload is, as read: CSV (its encoding and delimiter) or XLSX (its sheet).

The delimiter of a CSV is sniffed from its header line only: whichever of `,` `;` and tab occurs most often
outside quotes (Excel saves `;` where the comma is the decimal separator, and tabs as "Unicode text"); a tie
goes to the comma, then the semicolon. A header line with none of them is read with commas.
"""

from __future__ import annotations

from dataclasses import dataclass

DELIMITERS = (",", ";", "\t")
_NAMES = {",": ",", ";": ";", "\t": "tab"}


@dataclass(frozen=True, slots=True)
class FileFormat:
    """How a file was read: `kind` CSV or XLSX; a CSV's encoding and delimiter, an XLSX's sheet."""

    kind: str
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""

    def as_json(self) -> dict[str, str]:
        """The summary's view: format, then encoding and delimiter (named: `,` `;` `tab`), or sheet."""
        if self.kind == "XLSX":
            return {"format": self.kind, "sheet": self.sheet}
        return {"format": self.kind, "encoding": self.encoding, "delimiter": _NAMES[self.delimiter]}

    def described(self) -> str:
        """One line for the log: `CSV, Windows-1252, delimiter ';'` or `XLSX, sheet 'Recipients'`."""
        if self.kind == "XLSX":
            return f"XLSX, sheet {self.sheet!r}"
        return f"CSV, {self.encoding}, delimiter {_NAMES[self.delimiter]!r}"


def sniffed_delimiter(header_line: str | None) -> str:
    """The delimiter of a CSV whose first line is `header_line` (see the module)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line or "":
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(DELIMITERS, key=counts.__getitem__)  # max keeps the first of equals: the comma, then `;`
