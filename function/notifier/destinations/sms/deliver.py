"""Send one SMS per number with Twilio's official client, and classify what went wrong.

The client is built lazily (importing ``twilio`` costs ~0.3 s and is only paid by
instances that send SMS). ``base_url`` points it elsewhere, e.g. at the local stand-in:
Twilio's client builds every Messages URL from ``client.api.base_url``.

Classification (Twilio error codes, https://www.twilio.com/docs/api/errors):
transient: HTTP 429 (20429 too many requests), 5xx (20500), 30001 (queue overflow),
connection errors and timeouts; permanent: every other 4xx, e.g. 20003 (authentication),
21211 (invalid To number), 21606 (invalid From), 21610 (unsubscribed recipient),
21617 (body too long).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from notifier.errors import PermanentError, TransientError

TRANSIENT_CODES = frozenset({20429, 20500, 20503, 30001})
TIMEOUT = 10.0


class SmsRejectedError(PermanentError):
    """Twilio refused the message for a reason no retry fixes (number, sender, credentials)."""


class SmsUnavailableError(TransientError):
    """Twilio could not be reached, or answered 429/5xx: Pub/Sub redelivers."""


def make_twilio_client(account_sid: str, auth_token: str, base_url: str = "") -> Any:
    """A Twilio REST client with a bounded timeout.

    No retry inside the request: a POST that Twilio may have accepted must not be sent
    twice in a row, and a 429 or 5xx goes back to Pub/Sub, whose backoff retries it later
    (per-target de-duplication keeps the other destinations from being sent again).
    """
    from twilio.http.http_client import TwilioHttpClient  # noqa: PLC0415 - only instances that send SMS
    from twilio.rest import Client  # noqa: PLC0415

    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=TIMEOUT))
    if base_url:
        client.api.base_url = base_url.rstrip("/")
    return client


class TwilioSms:
    """Sends a text to one number from ``sender`` (a number or a Messaging Service SID).

    ``make_client`` is called once, on the first text: importing and building Twilio's
    client is paid by the first SMS, not by every cold start.
    """

    def __init__(self, make_client: Callable[[], Any], sender: str) -> None:
        self._make_client = make_client
        self._client: Any = None
        self._lock = threading.Lock()
        self._sender = sender

    @property
    def client(self) -> Any:
        """Twilio's REST client, built on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def send(self, to: str, text: str) -> str:
        """Send ``text`` to ``to``; returns the message SID, or raises a NotifierError."""
        from twilio.base.exceptions import TwilioException, TwilioRestException  # noqa: PLC0415

        sender = (
            {"messaging_service_sid": self._sender}
            if self._sender.startswith("MG")
            else {"from_": self._sender}
        )
        try:
            message = self.client.messages.create(to=to, body=text, **sender)
        except TwilioRestException as exc:
            reason = f"Twilio answered HTTP {exc.status} (error {exc.code}: {str(exc.msg)[:120]})"
            if exc.status == 429 or exc.status >= 500 or exc.code in TRANSIENT_CODES:
                raise SmsUnavailableError(reason) from None
            raise SmsRejectedError(reason) from None
        except (TwilioException, OSError) as exc:
            # requests' ConnectionError and Timeout are OSErrors; never echo the request (it has the token).
            raise SmsUnavailableError(f"Twilio unreachable: {type(exc).__name__}") from None
        return str(message.sid)
