"""What the texts of a file cost, and how to make them cheaper: the characters that force UCS-2, and GSM_SAFE.

One character outside GSM-7 (a curly quote pasted from a word processor, a non-breaking space) sends the whole
text in UCS-2: 70 characters a part instead of 160, so often twice the parts. `TextTally` names that character
and its position for the first LISTED distinct UCS-2 texts of a file (with a few characters around it, never
the whole text), with the parts it costs; with GSM_SAFE,
`gsm_safe` swaps the usual offenders for their GSM-7 twins before sending (GSM_TWINS), and the tally counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from smsdrop.output.sms_parts import Encoding, gsm7_parts, sms_parts, ucs2_culprit

LISTED = 20
AROUND_CHARS = 10  # shown each side of the culprit: enough to find it, not a whole text (it may hold a code)
GSM_TWINS = {
    "\u2018": "'",  # left single quote
    "\u2019": "'",  # right single quote, apostrophe
    "\u201a": "'",  # low single quote
    "\u201b": "'",  # reversed single quote
    "\u2032": "'",  # prime
    "\u201c": '"',  # left double quote
    "\u201d": '"',  # right double quote
    "\u201e": '"',  # low double quote
    "\u201f": '"',  # reversed double quote
    "\u2033": '"',  # double prime
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # ellipsis
    "\u00a0": " ",  # non-breaking space
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow non-breaking space
}
_OFFENDERS = re.compile(f"[{''.join(GSM_TWINS)}]")
_TWINS = str.maketrans(GSM_TWINS)


def gsm_safe(text: str) -> tuple[str, int]:
    """`text` with each usual offender replaced by its GSM-7 twin, and how many were replaced."""
    replaced = len(_OFFENDERS.findall(text))
    return (text.translate(_TWINS), replaced) if replaced else (text, 0)


@dataclass(slots=True)
class _Ucs2Text:
    """One distinct UCS-2 text: where it first appears, how often, and what forces it."""

    text: str
    first_row: int
    rows: int = 1

    def as_json(self) -> dict[str, Any]:
        character, position = ucs2_culprit(self.text) or ("", 0)
        return {
            "around": _around(self.text, position - 1),
            "first_row": self.first_row,
            "rows": self.rows,
            "character": character,
            "code": f"U+{ord(character):04X}",
            "position": position,
            "parts": sms_parts(self.text).parts,
            "gsm7_parts": gsm7_parts(self.text),
        }


def _around(text: str, at: int) -> str:
    """The characters of `text` up to AROUND_CHARS each side of index `at`, with `…` where it was cut."""
    start, stop = max(0, at - AROUND_CHARS), at + AROUND_CHARS + 1
    return ("…" if start else "") + text[start:stop] + ("…" if stop < len(text) else "")


@dataclass(slots=True)
class TextTally:
    """The texts of the rows to send: UCS-2 rows, the first LISTED distinct UCS-2 texts, GSM_SAFE replacements.

    `counted_through`: rows up to it are counted already (a tally taken back from a snapshot), so `add` skips them."""

    safe: bool = False
    ucs2_rows: int = 0
    replaced_characters: int = 0
    replaced_rows: int = 0
    _texts: dict[str, _Ucs2Text] = field(default_factory=dict)
    counted_through: int = 0

    def prepare(self, text: str) -> tuple[str, int]:
        """The text to send (made GSM-safe if `safe`) and the characters replaced in it."""
        return gsm_safe(text) if self.safe else (text, 0)

    def add(self, text: str, row: int, replaced: int) -> None:
        """Count a row to send, its text as sent, and the characters GSM_SAFE replaced in it."""
        if row <= self.counted_through:
            return
        if replaced:
            self.replaced_characters += replaced
            self.replaced_rows += 1
        if sms_parts(text).encoding is Encoding.UCS2:
            self.ucs2_rows += 1
            if (seen := self._texts.get(text)) is not None:
                seen.rows += 1
            elif len(self._texts) < LISTED:
                self._texts[text] = _Ucs2Text(text, row)

    def state(self) -> dict[str, Any]:
        """Everything counted, JSON-able, for `restored`."""
        texts = [[t.text, t.first_row, t.rows] for t in self._texts.values()]
        return {"counts": [self.ucs2_rows, self.replaced_characters, self.replaced_rows], "texts": texts}

    @classmethod
    def restored(cls, safe: bool, state: dict[str, Any], counted_through: int) -> TextTally:
        """The tally whose `state` this was, counting rows after `counted_through` only."""
        texts = {text: _Ucs2Text(text, first_row, rows) for text, first_row, rows in state["texts"]}
        ucs2_rows, replaced_characters, replaced_rows = state["counts"]
        tally = cls(safe, ucs2_rows, replaced_characters, replaced_rows, counted_through=counted_through)
        tally._texts.update(texts)
        return tally

    def as_json(self) -> dict[str, Any]:
        """The summary's view: GSM_SAFE and what it replaced; UCS-2 rows and the first distinct UCS-2 texts."""
        return {
            "gsm_safe": {"on": self.safe, "characters": self.replaced_characters, "rows": self.replaced_rows},
            "ucs2": {"rows": self.ucs2_rows, "contents": [t.as_json() for t in self._texts.values()]},
        }
