"""A local stand-in for the Slack Web API's ``chat.postMessage``, ``chat.update`` and
``usergroups.users.list``, and for the ``response_url`` of a click.

It speaks Slack's wire format (HTTP 200 with ``{"ok": false, "error": ...}`` for API
errors, 429 with ``Retry-After`` when rate limited) so the real ``slack_sdk.WebClient``
and its retry handlers are exercised. It records every accepted message (with its
``thread_ts``, ``reply_broadcast`` and ``metadata``) and every update; an update of a
message it does not hold (never posted, or ``delete``d) answers ``message_not_found``.

It also plays Slack's side of interactivity: ``click`` builds the ``block_actions``
request Slack would send for a click on one of a message's buttons (the message as it
shows now, a fresh ``response_url``) and signs it as Slack signs (``v0=`` and the
HMAC-SHA256 of ``v0:{timestamp}:{body}`` under the app's signing secret). A
``response_url`` takes JSON posts (``response_type``, ``replace_original``,
``delete_original``), five within 30 minutes, as Slack documents; ``responses`` records
them. ``user_groups`` are what ``usergroups.users.list`` answers (``no_such_subteam`` for
any other group).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sandbox.http_standin import StandinServer

TOKEN = "xoxb-local-standin-token"
TEAM = "T0LOCAL01"
RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60


@dataclass(frozen=True)
class Posted:
    """One message Slack accepted."""

    channel: str
    ts: str
    body: dict[str, Any]

    @property
    def thread_ts(self) -> str:
        """The root it replies to, or '' for a top-level message."""
        return str(self.body.get("thread_ts") or "")

    @property
    def broadcast(self) -> bool:
        """A reply also shown in the channel (``reply_broadcast``)."""
        return bool(self.thread_ts and self.body.get("reply_broadcast"))

    @property
    def metadata(self) -> dict[str, Any]:
        """Its message metadata ({} when it had none)."""
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class Updated:
    """One ``chat.update`` Slack accepted."""

    channel: str
    ts: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Response:
    """One post to a click's response_url."""

    url: str
    body: dict[str, Any]

    @property
    def ephemeral(self) -> bool:
        """Shown to the clicking user alone."""
        return self.body.get("response_type", "ephemeral") == "ephemeral"

    @property
    def text(self) -> str:
        """Its text."""
        return str(self.body.get("text", ""))


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Slack-Signature`` as Slack computes it: ``v0=`` and HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackStandin(StandinServer):
    """Records ``chat.postMessage`` bodies; scripted failures and a per-channel rate limit."""

    name = "slack-standin"

    def __init__(
        self,
        *,
        token: str = TOKEN,
        channels: set[str] | None = None,
        rate_per_second: float | None = None,
        burst: int = 1,
        payload_dir: Path | None = None,
        on_message: Callable[[Posted], None] | None = None,
        on_update: Callable[[Updated], None] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.channels = channels  # None: every channel exists
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.payload_dir = payload_dir
        self.on_message = on_message
        self.on_update = on_update
        self.posted: list[Posted] = []
        self.updates: list[Updated] = []
        # What each message shows now, by (channel, ts): its last post or update.
        self._live: dict[tuple[str, str], dict[str, Any]] = {}
        self._update_script: deque[str | int] = deque()
        self.attempts = 0  # chat.postMessage calls
        self.update_attempts = 0
        self.rate_limited = 0
        self.fail_all: str | int | None = None
        self._script: deque[str | int] = deque()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self.stalled = 0
        self._unstall = threading.Event()
        self._unstall.set()
        self.user_groups: dict[str, list[str]] = {}
        self.group_lookups = 0
        self.responses: list[Response] = []
        # response_url path -> (channel, ts, uses, created)
        self._response_urls: dict[str, tuple[str, str, int, float]] = {}

    def fail_next(self, *failures: str | int) -> None:
        """Answer the next requests with these failures, in order.

        An int is an HTTP status (429 answers ``Retry-After: 1``); a string is a Slack
        error code returned as ``{"ok": false, "error": ...}``.
        """
        with self._lock:
            self._script.extend(failures)

    def fail_next_update(self, *failures: str | int) -> None:
        """Answer the next ``chat.update`` calls with these failures (as ``fail_next``)."""
        with self._lock:
            self._update_script.extend(failures)

    def delete(self, channel: str, ts: str) -> None:
        """Delete a message, as a person in the channel would: updates of it now fail."""
        with self._lock:
            self._live.pop((channel, ts), None)

    def stall(self) -> None:
        """Stop answering: requests hang until ``unstall()``, then fail without being recorded."""
        self._unstall.clear()

    def unstall(self) -> None:
        """Answer again (the requests that hung get a 503 and are not recorded)."""
        self._unstall.set()

    def reset(self) -> None:
        """Forget what was posted and any scripted failures."""
        with self._lock:
            self.posted.clear()
            self.updates.clear()
            self._live.clear()
            self._update_script.clear()
            self.update_attempts = 0
            self._script.clear()
            self._buckets.clear()
            self.fail_all = None
            self.attempts = 0
            self.stalled = 0
            self._unstall.set()
            self.rate_limited = 0
            self.responses.clear()
            self._response_urls.clear()
            self.group_lookups = 0

    def messages(self, channel: str | None = None) -> list[Posted]:
        """Accepted messages (replies included), optionally for one channel."""
        with self._lock:
            return [p for p in self.posted if channel is None or p.channel == channel]

    def top_level(self, channel: str | None = None) -> list[Posted]:
        """Accepted messages that are not replies (roots and the rest)."""
        return [p for p in self.messages(channel) if not p.thread_ts]

    def replies(self, ts: str) -> list[Posted]:
        """Replies in the thread of ``ts``, in the order they were posted."""
        return [p for p in self.messages() if p.thread_ts == ts]

    def updates_of(self, ts: str) -> list[Updated]:
        """Updates of the message ``ts``, in order."""
        with self._lock:
            return [u for u in self.updates if u.ts == ts]

    def current(self, channel: str, ts: str) -> dict[str, Any] | None:
        """What the message shows now (None once deleted)."""
        with self._lock:
            live = self._live.get((channel, ts))
            return dict(live) if live is not None else None

    # --- interactivity: Slack's requests to the app, and the response_url ------------------

    def response_url(self, channel: str, ts: str) -> str:
        """A fresh response_url for a click on the message ``ts`` (as Slack puts in the payload)."""
        path = f"/actions/{TEAM}/{int(time.time() * 1000)}/{secrets.token_hex(12)}"
        with self._lock:
            self._response_urls[path] = (channel, ts, 0, time.monotonic())
        return self.url + path

    def click(
        self,
        channel: str,
        ts: str,
        action_id: str,
        *,
        user: str,
        signing_secret: str,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The request Slack sends when ``user`` clicks the button ``action_id`` of the message ``ts``
        as it shows now: the form body and its headers, signed with ``signing_secret``."""
        message = self.current(channel, ts)
        if message is None:
            raise LookupError(f"no message {ts} in {channel}")
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if block.get("type") == "actions" and element.get("action_id") == action_id:
                    button, block_id = element, block.get("block_id", "")
                    break
            else:
                continue
            break
        else:
            raise LookupError(f"the message {ts} has no button {action_id!r}")
        moment = int(time.time()) if timestamp is None else timestamp
        shown = {k: v for k, v in message.items() if k in ("text", "blocks", "thread_ts", "metadata")}
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A0LOCAL01",
            "token": "verification-token-unused",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": f"{moment}.1.{secrets.token_hex(8)}",
            "team": {"id": TEAM, "domain": "local"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "local"},
            "message": {"type": "message", "subtype": "bot_message", "ts": ts, **shown},
            "state": {"values": {}},
            "response_url": self.response_url(channel, ts),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": button.get("text"),
                    "value": button.get("value", ""),
                    "style": button.get("style"),
                    "type": "button",
                    "action_ts": f"{moment}.{secrets.randbelow(10**6):06d}",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(moment),
            "X-Slack-Signature": slack_signature(signing_secret, str(moment), body),
        }
        return body, headers

    def _respond(self, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        """A post to a response_url: at most five, within 30 minutes of the click."""
        with self._lock:
            known = self._response_urls.get(path)
            if known is None:
                return 404, {}, {"ok": False, "error": "invalid_url"}
            channel, ts, uses, created = known
            if uses >= RESPONSE_URL_USES or time.monotonic() - created > RESPONSE_URL_SECONDS:
                return 404, {}, {"ok": False, "error": "expired_url"}
            self._response_urls[path] = (channel, ts, uses + 1, created)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, {"ok": False, "error": "invalid_json"}
        if not isinstance(payload, dict):
            return 400, {}, {"ok": False, "error": "invalid_json"}
        if not (payload.get("text") or payload.get("blocks") or payload.get("delete_original")):
            return 400, {}, {"ok": False, "error": "no_text"}
        with self._lock:
            self.responses.append(Response(self.url + path, payload))
            if payload.get("delete_original"):
                self._live.pop((channel, ts), None)
            elif payload.get("replace_original") and (channel, ts) in self._live:
                self._live[(channel, ts)] = {**self._live[(channel, ts)], "text": payload.get("text", ""),
                                             "blocks": payload.get("blocks") or []}  # fmt: skip
        return 200, {}, {"ok": True}

    def responses_to(self, url: str) -> list[Response]:
        """What was posted to one response_url."""
        with self._lock:
            return [r for r in self.responses if r.url == url]

    def _group_members(self, headers: Any, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        """``usergroups.users.list``: the group's user ids (query string or form, as slack_sdk sends)."""
        with self._lock:
            self.group_lookups += 1
        if headers.get("Authorization", "") != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        fields = parse_qs(urlsplit(path).query)
        if body and not body.lstrip().startswith(b"{"):
            fields.update(parse_qs(body.decode()))
        elif body:
            fields.update({k: [v] for k, v in json.loads(body).items()})
        group = (fields.get("usergroup") or [""])[0]
        members = self.user_groups.get(group)
        if members is None:
            return 200, {}, {"ok": False, "error": "no_such_subteam"}
        return 200, {}, {"ok": True, "users": list(members)}

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one Web API call: scripted failures, stalls and checks first, then the method."""
        route = urlsplit(path).path
        if route.startswith("/actions/"):
            return self._respond(route, body)
        name = route.rstrip("/").rsplit("/", 1)[-1]
        if name == "usergroups.users.list":
            return self._group_members(headers, path, body)
        if name not in ("chat.postMessage", "chat.update"):
            return 200, {}, {"ok": False, "error": "unknown_method"}
        update = name == "chat.update"
        with self._lock:
            if update:
                self.update_attempts += 1
                script = self._update_script
            else:
                self.attempts += 1
                script = self._script
            failure = script.popleft() if script else self.fail_all
        if not self._unstall.is_set():
            with self._lock:
                self.stalled += 1
            self._unstall.wait(timeout=60)
            return 503, {}, {"ok": False, "error": "service_unavailable"}
        if isinstance(failure, int):
            if failure == 429:
                with self._lock:
                    self.rate_limited += 1
                return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
            return failure, {}, {"ok": False, "error": "fatal_error"}
        if failure:
            return 200, {}, {"ok": False, "error": failure}

        if headers.get("Authorization", "") != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 200, {}, {"ok": False, "error": "invalid_json"}
        channel = str(payload.get("channel", ""))
        if not channel:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if self.channels is not None and channel not in self.channels:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not payload.get("text") and not payload.get("blocks"):
            return 200, {}, {"ok": False, "error": "no_text"}
        return self._update(channel, payload) if update else self._post(channel, payload)

    def _post(self, channel: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """``chat.postMessage``: per-channel rate limit, then record the message."""
        with self._lock:
            now = time.monotonic()
            if self.rate_per_second:
                # Slack's chat.postMessage limit is per channel, about one message a second,
                # with "short bursts" allowed: a token bucket of ``burst`` posts refilled at
                # the rate. burst=1 is the strictest reading: no two posts closer than 1/rate.
                tokens, last = self._buckets.get(channel, (float(self.burst), now))
                tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_second)
                if tokens < 1.0:
                    self._buckets[channel] = (tokens, now)
                    self.rate_limited += 1
                    retry_after = max(1, math.ceil((1.0 - tokens) / self.rate_per_second))
                    return (
                        429,
                        {"Retry-After": str(retry_after)},
                        {"ok": False, "error": "ratelimited"},
                    )
                self._buckets[channel] = (tokens - 1.0, now)
            self._seq += 1
            ts = f"{int(time.time())}.{self._seq:06d}"
            posted = Posted(channel=channel, ts=ts, body=payload)
            self.posted.append(posted)
            self._live[(channel, ts)] = payload
        if self.payload_dir is not None:
            self.payload_dir.mkdir(parents=True, exist_ok=True)
            (self.payload_dir / f"{ts}.json").write_text(json.dumps(payload, indent=2))
        if self.on_message is not None:
            self.on_message(posted)
        return (
            200,
            {},
            {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": payload.get("text", "")},
            },
        )

    def _update(self, channel: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """``chat.update``: rewrite a message this stand-in holds (Method tier 3: no channel bucket)."""
        ts = str(payload.get("ts", ""))
        with self._lock:
            live = self._live.get((channel, ts))
            if live is None:
                return 200, {}, {"ok": False, "error": "message_not_found"}
            # Fields left out keep their old value, as Slack documents for blocks and metadata.
            live = {**live, **{k: v for k, v in payload.items() if k not in ("channel", "ts")}}
            self._live[(channel, ts)] = live
            updated = Updated(channel=channel, ts=ts, body=payload)
            self.updates.append(updated)
            count = len(self.updates)
        if self.payload_dir is not None:
            folder = self.payload_dir / "updates"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{ts}.{count:04d}.json").write_text(json.dumps(payload, indent=2))
        if self.on_update is not None:
            self.on_update(updated)
        return (
            200,
            {},
            {"ok": True, "channel": channel, "ts": ts, "text": live.get("text", ""), "message": live},
        )
