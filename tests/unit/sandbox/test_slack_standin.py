"""The Slack stand-in, driven by the real slack_sdk client: its rate limit is Slack's token bucket."""

from __future__ import annotations

import pytest

from notifier.destinations.slack.deliver import SlackDelivery, make_client
from notifier.destinations.slack.render import SlackMessage
from notifier.errors import SlackUnavailableError
from sandbox.slack_standin import TOKEN, SlackStandin

MESSAGE = SlackMessage(channel="C0123ABCD", text="hello")


def test_the_standin_rate_limit_is_a_token_bucket() -> None:
    with SlackStandin(rate_per_second=0.01, burst=2) as limited:
        raw = SlackDelivery(make_client(TOKEN, f"{limited.url}/api/", timeout=5, rate_limit_retries=0))
        raw.post(MESSAGE)
        raw.post(MESSAGE)  # a short burst is allowed
        with pytest.raises(SlackUnavailableError, match="429"):
            raw.post(MESSAGE)  # the third within 100 s is not
        assert limited.rate_limited == 1
        assert len(limited.messages()) == 2
