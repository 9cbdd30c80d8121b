"""The provider's request signature: md5(apiKey + apiSecret + Timestamp), and the headers that carry it."""

from __future__ import annotations

import hashlib

CONTENT_TYPE = "application/json;charset=UTF-8"


def sign(api_key: str, api_secret: str, timestamp: int | str) -> str:
    """The `Sign` header: lowercase hex md5 of apiKey + apiSecret + Timestamp (epoch seconds)."""
    return hashlib.md5(f"{api_key}{api_secret}{timestamp}".encode(), usedforsecurity=False).hexdigest()


def signed_headers(api_key: str, api_secret: str, timestamp: int) -> dict[str, str]:
    """The headers of one request, signed for `timestamp`; build them afresh for every attempt."""
    return {
        "Content-Type": CONTENT_TYPE,
        "Api-Key": api_key,
        "Timestamp": str(timestamp),
        "Sign": sign(api_key, api_secret, timestamp),
    }
