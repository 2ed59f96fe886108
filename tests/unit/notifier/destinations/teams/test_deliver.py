"""Teams Workflows webhooks through ``requests`` against the Teams stand-in: 202, pacing, classification."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifier.destinations.teams.deliver import (
    TeamsRejectedError,
    TeamsUnavailableError,
    TeamsWebhook,
    workflow_of,
)
from notifier.errors import DeferredError
from notifier.pacing import Pacer
from sandbox.teams_standin import TeamsStandin

CARD = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {"type": "AdaptiveCard", "version": "1.5", "body": []},
        }
    ],
}


@pytest.fixture(scope="module")
def teams() -> Iterator[TeamsStandin]:
    with TeamsStandin() as standin:
        yield standin


@pytest.fixture
def webhook(teams: TeamsStandin) -> TeamsWebhook:
    teams.reset()
    return TeamsWebhook(Pacer(0))


@pytest.mark.parametrize("form", ["logic", "powerplatform"])
def test_a_card_is_accepted_and_the_run_id_kept(
    teams: TeamsStandin, webhook: TeamsWebhook, form: str
) -> None:
    url = teams.workflow("ML alerts", form=form)
    run_id = webhook.post(url, CARD)
    [posted] = teams.in_channel("ML alerts")
    assert posted.run_id == run_id and posted.card == CARD["attachments"][0]["content"]
    assert workflow_of(url) == url.split("/workflows/")[1][:32]


def test_a_429_moves_the_workflow_back_and_hands_the_message_back(teams: TeamsStandin) -> None:
    teams.reset()
    pacer = Pacer(1000.0, hold=0.5)
    webhook = TeamsWebhook(pacer)
    url = teams.workflow("busy")
    workflow = workflow_of(url)
    teams.fail_next(429, retry_after=2)
    with pytest.raises(
        DeferredError, match=f"HTTP 429 for workflow {workflow}: WorkflowRequestsThrottled.*handed back"
    ):
        webhook.post(url, CARD)
    with pytest.raises(DeferredError, match=f"{workflow} is busy"):
        pacer.reserve(workflow)  # Retry-After (2 s) is past the 0.5 s hold
    assert pacer.reserve("another") is not None
    assert teams.posts == []


def test_throttled_by_the_real_rate_the_pacer_keeps_under_it() -> None:
    with TeamsStandin(rate_per_second=4) as teams:
        webhook = TeamsWebhook(Pacer(3.0))
        url = teams.workflow("paced")
        for _ in range(6):
            webhook.post(url, CARD)
        assert len(teams.in_channel("paced")) == 6 and teams.refused == []


@pytest.mark.parametrize(("code", "kind"), [(500, TeamsUnavailableError), (503, TeamsUnavailableError)])
def test_5xx_is_transient(teams: TeamsStandin, webhook: TeamsWebhook, code: int, kind: type) -> None:
    teams.fail_next(code)
    with pytest.raises(kind, match=f"HTTP {code}"):
        webhook.post(teams.workflow(), CARD)


def test_a_bad_signature_or_a_deleted_workflow_is_permanent_and_never_logged(
    teams: TeamsStandin, webhook: TeamsWebhook
) -> None:
    url = teams.workflow("gone")
    sig = url.rsplit("sig=", 1)[1]
    with pytest.raises(TeamsRejectedError, match=r"HTTP 401.*DirectApiInvalidAuthorizationSignature") as info:
        webhook.post(url.replace(sig, "forged"), CARD)
    assert sig not in str(info.value) and "forged" not in str(info.value)
    unknown = url.replace(workflow_of(url), "0" * 32)
    with pytest.raises(TeamsRejectedError, match=r"HTTP 404.*WorkflowNotFound") as info:
        webhook.post(unknown, CARD)
    assert sig not in str(info.value)


def test_unreachable_is_transient() -> None:
    with TeamsStandin() as teams:
        url = teams.workflow()
    with pytest.raises(TeamsUnavailableError, match="Teams unreachable for workflow"):
        TeamsWebhook(Pacer(0)).post(url, CARD)
