"""A local stand-in for the Slack Web API's ``chat.postMessage``.

It speaks Slack's wire format (HTTP 200 with ``{"ok": false, "error": ...}`` for API
errors, 429 with ``Retry-After`` when rate limited) so the real ``slack_sdk.WebClient``
and its retry handlers are exercised. It records every accepted message.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.http_standin import StandinServer

TOKEN = "xoxb-local-standin-token"


@dataclass(frozen=True)
class Posted:
    """One message Slack accepted."""

    channel: str
    ts: str
    body: dict[str, Any]


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
    ) -> None:
        super().__init__()
        self.token = token
        self.channels = channels  # None: every channel exists
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.payload_dir = payload_dir
        self.on_message = on_message
        self.posted: list[Posted] = []
        self.attempts = 0
        self.rate_limited = 0
        self.fail_all: str | int | None = None
        self._script: deque[str | int] = deque()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self.stalled = 0
        self._unstall = threading.Event()
        self._unstall.set()

    def fail_next(self, *failures: str | int) -> None:
        """Answer the next requests with these failures, in order.

        An int is an HTTP status (429 answers ``Retry-After: 1``); a string is a Slack
        error code returned as ``{"ok": false, "error": ...}``.
        """
        with self._lock:
            self._script.extend(failures)

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
            self._script.clear()
            self._buckets.clear()
            self.fail_all = None
            self.attempts = 0
            self.stalled = 0
            self._unstall.set()
            self.rate_limited = 0

    def messages(self, channel: str | None = None) -> list[Posted]:
        """Accepted messages, optionally for one channel."""
        with self._lock:
            return [p for p in self.posted if channel is None or p.channel == channel]

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one Web API call."""
        if not path.rstrip("/").endswith("chat.postMessage"):
            return 200, {}, {"ok": False, "error": "unknown_method"}
        with self._lock:
            self.attempts += 1
            failure = self._script.popleft() if self._script else self.fail_all
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
