"""A job the Vertex AI client cannot parse (artifact metadata nested past protobuf's limit) is read
again without its deepest parts, through the real client against the Vertex stand-in, and keeps its
verification, its routes and its results; what cannot be read at all still degrades, never drops."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob

from notifier.bounded_json import JsonInputError
from notifier.enrich.vertex import PRUNE_DEPTH, VertexEnricher, parse_job_document, pruned
from notifier.names import parse_job_name
from notifier.sources.final_status import parse_status
from notifier.verify import verify
from sandbox.vertex_standin import VertexStandin
from tests.test_results_data import GENUINE, RESULTS

DEEP = "hostile-metrics-too-deep"


@pytest.fixture(scope="module")
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        standin.load_jobs(RESULTS)
        yield standin


def test_a_job_too_deep_for_the_client_is_read_without_its_deepest_parts(
    vertex: VertexStandin, caplog: pytest.LogCaptureFixture
) -> None:
    status = parse_status((RESULTS / f"{DEEP}.status.json").read_bytes())
    name = parse_job_name(status.pipeline_job_resource_name)
    vertex.reset()
    enrichment = VertexEnricher(lambda region: vertex.url, 5.0).enrich(status, name)
    assert enrichment.details is not None and not enrichment.note
    assert verify(status, enrichment).confirmed  # routed and paged like any run
    assert [m.name for m in enrichment.details.results.metrics] == ["auc"]  # the deep one is left out
    assert "reading it without its deepest parts" in caplog.text
    # The client's request, then ours, as the REST transport asks: enums as integers.
    assert len(vertex.requests) == 2 and "enum-encoding" in vertex.requests[1]


def test_a_job_that_fails_again_still_degrades(vertex: VertexStandin) -> None:
    status = parse_status((RESULTS / f"{DEEP}.status.json").read_bytes())
    name = parse_job_name(status.pipeline_job_resource_name)
    vertex.reset()
    vertex.fail_next(0, 503)  # the client's read answers; the second read fails
    enrichment = VertexEnricher(lambda region: vertex.url, 5.0).enrich(status, name)
    assert enrichment.details is None and "503" in enrichment.note
    assert verify(status, enrichment).unconfirmed  # sent marked unverified, as for any Vertex failure


def test_pruning_keeps_what_a_real_job_holds() -> None:
    for case in GENUINE:  # the real compiled pipelines' jobs: about 13 levels deep
        document = json.loads((RESULTS / f"{case}.job.json").read_text())
        assert pruned(document) == document, case
    deep = {"v": 1}
    for _ in range(PRUNE_DEPTH + 5):
        deep = {"v": deep}
    cut = pruned(deep)
    for _ in range(PRUNE_DEPTH - 1):
        cut = cut["v"]
    assert cut == {"v": None}


def test_parse_job_document_matches_the_client_on_what_it_can_read() -> None:
    raw = (RESULTS / "kfp-metrics-succeeded.job.json").read_bytes()
    assert parse_job_document(raw) == PipelineJob.from_json(raw.decode())
    with pytest.raises(JsonInputError):
        parse_job_document(b"[" * 600 + b"]" * 600)
