"""A local stand-in for Twilio's Messages API: ``POST /2010-04-01/Accounts/{Sid}/Messages.json``.

It speaks Twilio's wire format, so the official ``twilio`` client is what the tests drive
(pointed here with ``client.api.base_url = standin.url``): form-encoded ``To``, ``From``
(or ``MessagingServiceSid``) and ``Body``, HTTP basic auth with the account SID and auth
token, ``201`` with the Message resource on success, and Twilio's error JSON
(``{"code": 21211, "message": …, "more_info": …, "status": 400}``) otherwise. It
validates what Twilio validates first (E.164 numbers, a body of at most 1,600
characters), records every accepted message, and answers scripted failures.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sandbox.http_standin import StandinServer

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "standin-twilio-auth-token-0001"
_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
BODY_MAX = 1600
# Error codes Twilio documents (https://www.twilio.com/docs/api/errors), as it answers them.
ERRORS = {
    20003: (401, "Authenticate"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    21211: (400, "Invalid 'To' Phone Number"),
    21606: (400, "The 'From' phone number provided is not a valid message-capable Twilio phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    30001: (503, "Queue overflow"),
}


@dataclass(frozen=True)
class Sms:
    """One message Twilio accepted."""

    sid: str
    to: str
    from_: str
    body: str


class TwilioStandin(StandinServer):
    """Records accepted SMS; ``fail_next`` scripts Twilio error codes."""

    name = "twilio-standin"

    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[Sms] = []
        self.attempts = 0
        self._script: deque[int] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these Twilio error codes (keys of ``ERRORS``), in order."""
        with self._lock:
            self._script.extend(codes)

    def reset(self) -> None:
        """Forget what was sent and any scripted failures."""
        with self._lock:
            self.sent.clear()
            self._script.clear()
            self.attempts = 0

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one Messages API call."""
        match = _PATH.match(path.split("?", 1)[0])
        if method != "POST" or not match:
            return _error(20404, 404, f"The requested resource {path} was not found")
        with self._lock:
            self.attempts += 1
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            status, message = ERRORS[scripted]
            return _error(scripted, status, message)
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if match["sid"] != self.account_sid or headers.get("Authorization", "") != f"Basic {expected}":
            return _error(20003, 401, "Authenticate")
        form = {
            key: values[0] for key, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()
        }
        to, sender, text = (
            form.get("To", ""),
            form.get("From", form.get("MessagingServiceSid", "")),
            form.get("Body", ""),
        )
        if not _E164.match(to):
            return _error(21211, 400, f"Invalid 'To' Phone Number: {to}")
        if not sender:
            return _error(21606, 400, ERRORS[21606][1])
        if len(text) > BODY_MAX:
            return _error(21617, 400, ERRORS[21617][1])
        sid = f"SM{next(self._ids):032x}"
        with self._lock:
            self.sent.append(Sms(sid=sid, to=to, from_=sender, body=text))
        return (
            201,
            {},
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": sender,
                "body": text,
                "status": "queued",
                "num_segments": str(max(1, -(-len(text) // 153))),
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )


def _error(code: int, status: int, message: str) -> tuple[int, dict[str, str], Any]:
    return (
        status,
        {"Retry-After": "1"} if status == 429 else {},
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )
