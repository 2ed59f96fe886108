"""Outbound API URLs are https, or plain http to loopback only: else the function will not start.

Every URL the function sends a credential to (the Slack token, the Google access token,
the Twilio auth token, a Chat webhook's key and token) comes from its settings. Plain http
to anything but this machine would put that credential on the wire, so the function
refuses to start and its log names the variable (without echoing a webhook's secrets).
Loopback over http stays allowed: the local stack and these tests run that way.

Each case starts the real function process (functions-framework under gunicorn, as the
stack does); no emulator is needed, nothing is sent anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.function_server import FunctionServer
from sandbox.procs import free_port
from sandbox.slack_standin import TOKEN
from sandbox.stack import DEFAULT_CHANNEL, TWILIO_FROM
from sandbox.twilio_standin import ACCOUNT_SID, AUTH_TOKEN

WEBHOOK_TOKEN = "startup-webhook-token-0001"  # a test value, not a credential
CLOSED = free_port()  # nothing listens here; nothing is sent at start-up anyway


def webhooks(url: str) -> str:
    return json.dumps({"ml-alerts": url})


def chat_url(base: str) -> str:
    return f"{base}/v1/spaces/AAAAmlalerts/messages?key=startup-key&token={WEBHOOK_TOKEN}"


def settings(**overrides: str) -> dict[str, str]:
    """Every outbound URL set (to loopback), every destination configured; then ``overrides``."""
    loopback = f"http://127.0.0.1:{CLOSED}"
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_CHANNEL_ID": DEFAULT_CHANNEL,
        "GCP_REGION": "us-central1",
        "ALLOWED_PROJECTS": "acme-ml-prod,271009669852",
        "SLACK_API_URL": f"{loopback}/api/",
        "VERTEX_API_ENDPOINT": loopback,
        "LOGGING_API_ENDPOINT": loopback,
        "TWILIO_API_URL": loopback,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": TWILIO_FROM,
        "SMS_TO": "+15551230031",
        "GOOGLE_CHAT_WEBHOOKS": webhooks(chat_url(loopback)),
        "GOOGLE_CHAT_SPACES": "ml-alerts",
        **overrides,
    }


REFUSED = {
    "SLACK_API_URL": ["http://slack.example.com/api/", "http://127.0.0.1.nip.io/api/"],
    "VERTEX_API_ENDPOINT": [
        "http://vertex.example.com",
        "http://127.0.0.1@evil.example",  # the host is evil.example; 127.0.0.1 is a user name
        "http://localhost.evil.example:8080",
        "http://{region}.evil.example",
    ],
    "LOGGING_API_ENDPOINT": ["http://logging.example.com"],
    "TWILIO_API_URL": ["http://api.twilio.example.com"],
    "GOOGLE_CHAT_WEBHOOKS": [webhooks(chat_url("http://chat.example.com"))],
}
CASES = [(name, value) for name, values in REFUSED.items() for value in values]


@pytest.mark.parametrize(("name", "value"), CASES, ids=[f"{n}={v[:40]}" for n, v in CASES])
def test_plain_http_to_another_host_stops_the_function_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    try:
        server = FunctionServer.start(tmp_path, settings(**{name: value}), timeout=60)
    except RuntimeError as refused:
        text = str(refused)
    else:
        server.stop()
        pytest.fail(f"the function started with {name}={value!r}")
    assert "exited at start-up" in text
    assert name in text, f"the refusal does not name {name}:\n{text[-1500:]}"
    assert WEBHOOK_TOKEN not in text and AUTH_TOKEN not in text and TOKEN not in text


def test_plain_http_to_loopback_is_allowed_in_every_spelling(tmp_path: Path) -> None:
    port = CLOSED
    server = FunctionServer.start(
        tmp_path,
        settings(
            SLACK_API_URL=f"http://localhost:{port}/api/",
            VERTEX_API_ENDPOINT=f"http://[::1]:{port}/{{region}}",
            LOGGING_API_ENDPOINT=f"http://127.0.0.1:{port}",
            TWILIO_API_URL=f"http://localhost:{port}",
            GOOGLE_CHAT_WEBHOOKS=webhooks(chat_url(f"http://[::1]:{port}")),
        ),
        timeout=60,
    )
    try:
        assert server.process.alive()
        assert "starting" in server.log_text()
    finally:
        server.stop()
