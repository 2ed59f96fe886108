"""Calling outside APIs: one client per key made on first use, credentials, and why a call failed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class ClientCache:
    """One client per key (a region, a project), created on first use, shared by threads.

    Bounded: keys come from the allowed scope, and past ``max_size`` the cache refuses a
    new key rather than grow (a bug upstream, never a publisher, could ask for one).
    """

    def __init__(self, make: Callable[[str], Any], max_size: int = 64) -> None:
        self._make = make
        self._max_size = max_size
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        """The client for ``key``, made now if this is the first time it is asked for."""
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if len(self._clients) >= self._max_size:
                    raise RuntimeError(f"more than {self._max_size} API clients asked for; refusing another")
                client = self._clients[key] = self._make(key)
            return client


def local_credentials(endpoint: str, credentials: Any) -> Any:
    """``credentials``, or anonymous ones for a plain-http endpoint (a local stand-in).

    Real credentials are never sent over plain http; ``None`` means the environment's.
    """
    if credentials is None and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415 - lazy: paid only when a message needs it

        return AnonymousCredentials()
    return credentials


def describe_failure(exc: BaseException, service: str) -> str:
    """A short, secret-free reason: ``<service> answered 403 (Forbidden)`` and the like."""
    # google.api_core exceptions carry an HTTP code and a message from the server.
    cause = getattr(exc, "cause", None)  # RetryError wraps the last attempt's error
    if cause is not None:
        return describe_failure(cause, service) + " after retries"
    code = getattr(exc, "code", None)
    reason = type(exc).__name__
    if isinstance(code, int):
        return f"{service} answered {code} ({reason})"
    if isinstance(exc, TimeoutError) or "Timeout" in reason:
        return f"{service} did not answer in time ({reason})"
    if reason == "ParseError":  # protobuf's json_format: e.g. metadata nested past its depth limit
        return f"{service} answered what its client cannot read ({reason})"
    return f"{service} call failed ({reason})"
