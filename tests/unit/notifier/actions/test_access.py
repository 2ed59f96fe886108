"""Who may do what (``actions.access``): per action, by user and by Slack user group.

User groups are listed through the real ``slack_sdk`` client against the Slack stand-in's
``usergroups.users.list``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifier.actions.access import Access
from notifier.actions.commands import Command
from notifier.config import Config
from notifier.destinations.slack.deliver import SlackDelivery, make_client
from sandbox.slack_standin import TOKEN, SlackStandin

BASE = {
    "SLACK_BOT_TOKEN": TOKEN,
    "GOOGLE_CLOUD_PROJECT": "acme-ml-prod",
    "GCP_REGION": "us-central1",
    "DEDUP_COLLECTION": "claims",
    "ACTIONS_TOPIC": "projects/acme-ml-prod/topics/notifier-actions",
    "SLACK_SIGNING_SECRET": "5c1a8e0f3b2d4a6978c0e1f2a3b4c5d6",
    "RETRY_SERVICE_ACCOUNTS": "pipelines@acme-ml-prod.iam.gserviceaccount.com",
}


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        standin.user_groups = {"S0ONCALL1": ["U0AMY0001", "U0BOB0001"], "S0LEADS01": ["U0LEAD001"]}
        yield standin


def access(slack: SlackStandin, clock: list[float] | None = None, **env: str) -> Access:
    config = Config.from_env({**BASE, "SLACK_API_URL": f"{slack.url}/api/", **env})
    delivery = SlackDelivery(make_client(TOKEN, config.slack.api_url))
    now = clock or [0.0]
    return Access(config.actions, delivery.group_members, ttl=300, clock=lambda: now[0])


def test_acknowledge_and_mute_are_anyones_unless_someone_is_named(slack: SlackStandin) -> None:
    anyone = access(slack)
    assert anyone.refusal(Command.ACK, "U0EVE0001") == ""
    assert anyone.refusal(Command.UNMUTE, "U0EVE0001") == ""
    named = access(slack, ACTION_USER_GROUPS="ack:S0ONCALL1")
    assert named.refusal(Command.ACK, "U0AMY0001") == ""
    assert "not among those who may acknowledge" in named.refusal(Command.ACK, "U0EVE0001")
    assert named.refusal(Command.MUTE, "U0EVE0001") == ""  # the grant was for ack only


def test_cancel_and_retry_need_the_opt_in_and_someone_named(slack: SlackStandin) -> None:
    off = access(slack, ACTION_USERS="U0LEAD001")
    assert off.refusal(Command.RETRY, "U0LEAD001") == "retry is not enabled here (ALLOW_ACTIONS)"
    nobody = access(slack, ALLOW_ACTIONS="cancel,retry")
    assert "no one may retry runs here" in nobody.refusal(Command.RETRY, "U0LEAD001")
    assert "no one may cancel runs here" in nobody.refusal(Command.CANCEL, "U0LEAD001")
    some = access(slack, ALLOW_ACTIONS="retry", ACTION_USERS="retry:U0LEAD001,U0AMY0001")
    assert some.refusal(Command.RETRY, "U0LEAD001") == ""
    assert some.refusal(Command.RETRY, "U0AMY0001") == ""  # unprefixed: every action
    assert "not among" in some.refusal(Command.RETRY, "U0BOB0001")
    assert "not enabled" in some.refusal(Command.CANCEL, "U0LEAD001")
    # Named for retry only: acknowledging stays anyone's... unless an unprefixed entry names someone.
    assert some.refusal(Command.ACK, "U0BOB0001") != ""
    assert (
        access(slack, ALLOW_ACTIONS="retry", ACTION_USERS="retry:U0LEAD001").refusal(Command.ACK, "U0BOB0001")
        == ""
    )


def test_groups_are_asked_once_per_ttl(slack: SlackStandin) -> None:
    clock = [0.0]
    groups = access(slack, clock, ALLOW_ACTIONS="cancel", ACTION_USER_GROUPS="cancel:S0LEADS01,ack:S0ONCALL1")
    before = slack.group_lookups
    assert groups.refusal(Command.CANCEL, "U0LEAD001") == ""
    assert groups.refusal(Command.CANCEL, "U0AMY0001") != ""
    assert slack.group_lookups == before + 1
    slack.user_groups["S0LEADS01"] = ["U0LEAD001", "U0AMY0001"]
    clock[0] = 299
    assert groups.refusal(Command.CANCEL, "U0AMY0001") != ""  # cached
    clock[0] = 301
    assert groups.refusal(Command.CANCEL, "U0AMY0001") == ""  # asked again
    assert slack.group_lookups == before + 2


def test_a_group_slack_will_not_list_has_no_members(slack: SlackStandin) -> None:
    missing = access(slack, ACTION_USER_GROUPS="ack:S0GONE001")
    assert "not among" in missing.refusal(Command.ACK, "U0AMY0001")
