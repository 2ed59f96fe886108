"""Renderer golden pairs (tests/data/<case>.status.json → <case>.slack.json), limits and escaping.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/notifier/destinations/slack/test_render.py``
and review the diff like code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from slack_sdk.models.blocks import Block

from notifier.destinations.content import Link, build
from notifier.destinations.slack.render import (
    BLOCKS_MAX,
    MESSAGE_TEXT_MAX,
    SECTION_TEXT_MAX,
    escape,
    render,
    text_size,
)
from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails, LogExcerpt
from notifier.sources.final_status import parse_status
from sandbox.logging_standin import LoggingStandin
from tests.support.golden import CASES, golden_text, render_slack
from tests.support.hostile import huge_enrichment
from tests.support.paths import DATA


@pytest.fixture(scope="module")
def rendered(logging_api: LoggingStandin) -> Callable[[str], dict]:
    """Render a case by name (each case once per module)."""
    cache: dict[str, dict] = {}

    def get(case: str) -> dict:
        if case not in cache:
            cache[case] = render_slack(case, logging_api)
        return cache[case]

    return get


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, rendered: Callable[[str], dict]) -> None:
    payload = rendered(case)
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    assert payload == json.loads(golden_text(DATA / f"{case}.slack.json", text))


def _urls(payload: dict) -> list[str]:
    """Every URL the message links to: buttons and ``<url|label>`` links."""
    found = []
    for block in payload["blocks"]:
        for element in block.get("elements", []):
            if element.get("url"):
                found.append(element["url"])
    text = json.dumps(payload, ensure_ascii=False)
    found += [m.replace("&amp;", "&") for m in re.findall(r"<(https?://[^|>]+)\|", text)]
    return found


@pytest.mark.parametrize("case", CASES)
def test_every_case_is_within_slack_limits(case: str, rendered: Callable[[str], dict]) -> None:
    payload = rendered(case)
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= BLOCKS_MAX
    for block in blocks:
        # slack_sdk's own validators check lengths and required fields.
        Block.parse(block).validate_json()
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= SECTION_TEXT_MAX
    # Slack rejects messages of about 12k characters of block text in practice.
    assert text_size([Block.parse(b) for b in blocks]) <= MESSAGE_TEXT_MAX
    assert len(payload["text"]) <= 3000
    for url in _urls(payload):
        assert "…" not in url and not url.endswith(("%", "%2", "%3")), f"a cut URL: {url}"


def test_fallback_text_keeps_the_wording_users_know(rendered: Callable[[str], dict]) -> None:
    assert rendered("succeeded")["text"] == (
        ":tada: Pipeline job *churn-training-20261126061500* completed successfully."
    )
    assert rendered("failed-with-tasks")["text"] == (
        "<!subteam^S0123ABC> :scream: Pipeline job *churn-training-20261127061500* failed.\n"
        ">The DAG failed because some tasks failed. The failed tasks are: [Trainer, Evaluator]."
    )
    assert "was cancelled" in rendered("cancelled")["text"]


def test_the_lead_says_pipeline_outcome_and_duration_once(rendered: Callable[[str], dict]) -> None:
    lead = rendered("failed-traceback")["blocks"][0]["text"]["text"]
    assert lead == "<!subteam^S0123ABC> :scream: *churn-training* failed after ~26m 50s"
    text = json.dumps(rendered("failed-traceback"))
    assert text.count("failed after") == 1 and 'FAILED"' not in text and "*State*" not in text
    assert rendered("succeeded-struct-params")["blocks"][0]["text"]["text"] == (
        ":tada: *churn-training* succeeded in 1h 02m 03s"
    )


def test_a_traceback_tail_is_the_cause(rendered: Callable[[str], dict]) -> None:
    blocks = rendered("failed-traceback")["blocks"]
    texts = [b.get("text", {}).get("text", "") for b in blocks]
    assert texts[1].startswith("*train-model*: The replica workerpool0-0 exited")
    code = texts[2]
    assert code.startswith("```\nTraceback (most recent call last):\n  … ")
    assert code.endswith("raise KeyError(key) from err\nKeyError: 'churned'\n```")
    assert len(code.splitlines()) <= 15 + 2 and len(code) <= 1500 + 10
    # The failed first attempt's job is not the one read: the latest attempt's log is.
    assert "ServiceUnavailable" not in json.dumps(blocks)


def test_links_are_whole_buttons_and_links(rendered: Callable[[str], dict]) -> None:
    payload = rendered("failed-traceback")
    [actions] = [b for b in payload["blocks"] if b["type"] == "actions"]
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Open in Vertex AI"]
    # The task's log link is ours, labelled by us, beside the task's name (never inside the label).
    cause = payload["blocks"][1]["text"]["text"]
    assert cause.startswith("*train-model*: ")
    logs_url = (
        "https://console.cloud.google.com/logs/query;"
        "query=resource.type%3D%22ml_job%22%0Aresource.labels.job_id%3D%224569671626135699456%22;"
        "timeRange=2026-11-27T06%3A23%3A35Z%2F2026-11-27T06%3A41%3A12Z?project=271009669852"
    )
    assert cause.endswith(f" · <{logs_url}|View logs>")
    # Vertex's own log link in the task error is whole too (it used to be cut at 300 characters).
    vertex_link = (
        "https://console.cloud.google.com/logs/viewer?project=271009669852&resource=ml_job%2Fjob_id%2F"
        "4569671626135699456&advancedFilter=resource.type%3D%22ml_job%22%0Aresource.labels.job_id%3D%22"
        "4569671626135699456%22"
    )
    assert vertex_link in _urls(payload)


def test_a_long_task_error_is_cut_around_its_link(rendered: Callable[[str], dict]) -> None:
    payload = rendered("failed-logs-forbidden")
    text = json.dumps(payload, ensure_ascii=False)
    assert "Logs: Cloud Logging answered 403 (Forbidden)" in text
    assert any(url.endswith("job_id%3D%225123456789012345678%22") for url in _urls(payload))
    assert "…" in payload["blocks"][1]["text"]["text"]  # the prose was cut, the link was not


def test_several_failed_tasks_are_capped(rendered: Callable[[str], dict]) -> None:
    payload = rendered("failed-many-tasks")
    text = json.dumps(payload, ensure_ascii=False)
    assert "…and 2 more failed tasks: *train-linear*, *train-dnn*" in text
    assert text.count("FileNotFoundError") == 3
    [actions] = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert len(actions["elements"]) == 1
    causes = [
        b["text"]["text"]
        for b in payload["blocks"]
        if b.get("text", {}).get("text", "").startswith("*train-")
    ]
    assert len(causes) == 3 and all(c.endswith("|View logs>") for c in causes)


def test_a_non_python_error_shows_the_last_error_lines(rendered: Callable[[str], dict]) -> None:
    text = json.dumps(rendered("failed-non-python"))
    assert "Last error lines in its log:" in text
    assert "[PATH_NOT_FOUND] Path does not exist" in text
    assert "    at com.acme.features.FeatureJob.main(FeatureJob.java:23)" in text


def test_non_ascii_logs_stay_readable_and_harmless(rendered: Callable[[str], dict]) -> None:
    payload = rendered("failed-non-ascii")
    text = json.dumps(payload, ensure_ascii=False)
    assert "ファイル「магазины.csv」は Shift_JIS? &lt;!channel&gt; 🙀" in text
    assert "<!channel>" not in text
    assert "\x1b" not in text and "\\u001b" not in text
    code = next(
        b["text"]["text"] for b in payload["blocks"] if b.get("text", {}).get("text", "").startswith("```")
    )
    assert code.count("```") == 2, "a backtick fence inside a log line must not end the block"


def test_a_ten_thousand_line_log_reads_one_page(
    rendered: Callable[[str], dict], logging_api: LoggingStandin
) -> None:
    logging_api.reset()
    payload = render_slack("failed-10k-lines", logging_api)
    assert [r.page_size for r in logging_api.requests] == [50]
    text = json.dumps(payload)
    assert "ResourceExhaustedError: Graph execution error: OOM" in text
    assert text_size([Block.parse(b) for b in payload["blocks"]]) < 4000


def test_list_and_struct_parameters_are_compact_json(rendered: Callable[[str], dict]) -> None:
    context = rendered("succeeded-struct-params")["blocks"][-1]["elements"]
    parameters = next(e["text"] for e in context if e["text"].startswith("Parameters:"))
    assert "`customer_ids`=`[123, 456]`" in parameters
    assert "`thresholds`=`[0.25, 0.5, 1]`" in parameters
    assert '`model_config`=`{"dropout": 0.2, "early_stopping": true, "layers": [128, 64], ' in parameters
    assert "MapComposite" not in parameters and "123.0" not in parameters


def test_unknown_state_is_never_reported_as_success(rendered: Callable[[str], dict]) -> None:
    payload = rendered("unknown-state")
    text = json.dumps(payload)
    assert "PAUSED" in payload["text"]
    assert "completed successfully" not in text
    assert ":tada:" not in text


def test_mention_only_on_failure() -> None:
    status = parse_status((DATA / "succeeded.status.json").read_bytes())
    message = render(status, Enrichment(None, "us-central1", ""), channel="C1", mention="<@U0123>")
    assert "<@U0123>" not in json.dumps(message.to_payload())


def test_untrusted_text_cannot_ping_or_spoof_links(rendered: Callable[[str], dict]) -> None:
    text = json.dumps(rendered("hostile-text"))
    for live in ("<!channel>", "|click here>", "<@U999>", "<!here>", "<b>"):
        assert live not in text
    assert "&lt;!channel&gt;" in text
    assert "&amp;" in text
    # A URL in untrusted text becomes a link labelled with its own host, never with other text.
    assert "<https://evil.example|evil.example>" in text


def test_oversized_input_is_truncated_and_says_so(rendered: Callable[[str], dict]) -> None:
    payload = rendered("oversized")
    text = json.dumps(payload, ensure_ascii=False)
    assert all("…" in b["text"]["text"] for b in payload["blocks"][1:4]), "each task's error is cut"
    assert "shortened to fit Slack's limits" in text
    assert re.search(r"…and \d+ more", text), "a cut task list must say how many were left out"
    assert len(payload["text"]) <= 3000


def test_truncation_never_leaves_half_an_escape() -> None:
    status = parse_status(json.dumps({"state": "FAILED", "error": {"message": "<" * 4000}}).encode())
    message = render(status, Enrichment(None, "", ""), channel="C1")
    for block in message.to_payload()["blocks"]:
        body = block.get("text", {}).get("text", "")
        if body.endswith("…"):
            assert body[:-1].endswith("&lt;") or not body[:-1].rstrip(">").endswith("&")


def test_escape_is_complete() -> None:
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"


# --- trust boundary: what payload text can and cannot do to a message ----------------------

RUN = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"
CONSOLE = "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/x?project=1"
LOGS = "https://console.cloud.google.com/logs/query;query=x?project=1"


def failure(*tasks: FailedTask, error: str = "", **details: object) -> tuple[FinalStatus, Enrichment]:
    job = JobDetails(pipeline_name="churn-training", failed_tasks=tasks, **details)  # type: ignore[arg-type]
    return FinalStatus("FAILED", RUN, error_message=error), Enrichment(job, "us-central1", CONSOLE)


def _code_blocks(payload: dict) -> list[str]:
    return [
        b["text"]["text"] for b in payload["blocks"] if b.get("text", {}).get("text", "").startswith("```")
    ]


@pytest.mark.parametrize("run", ["```", "````", "`````", "``````````", "`` `` ``"])
def test_a_run_of_backticks_cannot_break_out_of_a_code_block(run: str) -> None:
    lines = (f"{run}", f"raise ValueError('{run}')", f"x{run}", f"{run}<!channel>", "`")
    status, enrichment = failure(FailedTask("train", "boom", excerpt=LogExcerpt(lines, "traceback")))
    [block] = _code_blocks(render(status, enrichment, channel="C1").to_payload())
    assert block.startswith("```\n") and block.endswith("\n```")
    body = block[4:-4]
    assert "``" not in body, "no two backticks touch inside: nothing can close the block early"
    assert body.replace("\u200b", "") == "\n".join(escape(line) for line in lines)  # nothing else changed


def test_a_cut_code_block_still_closes() -> None:
    lines = ("Traceback (most recent call last):", "`" * 5000, "E" * 5000)
    status, enrichment = failure(FailedTask("train", "boom", excerpt=LogExcerpt(lines, "traceback")))
    [block] = _code_blocks(render(status, enrichment, channel="C1").to_payload())
    assert len(block) <= SECTION_TEXT_MAX and block.endswith("…\n```") and block.count("```") == 2


def test_inline_code_cannot_be_ended_by_a_backtick() -> None:
    status, enrichment = failure(parameters=(("query", "SELECT `a` FROM `t`"), ("x`y", "``")))
    context = render(status, enrichment, channel="C1").to_payload()["blocks"][-1]["elements"]
    parameters = next(e["text"] for e in context if e["text"].startswith("Parameters:"))
    grave = "\u02cb"  # what a backtick becomes inside inline code
    assert (
        parameters
        == f"Parameters: `query`=`SELECT {grave}a{grave} FROM {grave}t{grave}` · `x{grave}y`=`{grave * 2}`"
    )


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://evil.example/reset-your-password?now=1", "evil.example"),
        ("https://console.cloud.google.com@evil.example/x", "evil.example"),
        ("https://user@Evil.Example.:8443/a", "evil.example"),
        ("https://\u0430pple.com/login", "xn--pple-43d.com"),  # a Cyrillic a
        ("http://[2001:db8::1]:80/x", "[2001:db8::1]"),
        ("https://a%2Fb.example/x", "link"),
        ("https://" + "a" * 300 + ".example/", "link"),
    ],
)
def test_a_link_found_in_text_is_labelled_with_its_host(url: str, label: str) -> None:
    status, enrichment = failure(error=f"see {url} now")
    [link] = [s for s in build(status, enrichment).error.segments if isinstance(s, Link)]
    assert link == Link(label, url)
    text = json.dumps(render(status, enrichment, channel="C1").to_payload(), ensure_ascii=False)
    assert f"|{label}>" in text


def test_links_the_notifier_builds_carry_no_payload_text() -> None:
    bait = "Click here to approve the payment"
    status, enrichment = failure(FailedTask(bait, "boom", logs_url=LOGS))
    payload = render(status, enrichment, channel="C1").to_payload()
    labels = re.findall(r"\|([^>]*)>", json.dumps(payload, ensure_ascii=False))
    buttons = [e["text"]["text"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert set(labels) == {"View logs"} and buttons == ["Open in Vertex AI"]
    assert payload["blocks"][1]["text"]["text"] == f"*{bait}*: boom · <{LOGS}|View logs>"


def test_a_link_is_whole_or_left_out_however_long_the_text() -> None:
    urls = [f"https://logs.example/{n}?" + "&a=1" * 450 for n in range(3)]  # & escapes to five characters
    error = " ".join(f"{'word ' * 40}{url}" for url in urls)
    status, enrichment = failure(FailedTask("t" * 500, error, logs_url=LOGS))
    section = render(status, enrichment, channel="C1").to_payload()["blocks"][1]["text"]["text"]
    assert len(section) <= SECTION_TEXT_MAX
    found = [m.replace("&amp;", "&") for m in re.findall(r"<(https://[^|>]+)\|", section)]
    assert found and all(url in [*urls, LOGS] for url in found), "every link in the text is a whole URL"
    assert section.count("<") == section.count(">")


def test_an_unverified_notice_says_so_first_and_mentions_no_one(rendered: Callable[[str], dict]) -> None:
    payload = rendered("unverified")
    unverified = ":warning: Unverified: this status could not be confirmed with Vertex AI (Vertex AI could not be reached)."
    assert payload["text"].startswith(unverified + "\n:scream: Pipeline job")
    assert payload["blocks"][0]["text"]["text"] == unverified
    assert "subteam" not in json.dumps(payload)
    assert "<!subteam^S0123ABC>" in rendered("failed-with-tasks")["text"]  # the same mention, verified


def test_the_fallback_text_is_scrubbed_too(rendered: Callable[[str], dict]) -> None:
    text = rendered("failed-secrets")["text"]
    assert "pg-Secret-42" not in text and "ya29.a0" not in text
    assert "<https://etl:••••@db.internal.example:5432/features|db.internal.example>" in text


def test_slack_stays_within_its_limits_whatever_it_is_given() -> None:
    status, enrichment = huge_enrichment(400, "\U0001f631<&`" * 10_000)
    payload = render(status, enrichment, channel="C1", mention="<!here>").to_payload()
    assert len(payload["blocks"]) <= 50 and len(payload["text"]) <= 3000
