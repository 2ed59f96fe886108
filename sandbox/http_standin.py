"""A tiny threaded HTTP server on loopback, the base of the Slack and Vertex stand-ins."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Canonical status names of the HTTP codes the stand-ins answer (the union of what the
# Vertex, Chat and Logging stand-ins used); any other code is "UNKNOWN".
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_error(code: int, message: str) -> tuple[int, dict[str, str], Any]:
    """HTTP ``code`` with a Google API error body: ``{"error": {"code", "message", "status"}}``."""
    status = GOOGLE_STATUS.get(code, "UNKNOWN")
    return code, {}, {"error": {"code": code, "message": message, "status": status}}


class StandinServer:
    """Runs ``handle(method, path, headers, body) -> (status, headers, body)`` on a free port."""

    name = "stand-in"

    def __init__(self, host: str = "127.0.0.1") -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = server.handle(self.command, self.path, self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json; charset=utf-8", **headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a scripted stall): nothing to answer

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the stand-ins record what matters; keep test output clean

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        # A short poll interval: shutdown() waits up to one interval, paid on every test's teardown.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one request; subclasses override."""
        raise NotImplementedError

    def start(self) -> StandinServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Script:
    """Answers scripted for the next requests (HTTP codes, in order), shared by the stand-ins' ``fail_next``."""

    def __init__(self) -> None:
        self._codes: deque[int] = deque()
        self._lock = threading.Lock()

    def extend(self, codes: Iterable[int]) -> None:
        """Queue these codes after any already queued."""
        with self._lock:
            self._codes.extend(codes)

    def pop(self) -> int | None:
        """The next scripted code, or None when nothing is scripted."""
        with self._lock:
            return self._codes.popleft() if self._codes else None

    def clear(self) -> None:
        """Drop whatever is still queued."""
        with self._lock:
            self._codes.clear()


class WindowLimit:
    """At most ``limit`` requests per key in any ``window`` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Count one request for ``key``: 0.0 when allowed, else the seconds until one would be."""
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return max(seen[0] + self.window - now, 0.001)
            seen.append(now)
            return 0.0

    def reset(self) -> None:
        """Forget every request counted."""
        with self._lock:
            self._seen.clear()
