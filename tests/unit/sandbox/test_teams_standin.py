"""The Microsoft Teams Workflows webhook stand-in, driven over real HTTP: the contract a destination meets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.teams_standin import MAX_BYTES, NO_ATTACHMENTS, TOO_LARGE, TeamsStandin
from tests.support.http_client import post


@pytest.fixture
def teams() -> Iterator[TeamsStandin]:
    with TeamsStandin() as standin:
        yield standin


def card(
    *body: dict[str, Any], version: str = "1.5", actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": version,
        "body": list(body) or [{"type": "TextBlock", "text": "churn-training succeeded", "wrap": True}],
    }
    if actions is not None:
        content["actions"] = actions
    return content


def message(*cards: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": c}
            for c in (cards or (card(),))
        ],
    }


FULL_CARD = card(
    {
        "type": "TextBlock",
        "text": "**churn-training** failed",
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
    },
    {
        "type": "FactSet",
        "facts": [{"title": "Task", "value": "Trainer"}, {"title": "Took", "value": "31 min"}],
    },
    {"type": "Container", "items": [{"type": "TextBlock", "text": "Traceback (most recent call last): ..."}]},
    {
        "type": "ColumnSet",
        "columns": [
            {"type": "Column", "width": "auto", "items": [{"type": "TextBlock", "text": "auc 0.931"}]}
        ],
    },
    {
        "type": "ActionSet",
        "actions": [
            {"type": "Action.OpenUrl", "title": "Logs", "url": "https://console.cloud.google.com/logs"}
        ],
    },
    version="1.4",
    actions=[
        {"type": "Action.OpenUrl", "title": "Open run", "url": "https://console.cloud.google.com/vertex-ai"}
    ],
)


@pytest.mark.parametrize("form", ["logic", "powerplatform"])
def test_a_card_is_accepted_with_202_and_posted(teams: TeamsStandin, form: str) -> None:
    url = teams.workflow("ml-alerts", form=form)
    answer = post(url, message(FULL_CARD))
    assert (answer.status, answer.body) == (202, b"")
    assert answer.headers["x-ms-workflow-run-id"].startswith("08584")
    [run] = teams.runs
    assert (run.status, run.error, run.run_id) == ("Succeeded", "", answer.headers["x-ms-workflow-run-id"])
    [posted] = teams.in_channel("ml-alerts")
    assert posted.card == FULL_CARD and posted.run_id == run.run_id


def test_the_urls_have_the_workflow_trigger_shapes(teams: TeamsStandin) -> None:
    logic = urlsplit(teams.workflow(form="logic"))
    assert logic.path.startswith("/workflows/") and logic.path.endswith("/triggers/manual/paths/invoke")
    query = parse_qs(logic.query)
    assert query["api-version"] == ["2016-06-01"] and query["sp"] == ["/triggers/manual/run"]
    assert query["sv"] == ["1.0"] and len(query["sig"][0]) >= 40
    platform = urlsplit(teams.workflow(form="powerplatform"))
    assert platform.path.startswith("/powerautomate/automations/direct/workflows/")
    assert parse_qs(platform.query)["api-version"] == ["1"]


def test_rich_text_runs_with_links_are_posted(teams: TeamsStandin) -> None:
    link = {"type": "Action.OpenUrl", "url": "https://console.cloud.google.com/"}
    runs = [
        {"type": "TextRun", "text": "Trainer", "weight": "Bolder"},
        {"type": "TextRun", "text": "x", "selectAction": link},
    ]
    assert (
        post(teams.workflow("rich"), message(card({"type": "RichTextBlock", "inlines": runs}))).status == 202
    )
    [posted] = teams.in_channel("rich")
    assert posted.card["body"][0]["inlines"] == runs


def test_every_attachment_is_one_post(teams: TeamsStandin) -> None:
    url = teams.workflow("a")
    assert post(url, message(card(), card(version="1.0"))).status == 202
    assert len(teams.in_channel("a")) == 2 and len(teams.runs) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"text": "Hello World!"}, NO_ATTACHMENTS),  # the retired connector's format
        ({"type": "message", "attachments": []}, "no attachments"),
        ({"type": "note", "attachments": [{}]}, "'type' must be 'message'"),
        (
            {
                "type": "message",
                "attachments": [{"contentType": "application/vnd.microsoft.teams.card.o365connector"}],
            },
            "contentType must be",
        ),
        (message({"type": "AdaptiveCard", "version": "1.5"}), "'body' must be an array"),
        (message(card(version="1.6")), "version '1.6' is not supported"),
        (message(card({"type": "Table", "rows": []})), "unknown element type 'Table'"),
        (message(card({"type": "TextBlock"})), "a TextBlock needs 'text'"),
        (message(card({"type": "FactSet", "facts": [{"title": "a", "value": 1}]})), "a FactSet needs"),
        (message(card({"type": "RichTextBlock", "inlines": [{"type": "TextBlock"}]})), "holds TextRuns"),
        (
            message(card({"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": ""}]})),
            "a TextRun needs",
        ),
        (
            message(
                card(
                    {
                        "type": "RichTextBlock",
                        "inlines": [
                            {"type": "TextRun", "text": "x", "selectAction": {"type": "Action.OpenUrl"}}
                        ],
                    }
                )
            ),
            "an Action.OpenUrl needs an http(s) 'url'",
        ),
        (
            message(card({"type": "Container", "items": [{"type": "Input.Text"}]})),
            "unknown element type 'Input.Text'",
        ),
        (message(card(actions=[{"type": "Action.Submit"}])), "unknown action type 'Action.Submit'"),
        (
            message(card(actions=[{"type": "Action.OpenUrl", "url": "javascript:alert(1)"}])),
            "an Action.OpenUrl needs an http(s) 'url'",
        ),
    ],
)
def test_a_bad_card_is_still_202_but_the_run_fails_and_nothing_is_posted(
    teams: TeamsStandin, body: dict[str, Any], problem: str
) -> None:
    answer = post(teams.workflow(), body)
    assert answer.status == 202
    [run] = teams.runs
    assert run.status == "Failed" and problem in run.error
    assert teams.posts == []


def test_strict_mode_answers_a_bad_card_with_400_and_a_big_one_with_413() -> None:
    with TeamsStandin(strict=True) as teams:
        url = teams.workflow()
        answer = post(url, message(card(version="1.6")))
        assert answer.status == 400
        error = answer.json()["error"]
        assert error["code"] == "TriggerInputSchemaMismatch" and "version '1.6'" in error["message"]
        big = post(url, message(card({"type": "TextBlock", "text": "x" * MAX_BYTES})))
        assert big.status == 413 and big.json()["error"]["message"] == TOO_LARGE
        assert teams.runs == [] and teams.posts == []


def test_the_size_limit_counts_the_whole_request_in_utf8_bytes(teams: TeamsStandin) -> None:
    url = teams.workflow("sizes")
    envelope = len(json.dumps(message(card({"type": "TextBlock", "text": ""}))).encode())
    fits = message(card({"type": "TextBlock", "text": "x" * (MAX_BYTES - envelope)}))
    assert len(json.dumps(fits).encode()) == MAX_BYTES
    assert post(url, fits).status == 202 and teams.runs[-1].status == "Succeeded"
    # One character more, or the same length in characters that take two bytes each, is over.
    over = message(card({"type": "TextBlock", "text": "x" * (MAX_BYTES - envelope + 1)}))
    assert post(url, over).status == 202
    assert (teams.runs[-1].status, teams.runs[-1].error) == ("Failed", TOO_LARGE)
    wide = json.dumps(
        message(card({"type": "TextBlock", "text": "é" * ((MAX_BYTES - envelope) // 2 + 1)})),
        ensure_ascii=False,
    )
    assert post(url, None, raw=wide.encode()).status == 202
    assert teams.runs[-1].status == "Failed"
    assert len(teams.in_channel("sizes")) == 1


def test_a_wrong_or_missing_signature_and_an_unknown_workflow_are_refused(teams: TeamsStandin) -> None:
    url = teams.workflow()
    wrong = url.rsplit("sig=", 1)[0] + "sig=AAAA"
    assert post(wrong, message()).json()["error"]["code"] == "DirectApiInvalidAuthorizationSignature"
    assert post(wrong, message()).status == 401
    unsigned = url.rsplit("&sig=", 1)[0]
    answer = post(unsigned, message())
    assert (answer.status, answer.json()["error"]["code"]) == (401, "DirectApiAuthorizationRequired")
    unknown = url.replace(urlsplit(url).path.split("/")[2], "0" * 32)
    answer = post(unknown, message())
    assert (answer.status, answer.json()["error"]["code"]) == (404, "WorkflowNotFound")
    assert teams.runs == [] and teams.attempts == 0


def test_not_json_and_not_post_are_400(teams: TeamsStandin) -> None:
    url = teams.workflow()
    answer = post(url, None, raw=b"{broken")
    assert (answer.status, answer.json()["error"]["code"]) == (400, "InvalidRequestContent")
    answer = post(url, None, method="GET")
    assert (answer.status, answer.json()["error"]["code"]) == (400, "TriggerRequestMethodNotValid")
    assert teams.runs == []


def test_scripted_429_with_retry_after_and_5xx_then_normal_service(teams: TeamsStandin) -> None:
    url = teams.workflow("c")
    teams.fail_next(429, 502, retry_after=7)
    first, second, third = (post(url, message()) for _ in range(3))
    assert (first.status, first.headers["Retry-After"]) == (429, "7")
    assert first.json()["error"]["code"] == "WorkflowRequestsThrottled"
    assert second.status == 502 and "error" in second.json()
    assert third.status == 202 and len(teams.in_channel("c")) == 1
    assert teams.attempts == 3


def test_more_than_four_a_second_per_workflow_is_throttled() -> None:
    now = [100.0]
    with TeamsStandin(rate_per_second=4, clock=lambda: now[0]) as teams:
        url, other = teams.workflow("a"), teams.workflow("b")
        assert [post(url, message()).status for _ in range(5)] == [202, 202, 202, 202, 429]
        assert post(other, message()).status == 202  # per workflow
        now[0] += 1.0  # the window has moved on
        assert post(url, message()).status == 202
        assert len(teams.in_channel("a")) == 5


def test_reset_forgets_runs_but_keeps_workflows(teams: TeamsStandin) -> None:
    url = teams.workflow("r")
    post(url, message())
    teams.fail_next(500)
    teams.reset()
    assert (teams.runs, teams.posts, teams.attempts) == ([], [], 0)
    assert post(url, message()).status == 202
