"""Test-only listeners for the trust-boundary suites: the attacker's host, and a push ledger.

``AttackerListener`` is a host a hostile publisher would like the function to call: a
plain TCP listener on loopback (IPv4 and, where the machine has it, IPv6 on the same
port) that counts every connection it accepts. It speaks no protocol: a TLS client (the
Vertex AI client's ``https://…``) and a plain HTTP client both connect before they find
out, so the count is every attempt whatever the scheme. The first bytes of each
connection are kept for the failure message (a TLS ClientHello, or an HTTP request line).

``PushLedger`` sits between a push subscription and the function: it forwards each push
as it is and records, per Pub/Sub message id, the HTTP status of every delivery. A
message acknowledged once and never seen again has one entry, a 2xx; a redelivery adds
one; "how many times was it delivered" and "was it acknowledged" are read from here,
never from the function's own account.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sandbox.http_standin import StandinServer

ACK_CODES = frozenset({102, 200, 201, 202, 204})


@dataclass(frozen=True)
class Connection:
    """One connection the attacker accepted."""

    family: str  # "ipv4" or "ipv6"
    first_bytes: bytes


class AttackerListener:
    """Counts TCP connections to ``127.0.0.1:port`` (and ``[::1]:port``); answers nothing."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: list[tuple[str, socket.socket]] = []
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.bind(("127.0.0.1", 0))
        self.port = v4.getsockname()[1]
        self._sockets.append(("ipv4", v4))
        self.ipv6 = False
        with contextlib.suppress(OSError):
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                v6.bind(("::1", self.port))
            except OSError:
                v6.close()
                raise
            self._sockets.append(("ipv6", v6))
            self.ipv6 = True
        self._threads = [
            threading.Thread(target=self._accept, args=(family, sock), name=f"attacker-{family}", daemon=True)
            for family, sock in self._sockets
        ]

    def start(self) -> AttackerListener:
        """Listen and count."""
        for _, sock in self._sockets:
            sock.listen(128)
            sock.settimeout(0.05)
        for thread in self._threads:
            thread.start()
        return self

    def count(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return len(self.connections)

    def describe(self) -> str:
        """What connected, for a failure message: how many, over what, and how each began."""
        with self._lock:
            seen = list(self.connections)
        kinds = Counter(f"{c.family} {_kind(c.first_bytes)}" for c in seen)
        return ", ".join(f"{count} x {kind}" for kind, count in sorted(kinds.items())) or "nothing"

    def _accept(self, family: str, sock: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            # Counted before anything is read: a client that sends nothing still connected.
            with self._lock:
                index = len(self.connections)
                self.connections.append(Connection(family, b""))
            threading.Thread(target=self._peek, args=(conn, family, index), daemon=True).start()

    def _peek(self, conn: socket.socket, family: str, index: int) -> None:
        first = b""
        with conn:
            conn.settimeout(0.5)
            with contextlib.suppress(OSError):
                first = conn.recv(1024)
        with self._lock:
            self.connections[index] = Connection(family, first)

    def stop(self) -> None:
        """Stop listening and free the port."""
        self._stopping.set()
        for _, sock in self._sockets:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> AttackerListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kind(first: bytes) -> str:
    """What a connection's first bytes were: a TLS handshake, an HTTP request line, or else."""
    if first[:3] in (b"\x16\x03\x01", b"\x16\x03\x03"):
        return "TLS ClientHello"
    if first:
        line = first.split(b"\r\n", 1)[0][:80]
        return f"plaintext {line!r}"
    return "nothing sent"


class PushLedger(StandinServer):
    """Forwards Pub/Sub pushes to ``target`` (same path) and records each delivery's status."""

    name = "push-ledger"

    def __init__(self, target: str, *, timeout: float = 60.0) -> None:
        super().__init__()
        self.target = target.rstrip("/")
        self.timeout = timeout
        self._deliveries: dict[str, list[int | str]] = defaultdict(list)
        self._lock = threading.Lock()
        # The emulator drops kept-alive connections between pushes: not worth a traceback.
        self._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Forward one push; record its message id and the function's answer."""
        try:
            message_id = str(json.loads(body)["message"]["messageId"])
        except (ValueError, KeyError, TypeError):
            message_id = "?"
        request = urllib.request.Request(
            f"{self.target}{path}", data=body, headers={"Content-Type": "application/json"}, method=method
        )
        status: int | str
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            status = exc.code
        except OSError as exc:
            payload, status = b"", type(exc).__name__
        with self._lock:
            self._deliveries[message_id].append(status)
        # A refused or timed-out forward is a 503 to Pub/Sub, which then redelivers.
        return (status if isinstance(status, int) else 503), {"Content-Type": "text/plain"}, payload

    def deliveries(self, message_id: str) -> list[int | str]:
        """The status of every delivery of one message, in order."""
        with self._lock:
            return list(self._deliveries.get(message_id, []))

    def acked(self, message_id: str) -> bool:
        """True once some delivery of the message was answered with an acknowledging status."""
        return any(status in ACK_CODES for status in self.deliveries(message_id))

    def all_acked(self, message_ids: list[str] | set[str]) -> bool:
        """True once every one of ``message_ids`` has been acknowledged."""
        return all(self.acked(message_id) for message_id in message_ids)

    def counts(self) -> dict[str, int]:
        """Deliveries per message id."""
        with self._lock:
            return {message_id: len(statuses) for message_id, statuses in self._deliveries.items()}
