"""Errors that no retry can heal: the job must end FAILED with what it recorded, not be retried forever."""

from __future__ import annotations

from botocore.exceptions import ClientError

PERMANENT_CODES = {
    "ValidationException": "DynamoDB refused an item (too large, or malformed)",
    "NoSuchVersion": "the uploaded file's version is gone",
    "NoSuchKey": "the uploaded file is gone",
    "NoSuchBucket": "the bucket is gone",
    "AccessDenied": "the uploaded file can no longer be read (access denied)",
    "InvalidObjectState": "the uploaded file is archived and cannot be read",
}
REASON_CHARS = 256


def permanent(error: BaseException) -> str | None:
    """Why `error` will happen again on every attempt (a reason for the job's error), or None if a retry may heal
    it: DynamoDB's ValidationException (an item too large...), the upload's version gone or unreadable, text that
    cannot be encoded."""
    if isinstance(error, UnicodeError):
        return _bounded(f"text that cannot be encoded ({type(error).__name__}: {error})")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in PERMANENT_CODES:
            message = error.response.get("Error", {}).get("Message", "")
            return _bounded(f"{PERMANENT_CODES[code]} ({code}: {message})")
    return None


def _bounded(reason: str) -> str:
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"
