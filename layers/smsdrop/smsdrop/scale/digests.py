"""Stable 64-bit digests of the duplicate and orderId keys: the same in every process, unlike Python's hash()."""

from __future__ import annotations

import hashlib
import struct

_BLAKE2B = hashlib.blake2b
_SIGNED_64 = struct.Struct("<q").unpack_from  # int.from_bytes(..., "little", signed=True), cheaper to call
SEPARATOR = "\x00"  # cannot be in a number (digits only), so number + content is never ambiguous


def digest(text: str) -> int:
    """A signed 64-bit digest of `text` (BLAKE2b), never 0 (0 marks "no key" in an index)."""
    value: int = _SIGNED_64(_BLAKE2B(text.encode("utf-8", "surrogatepass"), digest_size=8).digest())[0]
    return value or 1


def order_digest(order_id: str) -> int:
    """The digest of an orderId."""
    return digest(order_id)


def send_digest(number: str, content: str) -> int:
    """The digest of a number and the (filled) content sent to it."""
    return digest(number + SEPARATOR + content)
