"""How much of an upload's text is kept: the one place that bounds what leaves intake.

Rejected rows and refusals end up in DynamoDB items (400 KB each at most, a job's error on the job item), in the
results file and in the logs. So every text taken from the file is cut to a bound here, and bytes that were not
UTF-8 (lone surrogates while reading) are shown as `\\xNN`: nothing that leaves intake holds a lone surrogate,
and nothing grows with the file. README.md ("The CSV") lists these bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

CELL_CHARS = 64  # number, senderId and orderId of a rejected row, as recorded
NUMBER_CELL_CHARS = 64  # no phone number is written longer: a longer number cell is rejected before any parsing
REASON_CHARS = 256  # a row's reason
REFUSAL_CHARS = 1024  # a file's refusal, recorded as the job's error
COLUMNS_LISTED = 20  # column names listed in a refusal or a log line, then "and N more"
COLUMN_NAME_CHARS = 24  # each column name listed
CHARACTERS_LISTED = 5  # distinct odd characters named in a number's reason, then "and N more"

_MARKER = "…[cut {} chars]"
_SURROGATE = re.compile("[\ud800-\udfff]")


def shown(text: str) -> str:
    """`text` with each byte that was not UTF-8 (kept as a lone surrogate, NUL as U+DC00) written `\\xNN`."""
    return _SURROGATE.sub(_escape, text)


def cut(text: str, keep: int) -> str:
    """`text` shown, and if longer than `keep` characters its first `keep` then a marker: `…[cut 12 chars]`."""
    text = shown(text)
    if len(text) <= keep:
        return text
    return text[:keep] + _MARKER.format(len(text) - keep)


def within(text: str, limit: int) -> str:
    """`text` shown, and cut so that with its marker it is at most `limit` characters long."""
    text = shown(text)
    if len(text) <= limit:
        return text
    keep = limit - len(_MARKER.format(len(text)))
    return text[:keep] + _MARKER.format(len(text) - keep)


def listed(items: Sequence[str], most: int, show: Callable[[str], str] = repr) -> str:
    """The first `most` items as `show` writes them, comma-separated, then "and N more" for the others."""
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(map(show, items[:most])) + more


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code - 0xDC00:02x}" if 0xDC00 <= code <= 0xDCFF else f"\\u{code:04x}"
