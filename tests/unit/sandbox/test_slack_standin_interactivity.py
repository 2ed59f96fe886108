"""The Slack stand-in's side of interactivity: signed clicks, response_urls, usergroups.users.list.

Checked against what the real clients expect: ``SignatureVerifier`` accepts the stand-in's
signatures, ``WebhookClient`` posts to its response_urls and ``WebClient`` lists its groups.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from sandbox.slack_standin import RESPONSE_URL_USES, TOKEN, SlackStandin

SECRET = "5c1a8e0f3b2d4a6978c0e1f2a3b4c5d6"


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        yield standin


def posted(slack: SlackStandin) -> tuple[str, str]:
    client = WebClient(token=TOKEN, base_url=f"{slack.url}/api/")
    blocks = [{"type": "actions", "block_id": "notifier_failed", "elements": [
        {"type": "button", "action_id": "notifier_ack", "value": "v", "text": {"type": "plain_text", "text": "Ack"}}]}]  # fmt: skip
    response = client.chat_postMessage(channel="C0ALERTS1", text="failed", blocks=blocks)
    return "C0ALERTS1", response["ts"]


def test_a_click_is_signed_as_slack_signs(slack: SlackStandin) -> None:
    channel, ts = posted(slack)
    body, headers = slack.click(channel, ts, "notifier_ack", user="U0AMY0001", signing_secret=SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-apps-signing-secret").is_valid_request(body, headers)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["container"]["message_ts"] == ts
    assert payload["actions"][0]["block_id"] == "notifier_failed" and payload["message"]["blocks"]
    old = int(time.time()) - 360
    _, stale = slack.click(
        channel, ts, "notifier_ack", user="U0AMY0001", signing_secret=SECRET, timestamp=old
    )
    assert stale["X-Slack-Request-Timestamp"] == str(old)
    with pytest.raises(LookupError):
        slack.click(channel, ts, "notifier_retry", user="U0AMY0001", signing_secret=SECRET)


def test_a_response_url_takes_five_posts(slack: SlackStandin) -> None:
    channel, ts = posted(slack)
    url = slack.response_url(channel, ts)
    hook = WebhookClient(url)
    for n in range(RESPONSE_URL_USES):
        assert hook.send(text=f"ephemeral {n}", response_type="ephemeral").status_code == 200
    assert hook.send(text="one too many").status_code == 404
    assert [r.text for r in slack.responses_to(url)] == [f"ephemeral {n}" for n in range(RESPONSE_URL_USES)]
    assert all(r.ephemeral for r in slack.responses)
    assert WebhookClient(f"{slack.url}/actions/T0LOCAL01/1/unknown0").send(text="x").status_code == 404
    replaced = WebhookClient(slack.response_url(channel, ts))
    assert replaced.send(text="now this", replace_original=True).status_code == 200
    assert slack.current(channel, ts)["text"] == "now this"


def test_usergroups_users_list(slack: SlackStandin) -> None:
    slack.user_groups["S0ONCALL1"] = ["U0AMY0001", "U0BOB0001"]
    client = WebClient(token=TOKEN, base_url=f"{slack.url}/api/")
    assert client.usergroups_users_list(usergroup="S0ONCALL1")["users"] == ["U0AMY0001", "U0BOB0001"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        client.usergroups_users_list(usergroup="S0GONE001")
    with pytest.raises(SlackApiError, match="invalid_auth"):
        WebClient(token="xoxb-wrong", base_url=f"{slack.url}/api/").usergroups_users_list(
            usergroup="S0ONCALL1"
        )
    assert slack.group_lookups == 3
