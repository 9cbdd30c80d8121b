"""A .csv.gz on the scale-out engine: the plan writes its inflated bytes once and every chunk reads its own range of
them; the answers are one function's. The steps are driven in order here, as the state machine would run them."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

from bench.scale_csv import scale_csv
from smsdrop.scale.chunks import Chunk
from smsdrop.scale.keys import ScaleKeys
from smsdrop.scale.steps import ScaleSteps
from tests.fixtures.jobs import NO_DEADLINE, JobHarness
from tests.integration.test_scale_out import results_lines


def test_a_gzip_file_is_inflated_once_and_its_chunks_get_one_function_s_answers(harness: JobHarness) -> None:
    body = gzip.compress(scale_csv(300))
    one = harness.upload(body, "incoming/one.csv.gz")
    harness.run_to_end(one, lambda: NO_DEADLINE)
    harness.simulator.reset_audit()
    many = harness.upload(body, "incoming/many.csv.gz")
    steps = ScaleSteps(replace(harness.settings, chunk_rows=100), harness.clients)

    plan = steps.plan(many)
    s3 = harness.aws.client("s3")
    chunks = [Chunk.of(item) for item in json.loads(s3.get_object(Bucket=many.bucket, Key=plan["key"])["Body"].read())]
    assert {chunk.source for chunk in chunks} == {ScaleKeys(many.job_id).plain}
    for chunk in chunks:
        steps.index(many, chunk)
    steps.merge(many, len(chunks))
    for chunk in chunks:
        assert steps.send(many, chunk, NO_DEADLINE)["done"]
    steps.finish(many, len(chunks))

    assert results_lines(harness, many) == results_lines(harness, one)
    assert harness.simulator.audit().duplicate_numbers == 0
