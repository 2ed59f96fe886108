"""A local stand-in for an OAuth 2.0 token endpoint: ``POST /token`` with a refresh-token grant.

Google client libraries get their bearer token from a token endpoint before they call an
API; this stand-in is that endpoint on loopback, so a test can run the function with
credentials of its own making, on the production endpoint template, and see every token
it hands out. It speaks RFC 6749's wire format as Google's endpoints do: a form-encoded
``grant_type=refresh_token`` with the client authenticated by HTTP basic auth (what
``google.oauth2.sts`` sends) or by ``client_id``/``client_secret`` form fields (what
``google.oauth2._client`` sends), answered with ``{"access_token", "expires_in",
"token_type"}``, or ``400 {"error": "invalid_grant"|"invalid_client"|…}``.

``credentials_file`` writes the matching credentials for ``GOOGLE_APPLICATION_CREDENTIALS``.
Its type is ``external_account_authorized_user``: of the credential files google-auth
reads, the one that refreshes a token at the endpoint the file names (``token_url``).
An ``authorized_user`` file's ``token_uri`` is ignored (google-auth 2.x always uses
``https://oauth2.googleapis.com/token`` for that type), so it cannot be pointed here.

Requests are recorded without their secrets (grant type, client id, scope, the token
issued), so a test can assert that the credentials it wrote are the ones in use.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from sandbox.http_standin import StandinServer

CLIENT_ID = "trust-suite-client.apps.standin.example"
CLIENT_SECRET = "standin-client-secret-0001"  # a test value, not a credential
REFRESH_TOKEN = "standin-refresh-token-0001"  # a test value, not a credential
TOKEN_PREFIX = "ya29.standin-"
LIFETIME_SECONDS = 3599


@dataclass(frozen=True)
class TokenRequest:
    """One token request as the stand-in saw it (no secrets kept)."""

    grant_type: str
    client_id: str
    scope: str
    issued: str  # the access token handed out, '' when refused


class TokenStandin(StandinServer):
    """Issues a fresh access token per valid refresh-token grant; records every request."""

    name = "token-standin"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TokenRequest] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def token_url(self) -> str:
        """The endpoint's URL, as a credentials file names it."""
        return f"{self.url}/token"

    def issued(self) -> list[str]:
        """Every access token handed out so far."""
        with self._lock:
            return [request.issued for request in self.requests if request.issued]

    def credentials_file(self, path: Path, *, project: str = "") -> Path:
        """Write credentials whose token comes from this endpoint; returns ``path``.

        The file is what ``gcloud iam workforce-pools create-login-config`` users end up
        with (``external_account_authorized_user``); ``project`` becomes its quota project.
        """
        info: dict[str, Any] = {
            "type": "external_account_authorized_user",
            "audience": "//iam.googleapis.com/locations/global/workforcePools/standin/providers/standin",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "token_url": self.token_url,
            "token_info_url": f"{self.url}/introspect",
        }
        if project:
            info["quota_project_id"] = project
        path.write_text(json.dumps(info, indent=2))
        return path

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer ``POST /token``."""
        if method != "POST" or path.split("?", 1)[0] != "/token":
            return 404, {}, {"error": "not_found", "error_description": f"no route for {method} {path}"}
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        client_id, client_secret = _client(headers, form)
        grant = form.get("grant_type", "")
        record = {"grant_type": grant, "client_id": client_id, "scope": form.get("scope", "")}
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return self._refuse(record, "invalid_client", "The OAuth client was not found.")
        if grant != "refresh_token":
            return self._refuse(record, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        if form.get("refresh_token") != REFRESH_TOKEN:
            return self._refuse(record, "invalid_grant", "Bad Request")
        token = f"{TOKEN_PREFIX}{next(self._ids):06d}"
        with self._lock:
            self.requests.append(TokenRequest(issued=token, **record))
        answer: dict[str, Any] = {
            "access_token": token,
            "expires_in": LIFETIME_SECONDS,
            "token_type": "Bearer",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
        if record["scope"]:
            answer["scope"] = record["scope"]
        return 200, {"Cache-Control": "no-store"}, answer

    def _refuse(
        self, record: dict[str, str], error: str, description: str
    ) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append(TokenRequest(issued="", **record))
        status = 401 if error == "invalid_client" else 400
        return status, {}, {"error": error, "error_description": description}


def _client(headers: Any, form: dict[str, str]) -> tuple[str, str]:
    """The client's id and secret: HTTP basic auth, else the form's fields."""
    authorization = headers.get("Authorization", "") if headers is not None else ""
    if authorization.startswith("Basic "):
        try:
            user, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return "", ""
        return user, secret
    return form.get("client_id", ""), form.get("client_secret", "")
