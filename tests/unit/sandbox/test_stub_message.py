"""What the stub would publish, computed without Pub/Sub: the data unchanged, the stub's own attributes."""

from __future__ import annotations

from sandbox.stub_message import as_pipeline_message
from tests.support.paths import SAMPLES

RUN = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"


def test_the_data_is_unchanged_and_the_attributes_are_the_stubs() -> None:
    data = (SAMPLES / "churn-failed.status.json").read_bytes()
    sent, attributes = as_pipeline_message(data, gcp_region="us-central1", on_failure_only=True)
    assert sent == data
    assert attributes == {
        "state": "FAILED",
        "pipeline_job": RUN,
        "gcp_region": "us-central1",
        "on_failure_only": "true",
    }


def test_unset_settings_add_no_attributes() -> None:
    sent, attributes = as_pipeline_message(b"not even JSON")
    assert (sent, attributes) == (b"not even JSON", {})
