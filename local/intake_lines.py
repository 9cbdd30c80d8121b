"""What a local run prints of how the file was read: its format, the destinations allowed, what its texts cost."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from local.aws import LocalAws
from smsdrop.send.opt_out_screen import OPTED_OUT


def read_intake(aws: LocalAws, job: dict[str, Any]) -> dict[str, Any] | None:
    """The `intake` object of the job's summary in S3 (None before the job wrote one)."""
    if "summary_key" not in job:
        return None
    body = aws.client("s3").get_object(Bucket=aws.names.bucket, Key=job["summary_key"])["Body"].read()
    intake: dict[str, Any] | None = json.loads(body).get("intake")
    if intake is not None and "guards" in intake and "results_key" in job:
        intake["guards"]["opted_out"] = _opted_out(aws, job["results_key"])
    return intake


def _opted_out(aws: LocalAws, results_key: str) -> int:
    """The rows of the job's results file REJECTED because their number is on the opt-out list."""
    body = aws.client("s3").get_object(Bucket=aws.names.bucket, Key=results_key)["Body"].read().decode()
    return sum(1 for line in csv.DictReader(io.StringIO(body)) if line.get("reason") == OPTED_OUT)


def intake_lines(intake: dict[str, Any]) -> list[str]:
    """The file's format and rules on one line, then GSM_SAFE's replacements and the UCS-2 culprits."""
    if not intake:
        return []
    how = (
        f"sheet {intake['sheet']!r}"
        if intake.get("format") == "XLSX"
        else f"{intake.get('encoding')}, delimiter {intake.get('delimiter')!r}"
    )
    allowed = intake.get("allowed_countries", "all")
    to = "every country" if allowed == "all" else ", ".join(f"+{code}" for code in allowed) + " only"
    lines = [f"file: {intake.get('format')}, {how}   allowed destinations: {to}"]
    if "guards" in intake:
        lines.append(guards_line(intake["guards"]))
    safe = intake.get("gsm_safe", {})
    if safe.get("on"):
        lines.append(f"GSM_SAFE: replaced {safe['characters']} characters in {safe['rows']} rows")
    ucs2 = intake.get("ucs2", {})
    if ucs2.get("rows"):
        lines.append(
            f"UCS-2: {ucs2['rows']} row(s); what forced it, in the first {len(ucs2['contents'])} distinct text(s):"
        )
        lines += [_culprit(content) for content in ucs2["contents"]]
    return lines


def guards_line(guards: dict[str, Any]) -> str:
    """The caps, what the file came to if it was checked first, the rows the opt-out list held back, the send
    window, and (a dry run) when the send would wait."""
    rows_cap = f"MAX_ROWS_PER_JOB {guards['max_rows_per_job']:,}" if guards.get("max_rows_per_job") else ""
    cost_cap = f"MAX_COST_PER_JOB {guards['max_cost_per_job']}" if guards.get("max_cost_per_job") else ""
    checked = guards.get("checked_first")
    found = f"checked first: {checked['rows']:,} rows, estimated cost {checked['estimated_cost']}" if checked else ""
    opted_out = f"opted out: {guards['opted_out']:,} row(s)" if "opted_out" in guards else ""
    window = f"SEND_WINDOW {guards['send_window']}" if guards.get("send_window") else ""
    wait = guards.get("would_wait")
    waits = f"the send would wait until {wait['until']} ({wait['why']})" if wait else ""
    parts = (rows_cap, cost_cap, found, opted_out, window, waits)
    return "guards: " + ("   ".join(part for part in parts if part) or "no caps")


def _culprit(content: dict[str, Any]) -> str:
    return (
        f"  row {content['first_row']:>6} (x{content['rows']}): {content['character']!r} ({content['code']}) "
        f"at position {content['position']}: {content['parts']} part(s), {content['gsm7_parts']} in GSM-7"
        f"   {content['around']!r}"
    )
