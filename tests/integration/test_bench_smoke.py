"""Each bench script runs end to end on a tiny input and prints its table (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

import bench  # noqa: F401 - the layer on the path, as for `python -m bench`
from bench import bound, common, cost, e2e, memory, pipeline, record_cpu, resume_close, shards
from smsdrop.models import CallItem, Recipient
from smsdrop.provider.send_client import request_body

pytestmark = pytest.mark.slow


def test_pipeline_runs_every_loop_on_the_same_rows():
    result = pipeline.measure(rows=300, repeats=1)
    assert result["rows"] == 300
    assert 0 < result["ratio"] < 1
    assert "csv.reader" in pipeline.report(result)


def test_e2e_runs_the_naive_sender_and_smsdrop_with_both_sinks():
    result = e2e.measure(quick=True, latency_ms=1, sizes={"naive": 3, "moto": 60, "null": 60})
    assert result["naive"]["numbers"] == 3
    assert result["smsdrop_moto"]["rows"] == result["smsdrop_null_sink"]["rows"] == 60
    assert "naive sender" in e2e.report(result)


def test_bound_times_every_stage_and_names_a_bottleneck():
    configs = [(1, 2, 10, "memory", None), (1, 2, 10, "moto", 2)]
    result = bound.measure(quick=True, configs=configs, rows=60)
    for run in result["runs"]:
        assert run["calls"] > 0
        assert run["read_s"] > 0
        assert run["gateway_s"] > 0
        assert run["bottleneck"]
    assert "bottleneck" in bound.report(result)


def test_cost_counts_calls_and_write_units():
    result = cost.measure(quick=True, rows=60)
    assert result["dynamodb_calls"]["dynamodb.BatchWriteItem"] >= 3
    assert result["write_request_units_per_number"] >= 1
    assert result["gateway_calls_per_1000_numbers"] > 0
    assert "USD per million" in cost.report(result)


def test_memory_measures_a_whole_handler_run_in_a_child_process():
    result = memory.measure([150])
    (run,) = result["runs"]
    assert run["invocations"] >= 1
    assert sum(run["counts"].values()) == 150
    assert run["peak_rss_mb"] >= run["baseline_rss_mb"] > 0
    assert "peak RSS" in memory.report(result)


def test_shards_runs_the_same_file_with_the_limits_off_then_on_at_one_and_the_default_shards():
    result = shards.measure(quick=True, latency_ms=1, rows=60)
    runs = ("limits_off", "limits_on_one_shard", "limits_on_default_shards")
    assert [result[run]["rows"] for run in runs] == [60, 60, 60]
    assert result["limits_on_one_shard"]["shards"] == 1
    assert result["aws"]["shards_from_which_the_provider_is_the_ceiling"] == {"0.25": 16, "0.5": 8, "1.0": 4}
    assert "limits on, 1 shard" in shards.report(result)


def test_record_cpu_sends_every_item_of_every_sink_side_by_side_splits_the_cpu_by_stage_and_prices_it():
    result = record_cpu.measure(quick=True, latency_ms=1, write_latency_ms=1, rows=300)  # raises if an item is lost
    assert list(result["runs"]) == list(record_cpu.SINKS)
    assert result["stages"]["botocore"]["serialise + sign"] > 0
    assert result["stages"]["wire writer"]["HTTP"] > 0
    assert [run["threads"] for run in result["writer_threads"]] == list(record_cpu.THREADS["quick"])
    assert result["http_layer_us_per_request"]["urllib3"] > 0
    assert "Lambda while CPU-bound" in record_cpu.report(result)
    terms = record_cpu.aws_terms(100.0)  # 100 s of CPU a million numbers, at 512 MB (a share of a vCPU) and 1,769 MB
    assert terms["numbers_per_s_per_vcpu"] == 10_000
    assert terms["512MB"]["numbers_per_s"] == round(512 / 1769 * 10_000)
    assert terms["512MB"]["gb_s_per_million"] == pytest.approx(0.5 * 100 * 1769 / 512, abs=0.1)
    assert terms["1769MB"]["gb_s_per_million"] == pytest.approx(1769 / 1024 * 100, abs=0.1)
    assert terms["1769MB"]["usd_per_million"] == pytest.approx(1769 / 1024 * 100 * 0.0000133334, abs=1e-5)


def test_resume_close_times_continuations_that_read_nothing_back_and_closings_of_two_sizes():
    small = {"numbers_per_call": 40, "window_rows": 100}
    result = resume_close.measure([120, 240], [150, 300], latency_ms=1, extra_rows=300, settings=small, repeats=1)
    assert [c["row_item_reads"] for c in result["continuation"]] == [{}, {}]  # a hand-over's successor reads none
    assert all(c["end"] == "CONTINUED" and c["batches"] == 1 for c in result["continuation"])
    assert [c["rows"] for c in result["closing"]] == [150, 300]
    assert "One continuation" in resume_close.report(result)


def test_results_are_merged_not_replaced(tmp_path):
    path = tmp_path / "results.json"
    common.save("one", {"a": 1}, path)
    common.save("two", {"b": 2}, path)
    saved = json.loads(path.read_text())
    assert saved["one"] == {"a": 1}
    assert saved["two"] == {"b": 2}
    assert saved["machine"]["nproc"] >= 1


@pytest.mark.parametrize(
    "content", ['say "hi"\\ now', "नमस्ते € 😀", "tab\tnew\nline\x01", "\u2028\u2029 </script>", "plain"]
)
def test_the_faster_request_body_is_byte_for_byte_json_dumps(content):
    """request_body was rewritten for speed (see docs/performance.md): it must stay json.dumps's bytes."""
    people = (
        Recipient(2, 0, "919876543210", 91, content, "S\u00e9nder", 'o"1'),
        Recipient(3, 9, "447700900123", 44, content, "S\u00e9nder", "o\\2"),
    )
    items = [CallItem(content, "S\u00e9nder", people), CallItem("x", "", people[:1])]
    payload = {
        "appId": "app\u00e9",
        "array": [
            {
                "numbers": ",".join(r.number for r in item.recipients),
                "content": item.content,
                "senderId": item.sender_id,
                "orderId": ",".join(r.order_id for r in item.recipients),
            }
            for item in items
        ],
    }
    assert request_body("app\u00e9", items) == json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
