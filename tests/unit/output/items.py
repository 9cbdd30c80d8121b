"""Per-number items in DynamoDB's wire format, as the results read-back gives them to the page's collector."""

from __future__ import annotations

from typing import Any

T0 = 1_800_000_000  # 2027-01-15 08:00:00 UTC


def item(
    row: int,
    status: str,
    reason: str = "",
    *,
    number: str | None = None,
    at: int = T0,
    batch: str = "1.0",
    parts: int | None = 1,
    country: str | None = "91",
    **codes: str,
) -> dict[str, Any]:
    """One item; `codes` are reject_code, provider_code or report_code."""
    value: dict[str, Any] = {
        "row": {"N": str(row)},
        "number": {"S": number or f"9198765{row:05d}"},
        "status": {"S": status},
        "reason": {"S": reason},
        "batch": {"S": batch},
        "updated_at": {"N": str(at)},
    }
    if parts is not None:
        value["parts"] = {"N": str(parts)}
    if country is not None:
        value["country_code"] = {"N": country}
    value |= {name: {"S": code} for name, code in codes.items()}
    return value
