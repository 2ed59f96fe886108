"""Clicks as a source (``sources.actions``): only from ACTIONS_TOPIC, signed by Slack, published in time.

The worker is replaced by a list the clicks go to (what would be done is the worker's own
test); everything before it is the real path: ``Sources`` from ``wiring``, the published
request as the interactivity function publishes it, ``SignatureVerifier``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from notifier.actions.interactivity import ACTION_ATTRIBUTE, signed_request
from notifier.actions.payload import Click, response_origins
from notifier.config import Config
from notifier.errors import BadMessageError
from notifier.sources.actions import ActionRefusedError, Actions
from notifier.sources.pubsub import PubSubMessage
from notifier.wiring import make_sources, make_vertex
from sandbox.slack_standin import slack_signature
from tests.conftest import DATA

SECRET = "5c1a8e0f3b2d4a6978c0e1f2a3b4c5d6"
TOPIC = "projects/acme-ml-prod/topics/notifier-actions"
SIGNED_AT = datetime(2026, 12, 4, 10, 42, tzinfo=timezone.utc)
BODY = urlencode({"payload": (DATA / "actions" / "block_actions.json").read_text()}).encode()
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-local-standin-token",
    "SLACK_CHANNEL_ID": "C0ALERTS1",
    "GOOGLE_CLOUD_PROJECT": "acme-ml-prod",
    "GCP_REGION": "us-central1",
    "DEDUP_COLLECTION": "claims",
    "ACTIONS_TOPIC": TOPIC,
    "SLACK_SIGNING_SECRET": SECRET,
}


def message(
    *,
    body: bytes = BODY,
    secret: str = SECRET,
    published: datetime | None = SIGNED_AT + timedelta(seconds=2),
    topic: str = TOPIC,
    attributes: dict[str, str] | None = None,
    signed_body: bytes | None = None,
) -> PubSubMessage:
    """A click as the interactivity function publishes it (signed over ``signed_body``, default ``body``)."""
    stamp = str(int(SIGNED_AT.timestamp()))
    signature = slack_signature(secret, stamp, body if signed_body is None else signed_body)
    return PubSubMessage(
        message_id="1",
        data=signed_request(body, stamp, signature),
        attributes={"action": ACTION_ATTRIBUTE} if attributes is None else attributes,
        publish_time=published.isoformat().replace("+00:00", "Z") if published else "",
        topic=topic,
    )


@pytest.fixture
def clicks() -> list[Click]:
    return []


@pytest.fixture
def sources(clicks: list[Click]):
    config = Config.from_env(ENV)
    actions = Actions(config.actions, response_origins(config.slack.api_url), clicks.append)
    return make_sources(config, make_vertex(config), actions=actions)


def test_a_signed_click_from_the_actions_topic_is_done_and_carries_no_notice(sources, clicks) -> None:
    assert list(sources.notices(message())) == []
    [click] = clicks
    assert (click.command.value, click.user, click.job.job) == (
        "ack",
        "U0AMY0001",
        "churn-training-20261127061500",
    )


def test_published_within_five_minutes_of_signing_and_not_after(sources, clicks) -> None:
    sources.notices(message(published=SIGNED_AT + timedelta(minutes=4, seconds=59)))
    assert len(clicks) == 1
    with pytest.raises(ActionRefusedError, match="five minutes"):
        sources.notices(message(published=SIGNED_AT + timedelta(minutes=6)))
    with pytest.raises(ActionRefusedError, match="publish time"):
        sources.notices(message(published=None))
    assert len(clicks) == 1


def test_a_made_up_click_is_refused_whoever_may_publish(sources, clicks) -> None:
    forged = BODY.replace(b"U0AMY0001", b"U0EVE0001")
    with pytest.raises(ActionRefusedError, match="signature"):
        sources.notices(message(body=forged, signed_body=BODY))  # changed after Slack signed it
    with pytest.raises(ActionRefusedError, match="signature"):
        sources.notices(message(secret="another-apps-signing-secret"))
    assert clicks == []


def test_only_actions_topic_carries_clicks_and_nothing_else_is_read_from_it(sources, clicks) -> None:
    with pytest.raises(ActionRefusedError, match="only ACTIONS_TOPIC"):
        sources.notices(message(topic="projects/acme-ml-prod/topics/notifier-status"))
    with pytest.raises(ActionRefusedError, match="only ACTIONS_TOPIC"):
        sources.notices(message(topic=""))
    # A final status (or anything) published to the actions topic is not read as one.
    status = PubSubMessage("2", (DATA / "failed-with-tasks.status.json").read_bytes(), topic=TOPIC)
    with pytest.raises(ActionRefusedError, match="no click"):
        sources.notices(status)
    assert clicks == []


@pytest.mark.parametrize(
    "data", [b"{", b"[]", json.dumps({"body": 1, "timestamp": "1", "signature": "v0="}).encode()]
)
def test_a_malformed_click_message_is_refused(sources, data: bytes) -> None:
    with pytest.raises(BadMessageError):
        sources.notices(
            PubSubMessage("3", data, {"action": ACTION_ATTRIBUTE}, "2026-12-04T10:42:02Z", topic=TOPIC)
        )


def test_with_actions_off_a_click_is_refused() -> None:
    config = Config.from_env(
        {k: v for k, v in ENV.items() if k not in ("ACTIONS_TOPIC", "SLACK_SIGNING_SECRET")}
    )
    plain = make_sources(config, make_vertex(config))
    with pytest.raises(ActionRefusedError, match="actions are off"):
        plain.notices(message())
