"""A local stand-in for Google Chat incoming webhooks: ``POST /v1/spaces/{space}/messages``.

A webhook URL is ``https://chat.googleapis.com/v1/spaces/SPACE/messages?key=KEY&token=TOKEN``;
this serves the same path and checks the same ``key``/``token`` pair per space. It speaks
the Chat API's wire format: the request is a Message (``text``, ``cardsV2``,
``thread.threadKey``; ``messageReplyOption`` in the query), the answer the created Message
with its ``name`` and ``thread.name`` (one thread per ``threadKey`` and space), errors as
Google API errors (``{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", …}}``). It can
enforce Chat's per-space write quota (60 a minute), and answers scripted failures.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.http_standin import StandinServer, google_error

_PATH = re.compile(r"^/v1/spaces/(?P<space>[A-Za-z0-9_-]+)/messages$")
REPLY_OPTIONS = {
    "",
    "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
    "REPLY_MESSAGE_OR_FAIL",
    "MESSAGE_REPLY_OPTION_UNSPECIFIED",
}


@dataclass(frozen=True)
class ChatMessage:
    """One message Chat accepted."""

    space: str
    name: str
    thread: str
    thread_key: str
    reply_option: str
    body: dict[str, Any]


class ChatStandin(StandinServer):
    """Records webhook messages per space; quota and scripted failures."""

    name = "chat-standin"

    def __init__(self, *, rate_per_minute: float | None = None, burst: int = 1) -> None:
        super().__init__()
        self.spaces: dict[str, tuple[str, str]] = {}  # space -> (key, token)
        self.messages: list[ChatMessage] = []
        self.attempts = 0
        self.rate_limited = 0
        self.rate_per_minute = rate_per_minute
        self.burst = burst
        self._threads: dict[tuple[str, str], str] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._script: deque[int] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def webhook(self, space: str, key: str = "standin-key", token: str = "standin-token") -> str:
        """Register a space and return its incoming-webhook URL (what goes into Secret Manager)."""
        self.spaces[space] = (key, token)
        return f"{self.url}/v1/spaces/{space}/messages?key={key}&token={token}"

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these HTTP codes, in order."""
        with self._lock:
            self._script.extend(codes)

    def reset(self) -> None:
        """Forget messages, threads, quota and scripted failures."""
        with self._lock:
            self.messages.clear()
            self._threads.clear()
            self._buckets.clear()
            self._script.clear()
            self.attempts = self.rate_limited = 0

    def in_space(self, space: str) -> list[ChatMessage]:
        """Accepted messages of one space."""
        with self._lock:
            return [m for m in self.messages if m.space == space]

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one webhook call."""
        url = urlsplit(path)
        match = _PATH.match(url.path)
        if method != "POST" or not match:
            return google_error(404, f"no route for {method} {url.path}")
        space = match["space"]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.attempts += 1
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return google_error(scripted, "stand-in answering as asked")
        if self.spaces.get(space) != (query.get("key"), query.get("token")):
            return google_error(403, "The caller does not have permission")  # a revoked or wrong webhook
        reply_option = query.get("messageReplyOption", "")
        if reply_option not in REPLY_OPTIONS:
            return google_error(400, f"Invalid value at 'message_reply_option' ({reply_option})")
        try:
            message = json.loads(body or b"{}")
        except ValueError:
            return google_error(400, "Invalid JSON payload received.")
        if not isinstance(message, dict) or not (message.get("text") or message.get("cardsV2")):
            return google_error(400, "Message cannot be empty. Discarded message must contain text or cards.")
        thread_key = str((message.get("thread") or {}).get("threadKey", ""))
        with self._lock:
            if self.rate_per_minute and not self._take(space):
                self.rate_limited += 1
                return google_error(429, "Resource has been exhausted (e.g. check quota).")
            n = next(self._ids)
            thread = self._threads.get((space, thread_key)) if thread_key else None
            if thread is None:
                thread = f"spaces/{space}/threads/t{n:06d}"
                if thread_key:
                    self._threads[(space, thread_key)] = thread
            name = f"spaces/{space}/messages/m{n:06d}.m{n:06d}"
            self.messages.append(ChatMessage(space, name, thread, thread_key, reply_option, message))
        answer = {
            "name": name,
            "sender": {"name": "users/114022495153014004089", "type": "BOT"},
            "createTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
            "text": message.get("text", ""),
            "thread": {"name": thread, **({"threadKey": thread_key} if thread_key else {})},
            "space": {"name": f"spaces/{space}", "type": "ROOM", "spaceType": "SPACE"},
        }
        if "cardsV2" in message:
            answer["cardsV2"] = message["cardsV2"]
        return 200, {}, answer

    def _take(self, space: str) -> bool:
        # Token bucket per space: ``burst`` writes, refilled at the per-minute quota.
        now = time.monotonic()
        rate = (self.rate_per_minute or 0) / 60.0
        tokens, last = self._buckets.get(space, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[space] = (tokens, now)
            return False
        self._buckets[space] = (tokens - 1.0, now)
        return True
