"""A local stand-in for a Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received").

The Office 365 connectors (``*.webhook.office.com``) are retired; a Teams channel now
takes webhooks through a Power Automate workflow whose trigger URL is one of

    https://prod-NN.<region>.logic.azure.com:443/workflows/<id>/triggers/manual/paths/invoke
        ?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=<signature>
    https://<environment>.environment.api.powerplatform.com:443/powerautomate/automations/direct
        /workflows/<id>/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=<signature>

(the whole URL is the secret: ``sig`` signs it). This serves both path shapes on
loopback (``workflow(form=...)`` registers one and returns its URL) and speaks the
contract:

- the request: ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <AdaptiveCard>}]}``,
  the card ``{"$schema": ..., "type": "AdaptiveCard", "version": "1.0"…"1.5", "body":
  [...], "actions": [...]}`` (Teams renders schema 1.5 at most); one post per attachment;
- ``202 Accepted`` with an empty body as soon as the trigger fires: the flow runs after
  the answer, so a card Teams refuses (malformed, over the 28 KB message limit, no
  ``attachments``) still answers 202 and only the flow run fails. ``runs`` records every
  run and its error, ``posts`` only what reached the channel. ``strict=True`` answers
  such a body at once instead, as a trigger with schema validation does: ``400``
  ``TriggerInputSchemaMismatch``, or ``413`` over the size limit;
- Logic Apps errors ``{"error": {"code": ..., "message": ...}}``: 401 for a missing or
  wrong ``sig``, 404 for an unknown workflow, 400 for a body that is not JSON or a
  method other than POST, ``429 WorkflowRequestsThrottled`` with ``Retry-After`` past a
  per-workflow rate ("more than four requests ... in a second") or when scripted, and
  scripted ``5xx``.

The card check is minimal: the elements and actions a notifier uses (TextBlock,
RichTextBlock of TextRuns (plain text, a run's ``selectAction`` an Action.OpenUrl), FactSet,
Container, ColumnSet/Column, ActionSet, Image; Action.OpenUrl with an http(s) URL);
anything else fails the run.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.http_standin import Script, StandinServer, WindowLimit

MAX_BYTES = 28 * 1024  # "The message size limit is 28 KB."
RATE_PER_SECOND = 4
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5")
ELEMENTS = {"TextBlock", "RichTextBlock", "FactSet", "Container", "ColumnSet", "Column", "ActionSet", "Image"}
ACTIONS = {"Action.OpenUrl"}
_PATH = re.compile(
    r"^(?P<prefix>/powerautomate/automations/direct)?/workflows/(?P<id>[0-9a-f]{32})/triggers/manual/paths/invoke$"
)
_API_VERSION = {"": "2016-06-01", "/powerautomate/automations/direct": "1"}
NO_ATTACHMENTS = (
    "Action 'Send_each_adaptive_card' failed: The execution of template action 'Send_each_adaptive_card' failed: "
    "the result of the evaluation of 'foreach' expression '@triggerOutputs()?['body']?['attachments']' is of type "
    "'Null'. The result must be a valid array."
)
TOO_LARGE = "The payload is too large. Please make sure the size is less than 28KB."


@dataclass(frozen=True)
class FlowRun:
    """One run of a workflow: every request its trigger accepted."""

    run_id: str
    workflow: str
    size: int
    status: str  # "Succeeded" or "Failed"
    error: str
    body: Any


@dataclass(frozen=True)
class TeamsPost:
    """One card the workflow posted to its channel."""

    workflow: str
    channel: str
    run_id: str
    card: dict[str, Any]


class TeamsStandin(StandinServer):
    """Records workflow runs and the cards they post; strict mode, rate limit and scripted failures."""

    name = "teams-standin"

    def __init__(
        self,
        *,
        max_bytes: int = MAX_BYTES,
        strict: bool = False,
        rate_per_second: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.strict = strict
        self.runs: list[FlowRun] = []
        self.posts: list[TeamsPost] = []
        self.refused: list[tuple[int, Any]] = []
        self.attempts = 0
        self._workflows: dict[str, tuple[str, str, str]] = {}  # id -> (sig, channel, api-version prefix)
        self._limit = WindowLimit(rate_per_second, 1.0, clock) if rate_per_second else None
        self._script = Script()
        self._retry_after = "1"
        self._lock = threading.Lock()
        self._runs = itertools.count(1)

    def workflow(self, channel: str = "General", *, form: str = "logic") -> str:
        """Register a workflow posting to ``channel`` and return its trigger URL (the secret)."""
        workflow_id, sig = uuid.uuid4().hex, secrets.token_urlsafe(32)
        prefix = {"logic": "", "powerplatform": "/powerautomate/automations/direct"}[form]
        self._workflows[workflow_id] = (sig, channel, prefix)
        return (
            f"{self.url}{prefix}/workflows/{workflow_id}/triggers/manual/paths/invoke"
            f"?api-version={_API_VERSION[prefix]}&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
        )

    def fail_next(self, *codes: int, retry_after: int = 1) -> None:
        """Answer the next requests with these HTTP codes (429 or 5xx), in order."""
        self._retry_after = str(retry_after)
        self._script.extend(codes)

    def reset(self) -> None:
        """Forget runs, posts, rate counts and scripted failures (the workflows stay)."""
        with self._lock:
            self.runs.clear()
            self.posts.clear()
            self.refused.clear()
            self.attempts = 0
        self._script.clear()
        if self._limit:
            self._limit.reset()

    def in_channel(self, channel: str) -> list[TeamsPost]:
        """Cards posted to one channel."""
        with self._lock:
            return [p for p in self.posts if p.channel == channel]

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one trigger request."""
        url = urlsplit(path)
        match = _PATH.match(url.path)
        if not match or match["id"] not in self._workflows:
            workflow = match["id"] if match else "?"
            return self._error(404, "WorkflowNotFound", f"The workflow '{workflow}' could not be found.")
        workflow = match["id"]
        sig, channel, prefix = self._workflows[workflow]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if "sig" not in query:
            return self._error(
                401,
                "DirectApiAuthorizationRequired",
                "The request must be authenticated only by Shared Access scheme.",
            )
        if not secrets.compare_digest(query["sig"], sig) or query.get("sp") != "/triggers/manual/run":
            return self._error(
                401,
                "DirectApiInvalidAuthorizationSignature",
                "The provided authorization signature is not valid.",
            )
        if query.get("api-version") != _API_VERSION[prefix or ""]:
            return self._error(
                400, "InvalidApiVersionParameter", "The api-version query parameter is not valid."
            )
        if method != "POST":
            return self._error(
                400,
                "TriggerRequestMethodNotValid",
                f"The HTTP method for this request is not valid: expected 'Post' and actual '{method}'.",
            )
        with self._lock:
            self.attempts += 1
        scripted = self._script.pop()
        if scripted is not None:
            return self._scripted(scripted, workflow)
        if self._limit:
            wait = self._limit.take(workflow)
            if wait:
                return self._throttled(workflow, max(1, round(wait)))
        try:
            message = json.loads(body)
        except ValueError as exc:
            return self._error(
                400,
                "InvalidRequestContent",
                f"The request content is not valid and could not be deserialized: '{exc}'.",
            )
        problem = TOO_LARGE if len(body) > self.max_bytes else message_problem(message)
        if problem and self.strict:
            if problem == TOO_LARGE:
                return self._error(413, "MessageTooLarge", TOO_LARGE)
            return self._error(
                400,
                "TriggerInputSchemaMismatch",
                f"The input body for trigger 'manual' of type 'Request' did not match its schema definition. {problem}",
            )
        run_id = f"08584{next(self._runs):015d}CU{secrets.randbelow(100):02d}"
        with self._lock:
            self.runs.append(
                FlowRun(run_id, workflow, len(body), "Failed" if problem else "Succeeded", problem, message)
            )
            if not problem:
                for attachment in message["attachments"]:
                    self.posts.append(TeamsPost(workflow, channel, run_id, attachment["content"]))
        return 202, {"x-ms-workflow-run-id": run_id, "x-ms-correlation-id": str(uuid.uuid4())}, b""

    def _scripted(self, code: int, workflow: str) -> tuple[int, dict[str, str], Any]:
        if code == 429:
            return self._throttled(workflow, int(self._retry_after))
        return self._error(
            code, "ServiceUnavailable" if code == 503 else "InternalServerError", "stand-in as asked"
        )

    def _throttled(self, workflow: str, retry_after: int) -> tuple[int, dict[str, str], Any]:
        status, _, body = self._error(
            429,
            "WorkflowRequestsThrottled",
            f"Number of trigger requests for workflow '{workflow}' exceeded the limit of '{RATE_PER_SECOND}' over "
            "time window of '00:00:01'.",
        )
        return status, {"Retry-After": str(retry_after)}, body

    def _error(self, status: int, code: str, message: str) -> tuple[int, dict[str, str], Any]:
        body = {"error": {"code": code, "message": message}}
        with self._lock:
            self.refused.append((status, body))
        return status, {}, body


def message_problem(message: Any) -> str:
    """Why the workflow would fail on this body ('' when every attachment is a card Teams posts)."""
    if not isinstance(message, dict) or not isinstance(message.get("attachments"), list):
        return NO_ATTACHMENTS
    if message.get("type") != "message":
        return "The request body's 'type' must be 'message'."
    if not message["attachments"]:
        return "The request body has no attachments to post."
    for i, attachment in enumerate(message["attachments"]):
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_TYPE:
            return f"attachments[{i}].contentType must be '{CARD_TYPE}'."
        problem = card_problem(attachment.get("content"))
        if problem:
            return f"attachments[{i}].content: {problem}"
    return ""


def card_problem(card: Any) -> str:
    """What is wrong with an Adaptive Card, minimally checked ('' when Teams would render it)."""
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return "the card's 'type' must be 'AdaptiveCard'."
    if card.get("version") not in VERSIONS:
        return f"version {card.get('version')!r} is not supported (Teams renders 1.0 to 1.5)."
    if not isinstance(card.get("body"), list):
        return "'body' must be an array."
    return _elements_problem(card["body"], "body") or _actions_problem(card.get("actions", []), "actions")


def _elements_problem(elements: Any, where: str) -> str:
    if not isinstance(elements, list):
        return f"'{where}' must be an array."
    for i, element in enumerate(elements):
        here = f"{where}[{i}]"
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in ELEMENTS:
            return f"{here}: unknown element type {kind!r}."
        problem = _element_problem(element, kind, here)
        if problem:
            return problem
    return ""


def _element_problem(element: dict[str, Any], kind: str, here: str) -> str:
    if kind == "TextBlock":
        return "" if isinstance(element.get("text"), str) else f"{here}: a TextBlock needs 'text' (a string)."
    if kind == "RichTextBlock":
        return _inlines_problem(element.get("inlines"), f"{here}.inlines")
    if kind == "FactSet":
        facts = element.get("facts")
        if not isinstance(facts, list) or not all(
            isinstance(f, dict) and isinstance(f.get("title"), str) and isinstance(f.get("value"), str)
            for f in facts
        ):
            return f"{here}: a FactSet needs 'facts' of {{title, value}} strings."
        return ""
    if kind in ("Container", "Column"):
        return _elements_problem(element.get("items", []), f"{here}.items")
    if kind == "ColumnSet":
        columns = element.get("columns", [])
        if not isinstance(columns, list) or any(
            not isinstance(c, dict) or c.get("type", "Column") != "Column" for c in columns
        ):
            return f"{here}: a ColumnSet's 'columns' must be Columns."
        return _elements_problem([{**c, "type": "Column"} for c in columns], f"{here}.columns")
    if kind == "ActionSet":
        return _actions_problem(element.get("actions"), f"{here}.actions")
    if kind == "Image":
        return "" if _is_web_url(element.get("url")) else f"{here}: an Image needs an http(s) 'url'."
    return ""


def _inlines_problem(inlines: Any, where: str) -> str:
    if not isinstance(inlines, list):
        return f"'{where}' must be an array."
    for i, inline in enumerate(inlines):
        here = f"{where}[{i}]"
        if not isinstance(inline, dict) or inline.get("type") != "TextRun":
            return f"{here}: a RichTextBlock holds TextRuns."
        if not isinstance(inline.get("text"), str) or not inline["text"]:
            return f"{here}: a TextRun needs 'text' (a non-empty string)."
        if "selectAction" in inline:
            problem = _actions_problem([inline["selectAction"]], f"{here}.selectAction")
            if problem:
                return problem
    return ""


def _actions_problem(actions: Any, where: str) -> str:
    if not isinstance(actions, list):
        return f"'{where}' must be an array."
    for i, action in enumerate(actions):
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in ACTIONS:
            return f"{where}[{i}]: unknown action type {kind!r}."
        if not _is_web_url(action.get("url")):
            return f"{where}[{i}]: an Action.OpenUrl needs an http(s) 'url'."
    return ""


def _is_web_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
