"""bench/xlsx_read.py runs end to end on a tiny input and prints its table (no timing is asserted)."""

from __future__ import annotations

import argparse

import pytest

import bench  # noqa: F401 - the layer on the path, as for `python -m bench`
from bench import xlsx_read

pytestmark = pytest.mark.slow


def test_xlsx_read_reads_the_same_rows_as_a_csv_and_an_xlsx_each_in_a_child(tmp_path):
    result = xlsx_read.measure(argparse.Namespace(quick=False, rows=200, workdir=str(tmp_path)))
    by_format = result["by_format"]
    assert [(f["rows"], f["rejected"]) for f in by_format.values()] == [(200, by_format["csv"]["rejected"])] * 3
    assert by_format["csv"]["import_s"] == 0 < by_format["xlsx"]["import_s"]
    assert all(f["peak_mb"] >= f["rss_before_mb"] > 0 for f in by_format.values())
    assert "rows/s" in xlsx_read.report(result)
    assert list(tmp_path.iterdir()) == []
