"""``replay invoke``: a push straight to the running function, and ``--dry-run`` in process."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from replay.errors import EXIT_OK, EXIT_RUNTIME
from replay.invoke import BLOCK_KIT_BUILDER, PLACEHOLDER_CHANNEL, needs_identity_token
from sandbox.logging_standin import LoggingStandin
from sandbox.slack_standin import SlackStandin
from sandbox.stack import LocalStack
from sandbox.vertex_standin import VertexStandin
from tests.support.paths import SAMPLES

FAILED = str(SAMPLES / "churn-failed.status.json")
SUCCEEDED = str(SAMPLES / "churn-succeeded.status.json")


@pytest.fixture
def standins(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SlackStandin, VertexStandin]]:
    """Stand-ins, and this process's environment pointed at them as a user's shell would be."""
    with SlackStandin() as slack, VertexStandin() as vertex, LoggingStandin() as logs:
        vertex.load_jobs(SAMPLES / "jobs")
        logs.load(SAMPLES / "logs" / "churn-failed.logs.json")
        logs.project_ids["271009669852"] = "acme-ml-prod"
        for name in (
            "SLACK_BOT_TOKEN", "SLACK_CHANNEL_ID", "ON_FAILURE_ONLY", "GCP_REGION", "LOG_LEVEL",
            "ALLOWED_PROJECTS", "ALLOWED_REGIONS", "GOOGLE_CLOUD_PROJECT",
        ):  # fmt: skip
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SLACK_API_URL", f"{slack.url}/api/")
        monkeypatch.setenv("VERTEX_API_ENDPOINT", vertex.url)
        monkeypatch.setenv("LOGGING_API_ENDPOINT", logs.url)
        yield slack, vertex


def _preview_blocks(err: str) -> list:
    [link] = [w for w in err.split() if w.startswith(BLOCK_KIT_BUILDER)]
    return json.loads(unquote(link[len(BLOCK_KIT_BUILDER) :]))["blocks"]


def test_dry_run_prints_the_payload_and_a_preview_and_sends_nothing(replay, standins, monkeypatch) -> None:
    slack, vertex = standins
    monkeypatch.setenv("SLACK_CHANNEL_ID", "C0DRYTEST1")
    result = replay("invoke", FAILED, "--dry-run")
    assert result.code == EXIT_OK, result.err
    [(where, payload)] = json.loads(result.out).items()
    assert where == "slack:C0DRYTEST1"
    assert payload["channel"] == "C0DRYTEST1"
    assert "ALLOWED_PROJECTS is unset" in result.err  # the message's own project, checked
    assert payload["text"].startswith(":scream: Pipeline job *churn-training-20261127061500* failed.")
    body = json.dumps(payload)
    assert "Trainer" in body and "exited with a non-zero status" in body  # enriched from the Vertex stand-in
    assert "dtype float32" in body  # and the Trainer's traceback from the Cloud Logging stand-in
    assert _preview_blocks(result.err) == payload["blocks"]
    assert "would say: posted" in result.err
    assert vertex.requests, "the dry run did not ask Vertex for the job"
    assert slack.attempts == 0


def test_dry_run_without_a_channel_uses_a_placeholder_and_says_so(replay, standins) -> None:
    result = replay("invoke", SUCCEEDED, "--dry-run")
    assert result.code == EXIT_OK, result.err
    assert json.loads(result.out)[f"slack:{PLACEHOLDER_CHANNEL}"]["channel"] == PLACEHOLDER_CHANNEL
    assert "SLACK_CHANNEL_ID is unset" in result.err


def test_dry_run_honours_on_failure_only(replay, standins, monkeypatch) -> None:
    monkeypatch.setenv("ON_FAILURE_ONLY", "true")
    result = replay("invoke", SUCCEEDED, "--dry-run")
    assert result.code == EXIT_OK, result.err
    assert result.out == ""
    assert "would say: skipped" in result.err


def test_dry_run_of_a_message_the_function_rejects(replay, standins, tmp_path: Path) -> None:
    saved = tmp_path / "garbage.json"
    saved.write_text(json.dumps([{"message": {"data": base64.b64encode(b"oops").decode()}}]))
    result = replay("invoke", str(saved), "--dry-run")
    assert result.code == EXIT_RUNTIME
    assert "would say: rejected" in result.err
    assert "message data is not JSON" in result.err
    assert result.out == ""


def test_invoke_posts_to_the_running_function(replay, tmp_path: Path) -> None:
    stack = LocalStack.start(tmp_path, jobs_dir=SAMPLES / "jobs")
    try:
        result = replay("invoke", FAILED, SUCCEEDED, "--url", stack.function.url)
        assert result.code == EXIT_OK, result.err
        assert result.out.count("HTTP 200") == 2
        posted = stack.slack.messages()
        assert [p.channel for p in posted] == ["C0DEFAULT1", "C0DEFAULT1"]
        assert "Trainer" in json.dumps(posted[0].body)
    finally:
        stack.stop()


def test_only_deployed_urls_get_an_identity_token() -> None:
    assert needs_identity_token("https://notify-abc-uc.a.run.app/")
    assert not needs_identity_token("http://127.0.0.1:8080/")
    assert not needs_identity_token("https://localhost:8443/")


def test_dry_run_renders_for_every_configured_destination(replay, standins, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_CHANNEL_ID", "C0DRYTEST1")
    monkeypatch.setenv(
        "GOOGLE_CHAT_WEBHOOKS",
        json.dumps(
            {"ml-alerts": "https://chat.googleapis.com/v1/spaces/AAAAdry/messages?key=k&token=dry-token-1"}
        ),
    )
    monkeypatch.setenv("GOOGLE_CHAT_SPACES", "ml-alerts")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 31 + "1")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "dry-run-auth-token")
    monkeypatch.setenv("TWILIO_FROM", "+15005550006")
    monkeypatch.setenv("SMS_TO", "+15551230009")
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEYS", json.dumps({"ml-oncall": "R" * 31 + "9"}))
    monkeypatch.setenv("PAGERDUTY_SERVICES", "ml-oncall")
    workflow = (
        "https://prod-1.westus.logic.azure.com:443/workflows/" + "ab" * 16 + "/triggers/manual/paths/invoke"
    )
    monkeypatch.setenv(
        "TEAMS_WEBHOOKS", json.dumps({"ml": workflow + "?api-version=2016-06-01&sig=dry-sig-1"})
    )
    monkeypatch.setenv("TEAMS_CHANNELS", "ml")
    result = replay("invoke", FAILED, "--dry-run")
    assert result.code == EXIT_OK, result.err
    kept = json.loads(result.out)
    assert set(kept) == {
        "slack:C0DRYTEST1",
        "google_chat:AAAAdry",
        "sms:+15551230009",
        "pagerduty:ml-oncall",
        "teams:" + "ab" * 16,
    }
    assert kept["pagerduty:ml-oncall"]["event_action"] == "trigger"
    assert kept["teams:" + "ab" * 16]["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert "R" * 31 not in result.out + result.err and "dry-sig-1" not in result.out + result.err
    assert (
        kept["google_chat:AAAAdry"]["cardsV2"]
        and kept["google_chat:AAAAdry"]["thread"]["threadKey"] == "churn-training"
    )
    assert kept["sms:+15551230009"].startswith("Vertex pipeline churn-training FAILED")
    assert "dry-token-1" not in result.out + result.err  # a webhook's URL is its credential
