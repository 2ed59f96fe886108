"""A local stand-in for PagerDuty's Events API v2: ``POST /v2/enqueue``.

It speaks the Events API's wire format (PagerDuty's developer docs, "Send an Alert
Event" and "Events API v2 Overview", and the OpenAPI file ``events-v2/openapiv3.json``):

- the request: JSON with ``routing_key`` (the integration key, 32 characters),
  ``event_action`` (``trigger``, ``acknowledge`` or ``resolve``), ``dedup_key`` (at most
  255 characters; required to acknowledge or resolve), and for a trigger ``payload``
  with ``summary`` (at most 1,024 characters), ``source`` and ``severity``
  (``critical``, ``error``, ``warning`` or ``info``), optionally ``timestamp``,
  ``component``, ``group``, ``class`` and ``custom_details``; ``links`` (``href``,
  ``text``), ``images`` (``src``, ``href``, ``alt``), ``client`` and ``client_url``;
- ``202 {"status": "success", "message": "Event processed", "dedup_key": ...}`` when
  accepted (a trigger without ``dedup_key`` gets one made up);
- ``400 {"status": "invalid event", "message": "Event object is invalid", "errors":
  [...]}`` for an event that breaks the rules, with PagerDuty's own wording where it is
  known ("Length of 'routing_key' is incorrect (should be 32 characters)", "'routing_key'
  cannot contain non-alphanumeric characters."); ``400 {"status": "Unrecognized object",
  "message": "Event object format is unrecognized", "errors": ["JSON parse error"]}`` for
  a body that is not a JSON object; a well-formed key it does not know: ``400`` with the
  plain-text body ``Invalid routing key``;
- ``429`` (empty body) past a per-routing-key rate (PagerDuty's is about 120 a minute,
  over a sliding 60-second window) or when scripted, and scripted ``5xx``.

It keeps PagerDuty's alert state per routing key and ``dedup_key``: a trigger opens an
alert or adds to the open one (its trigger count goes up), ``acknowledge`` and
``resolve`` change the open one, and are dropped (still 202) when none is open; a trigger
after a resolve opens a new alert.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sandbox.http_standin import Script, StandinServer, WindowLimit

PATH = "/v2/enqueue"
ROUTING_KEY = "R0standinpagerdutykey00000000001"  # 32 alphanumeric characters, like a real key
KEY_LENGTH = 32
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024
BODY_MAX = 512 * 1024  # "Events API payloads are limited to 512 KB"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
RATE_PER_MINUTE = 120
_ALNUM = re.compile(r"^[A-Za-z0-9]*$")
INVALID = "Event object is invalid"


@dataclass(frozen=True)
class PdEvent:
    """One event PagerDuty accepted, and what it did with it."""

    routing_key: str
    event_action: str
    dedup_key: str
    body: dict[str, Any]
    outcome: str  # "opened", "added", "acknowledged", "resolved" or "dropped"

    @property
    def payload(self) -> dict[str, Any]:
        """The trigger's ``payload`` ({} for acknowledge and resolve)."""
        payload = self.body.get("payload")
        return payload if isinstance(payload, dict) else {}


@dataclass
class Alert:
    """An alert as PagerDuty keeps it: one per open ``dedup_key`` and routing key."""

    number: int
    routing_key: str
    dedup_key: str
    status: str  # "triggered", "acknowledged" or "resolved"
    triggers: int
    summary: str
    severity: str
    events: list[PdEvent] = field(default_factory=list)


class PagerDutyStandin(StandinServer):
    """Validates and records Events API v2 events, keeps alert state; rate limit and scripted failures."""

    name = "pagerduty-standin"

    def __init__(
        self,
        *,
        routing_keys: tuple[str, ...] = (ROUTING_KEY,),
        rate_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.routing_keys = set(routing_keys)
        self.events: list[PdEvent] = []
        self.refused: list[tuple[int, Any]] = []  # (status, answer) of every refused request
        self.attempts = 0
        self._alerts: list[Alert] = []
        self._limit = WindowLimit(rate_per_minute, 60.0, clock) if rate_per_minute else None
        self._script = Script()
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    @property
    def enqueue_url(self) -> str:
        """Where events go (``https://events.pagerduty.com/v2/enqueue`` in production)."""
        return self.url + PATH

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these HTTP codes (429 or 5xx), in order."""
        self._script.extend(codes)

    def reset(self) -> None:
        """Forget events, alerts, rate counts and scripted failures."""
        with self._lock:
            self.events.clear()
            self.refused.clear()
            self._alerts.clear()
            self.attempts = 0
        self._script.clear()
        if self._limit:
            self._limit.reset()

    def alert(self, dedup_key: str, routing_key: str = ROUTING_KEY) -> Alert | None:
        """The latest alert for ``dedup_key`` (a copy), or None if there never was one."""
        with self._lock:
            found = [a for a in self._alerts if a.dedup_key == dedup_key and a.routing_key == routing_key]
            return replace(found[-1], events=list(found[-1].events)) if found else None

    def alerts(self, dedup_key: str | None = None) -> list[Alert]:
        """Every alert (copies), oldest first; only those of ``dedup_key`` when given."""
        with self._lock:
            return [
                replace(a, events=list(a.events))
                for a in self._alerts
                if dedup_key is None or a.dedup_key == dedup_key
            ]

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one Events API call."""
        if method != "POST" or path.split("?", 1)[0] != PATH:
            return self._refuse(
                404, {"status": "Not Found", "message": f"No route for {method} {path[:200]}"}
            )
        with self._lock:
            self.attempts += 1
        scripted = self._script.pop()
        if scripted is not None:
            return self._scripted(scripted)
        if len(body) > BODY_MAX:
            return self._refuse(
                413,
                {
                    "status": "invalid event",
                    "message": "Event object is too large",
                    "errors": [f"The event is {len(body)} bytes; the limit is {BODY_MAX} bytes (512 KB)."],
                },
            )
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            return self._refuse(
                400,
                {
                    "status": "Unrecognized object",
                    "message": "Event object format is unrecognized",
                    "errors": ["JSON parse error"],
                },
            )
        errors = validate(event)
        if errors:
            return self._refuse(400, {"status": "invalid event", "message": INVALID, "errors": errors})
        routing_key = event["routing_key"]
        if routing_key not in self.routing_keys:
            return self._refuse(400, b"Invalid routing key", {"Content-Type": "text/plain; charset=utf-8"})
        if self._limit and self._limit.take(routing_key):
            return self._refuse(429, b"", {"Content-Type": "text/plain; charset=utf-8"})
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        self._apply(routing_key, event["event_action"], str(dedup_key), event)
        return 202, {}, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}

    def _apply(self, routing_key: str, action: str, dedup_key: str, event: dict[str, Any]) -> None:
        with self._lock:
            open_alert = next(
                (
                    a
                    for a in reversed(self._alerts)
                    if a.dedup_key == dedup_key and a.routing_key == routing_key and a.status != "resolved"
                ),
                None,
            )
            payload = event.get("payload") or {}
            if action == "trigger":
                if open_alert is None:
                    open_alert = Alert(
                        next(self._numbers),
                        routing_key,
                        dedup_key,
                        "triggered",
                        0,
                        payload["summary"],
                        payload["severity"],
                    )
                    self._alerts.append(open_alert)
                    outcome = "opened"
                else:
                    outcome = "added"
                open_alert.triggers += 1
                open_alert.severity = payload["severity"]
            elif open_alert is None:
                outcome = "dropped"  # nothing open to acknowledge or resolve: PagerDuty drops it
            else:
                open_alert.status = outcome = "acknowledged" if action == "acknowledge" else "resolved"
            recorded = PdEvent(routing_key, action, dedup_key, event, outcome)
            self.events.append(recorded)
            if open_alert is not None and outcome != "dropped":
                open_alert.events.append(recorded)

    def _scripted(self, code: int) -> tuple[int, dict[str, str], Any]:
        if code == 429:
            return self._refuse(429, b"", {"Content-Type": "text/plain; charset=utf-8"})
        return self._refuse(
            code, {"status": "Internal Server Error", "message": "stand-in answering as asked"}
        )

    def _refuse(
        self, status: int, answer: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.refused.append((status, answer))
        return status, headers or {}, answer


def validate(event: dict[str, Any]) -> list[str]:
    """PagerDuty's checks of an event, in its words where known; [] when the event is valid."""
    errors: list[str] = []
    key = event.get("routing_key")
    if not isinstance(key, str):
        errors.append("'routing_key' is missing or blank")
    else:
        if len(key) != KEY_LENGTH:
            errors.append(f"Length of 'routing_key' is incorrect (should be {KEY_LENGTH} characters)")
        if not _ALNUM.match(key):
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or invalid (must be one of trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup_key, str) and len(dedup_key) > DEDUP_KEY_MAX:
        errors.append(f"'dedup_key' is too long (maximum {DEDUP_KEY_MAX} characters)")
    elif action in ("acknowledge", "resolve") and not dedup_key:
        errors.append(f"'dedup_key' is required for {action} events")
    if action == "trigger":
        errors.extend(_payload_errors(event.get("payload")))
    errors.extend(_context_errors(event.get("links"), "links", "href"))
    errors.extend(_context_errors(event.get("images"), "images", "src"))
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or is not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > SUMMARY_MAX:
        errors.append(f"'payload.summary' is too long (maximum {SUMMARY_MAX} characters)")
    source = payload.get("source")
    if not isinstance(source, str) or not source.strip():
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append(
            "'payload.severity' is missing or invalid (must be one of critical, error, warning, info)"
        )
    timestamp = payload.get("timestamp")
    if timestamp is not None and not _is_timestamp(timestamp):
        errors.append("'payload.timestamp' is not a valid ISO 8601 timestamp")
    for name in ("component", "group", "class"):
        if name in payload and not isinstance(payload[name], str):
            errors.append(f"'payload.{name}' must be a string")
    return errors


def _context_errors(items: Any, name: str, required: str) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"'{name}' must be an array"]
    return [
        f"'{name}[{i}].{required}' is missing or blank"
        for i, item in enumerate(items)
        if not isinstance(item, dict) or not isinstance(item.get(required), str) or not item[required]
    ]


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    text = value.replace("Z", "+00:00")
    # PagerDuty's own example writes the offset without a colon: 2015-07-17T08:42:58.315+0000.
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
