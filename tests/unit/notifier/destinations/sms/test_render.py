"""The SMS text: pure, at most 320 GSM-safe characters, links whole; golden files (<case>.sms.txt)
of every case in tests/data, from the same inputs as Slack's.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.destinations.sms.render import SMS_MAX, ascii_text, render_sms
from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails
from sandbox.logging_standin import LoggingStandin
from tests.support.golden import CASES, case_inputs, golden_text
from tests.support.hostile import examples
from tests.support.paths import DATA

JOB = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"


LINK = "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/churn-training-20261127061500?project=271009669852"


def enrichment(*tasks: FailedTask, link: str = LINK) -> Enrichment:
    return Enrichment(JobDetails(pipeline_name="churn-training", failed_tasks=tasks), "us-central1", link)


def test_a_failure_names_pipeline_task_and_link() -> None:
    text = render_sms(
        FinalStatus("FAILED", JOB),
        enrichment(
            FailedTask("Trainer", "ValueError: bad dtype\nTraceback ..."), FailedTask("Evaluator", "x")
        ),
    )
    assert text == (
        "Vertex pipeline churn-training FAILED (run churn-training-20261127061500). "
        f"Trainer: ValueError: bad dtype (+1 more) {LINK}"
    )


def test_long_prose_is_cut_and_the_link_kept_whole() -> None:
    text = render_sms(FinalStatus("FAILED", JOB), enrichment(FailedTask("Trainer", "E" * 2000)))
    assert len(text) == SMS_MAX
    assert text.endswith(f"... {LINK}")


def test_a_link_too_long_to_fit_whole_is_left_out() -> None:
    long_link = "https://console.cloud.google.com/" + "a" * 400
    text = render_sms(FinalStatus("FAILED", JOB), enrichment(FailedTask("T", "boom"), link=long_link))
    assert "https://" not in text and len(text) <= SMS_MAX


hostile_text = st.text(max_size=3000) | st.sampled_from(
    ["😱" * 500, "\x00\x1b[31m\u202e", "é" * 400, "\ud800"]
)


@settings(max_examples=examples(300, 2000), deadline=None)
@given(state=st.sampled_from(["FAILED", "SUCCEEDED", "CANCELLED", "RUNNING", "W\u00e9ird"]) | hostile_text,
       name=hostile_text, message=hostile_text, task=hostile_text)  # fmt: skip
def test_any_text_fits_two_gsm_segments(state: str, name: str, message: str, task: str) -> None:
    status = FinalStatus(state, f"projects/1/locations/r/pipelineJobs/{name[:50]}", error_message=message)
    details = JobDetails(display_name=name, failed_tasks=(FailedTask(task, message),) if task else ())
    text = render_sms(status, Enrichment(details, "r", LINK))
    assert len(text) <= SMS_MAX
    assert text.isascii() and text.isprintable()


def test_ascii_text_keeps_what_gsm_can_show() -> None:
    assert (
        ascii_text("Caf\u00e9 \u2013 na\u00efve \u201cq\u201d \U0001f631\n\tok\u2026")
        == 'Cafe - naive "q" ? ok...'
    )


@pytest.mark.parametrize("case", CASES)
def test_sms_text(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    text = render_sms(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    assert golden_text(DATA / f"{case}.sms.txt", text + "\n") == text + "\n"
    assert len(text) <= SMS_MAX and text.isascii()
    if inputs.enrichment.console_url:
        assert text.endswith(inputs.enrichment.console_url)


def test_an_sms_never_cuts_a_url_in_half() -> None:
    url = "https://api.example.com/v1/models/" + "m" * 150
    status = FinalStatus("FAILED", "projects/1/locations/us-central1/pipelineJobs/run-1")
    details = JobDetails(
        pipeline_name="p", failed_tasks=(FailedTask("train", f"{'x' * 40} failed at {url}"),)
    )
    text = render_sms(status, Enrichment(details, "us-central1", "https://console.cloud.google.com/v/run-1"))
    assert len(text) <= SMS_MAX and "https://api.example.com" not in text and "failed at..." in text
