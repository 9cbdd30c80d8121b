"""bench/scale_out.py's in-process figures on a tiny input, and its tables (the engine itself runs in
tests/integration/test_scale_out.py; no timing is asserted)."""

from __future__ import annotations

from bench import scale_out
from bench.scale_csv import scale_csv


def test_plan_index_and_merge_are_timed_per_million_rows_and_the_merge_s_memory_is_counted() -> None:
    plan_s, index_s = scale_out.plan_and_index_s_per_million(scale_csv(300), 300)
    merge_s, merge_bytes = scale_out.merge_per_million(2_000)
    assert min(plan_s, index_s, merge_s) > 0
    assert merge_bytes > 2 * 12 * 1_000_000  # at least two 12-byte slots a row
    job = {"chunks": 2, "rows": 297, "status": "SUCCEEDED", "s": 1.0, "rows_per_s": 297.0, "slowest_chunk_s": 0.5}
    result = {"rows": 300, "plan_s_per_million": plan_s, "index_s_per_million": index_s,
              "merge_s_per_million": merge_s, "merge_mb_per_million": merge_bytes / 2**20, "jobs": [job]}  # fmt: skip
    assert "merge (two indexes)" in scale_out.report(result)
    assert "SUCCEEDED" in scale_out.report(result)
