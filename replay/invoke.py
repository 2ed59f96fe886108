"""Send a message straight to the function as a Pub/Sub push, or dry-run it in process.

``invoke`` bypasses Pub/Sub: the function receives exactly the body a push subscription
would post. ``dry_run`` runs the function's own ``Notifier`` (decode, parse, route,
enrich, render) with a poster that keeps the Slack message instead of sending it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from google.auth import exceptions
from google.auth.transport.requests import Request
from google.oauth2 import id_token

from notifier.config import Config
from notifier.destinations.google_chat.deliver import space_of
from notifier.destinations.teams.deliver import workflow_of
from notifier.errors import ConfigError
from notifier.handler import Notifier
from notifier.names import parse_job_name
from notifier.pacing import Pacer
from notifier.wiring import Stores, make_destinations, make_log_reader, make_sources, make_vertex
from replay.errors import BadInputError, RuntimeFailure
from replay.inputs import Message
from replay.publishing import short
from sandbox.stack import push_body

BLOCK_KIT_BUILDER = "https://app.slack.com/block-kit-builder/#"
PLACEHOLDER_TOKEN = "xoxb-replay-dry-run-placeholder"
PLACEHOLDER_CHANNEL = "C0DRYRUN00"
# The scope when neither the environment nor any message names one: nothing is in it.
PLACEHOLDER_PROJECT = "no-project-in-scope"
PLACEHOLDER_REGION = "none-inscope1"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def push_request(message: Message, data: bytes, attributes: Mapping[str, str]) -> dict[str, Any]:
    """The push body for ``message``: saved id and publish time kept, fresh ones otherwise."""
    body = push_body(
        data, dict(attributes), message_id=message.message_id or f"replay-{uuid.uuid4().hex[:12]}"
    )
    # The function measures "so far" durations up to the publish time, so a replay of a
    # raw status is stamped now, and a saved message keeps the time it first had.
    body["message"]["publishTime"] = message.publish_time or _now()
    body["subscription"] = "projects/replay/subscriptions/replay-invoke"
    return body


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_url(url: str) -> str:
    """The URL if it is http(s) with a host, else BadInputError."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BadInputError(f"--url {url!r}: expected an http(s) URL such as http://127.0.0.1:8080/")
    return url


def needs_identity_token(url: str) -> bool:
    """True for a deployed function (https, not loopback): it only accepts signed-in callers."""
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname not in _LOOPBACK


def identity_token(url: str) -> str:
    """An identity token for ``url`` from the user's Google credentials.

    Service-account credentials (and the metadata server) mint one directly; a user's
    ``gcloud auth login`` cannot through google-auth, so gcloud itself is asked then.
    """
    parts = urlsplit(url)
    audience = f"{parts.scheme}://{parts.netloc}"
    try:
        return id_token.fetch_id_token(Request(), audience)
    except exceptions.GoogleAuthError as exc:
        first_error = short(exc)
    gcloud = shutil.which("gcloud")
    if gcloud:
        done = subprocess.run(
            [gcloud, "auth", "print-identity-token"], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    raise RuntimeFailure(
        f"--url {url}: no identity token ({first_error}); run `gcloud auth login` "
        "or set GOOGLE_APPLICATION_CREDENTIALS to a service account key with run.invoker"
    )


def post(url: str, body: Mapping[str, Any], *, token: str | None, timeout: float) -> tuple[int, str]:
    """POST the push body; returns the HTTP status and the start of the response text."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(500).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(500).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RuntimeFailure(f"--url {url}: the function is unreachable: {short(reason)}") from None


def block_kit_builder_url(payload: Mapping[str, Any]) -> str:
    """A link that opens the message's blocks in Slack's Block Kit Builder."""
    return BLOCK_KIT_BUILDER + quote(json.dumps({"blocks": payload.get("blocks", [])}), safe="")


@dataclass
class DryRun:
    """What the function would do with one message: the outcome, and what each destination would get."""

    outcome: str
    payloads: dict[str, Any] = field(default_factory=dict)  # destination:address -> payload or text
    notes: list[str] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any] | None:
        """The Slack message, when there is one."""
        return next((v for k, v in self.payloads.items() if k.startswith("slack:")), None)


class Keeper:
    """Every destination's transport, minus the sending: keeps what would have gone out, by
    ``destination:address``. Stands in for Slack's poster, Chat's webhook and Twilio (and, through
    ``TeamsKeeper`` and ``PagerDutyKeeper``, for Teams' webhook and PagerDuty's Events API)."""

    def __init__(self) -> None:
        self.kept: dict[str, Any] = {}
        self.pacer = Pacer(0)  # Chat's webhook carries its pacer

    def post_payload(self, payload: Mapping[str, Any], ticket: Any = None) -> str:
        """Slack's ``chat.postMessage``."""
        self.kept[f"slack:{payload.get('channel', '')}"] = dict(payload)
        return "dry-run"

    def update(self, payload: Mapping[str, Any]) -> None:
        """Nothing to update: a dry run has no threads."""

    def post(self, webhook_url: str, message: dict[str, Any], thread_key: str, ticket: Any = None) -> str:
        """Google Chat's webhook: kept by space, never by the webhook's URL (a credential)."""
        self.kept[f"google_chat:{space_of(webhook_url)}"] = {**message, "thread": {"threadKey": thread_key}}
        return "dry-run"

    def send(self, to: str, text: str) -> str:
        """Twilio's text."""
        self.kept[f"sms:{to}"] = text
        return "dry-run"


class TeamsKeeper:
    """Teams' webhook for a dry run: keeps the card by workflow, never by the URL (a credential)."""

    def __init__(self, keeper: Keeper) -> None:
        self._keeper = keeper
        self.pacer = keeper.pacer

    def post(self, webhook_url: str, message: dict[str, Any], ticket: Any = None) -> str:
        """The Workflows webhook's POST."""
        self._keeper.kept[f"teams:{workflow_of(webhook_url)}"] = message
        return "dry-run"


class PagerDutyKeeper:
    """PagerDuty's Events API for a dry run: keeps the event by service, without its routing key."""

    def __init__(self, keeper: Keeper) -> None:
        self._keeper = keeper
        self.pacer = keeper.pacer

    def send(self, routing_key: str, event: dict[str, Any], service: str, ticket: Any = None) -> str:
        """``POST /v2/enqueue``."""
        self._keeper.kept[f"pagerduty:{service}"] = event
        return str(event.get("dedup_key", ""))


def dry_run_env(
    environ: Mapping[str, str], bodies: list[Mapping[str, Any]] = ()
) -> tuple[dict[str, str], list[str]]:
    """The user's environment with placeholders where nothing will be sent anyway.

    Without ALLOWED_PROJECTS (or GOOGLE_CLOUD_PROJECT), the scope is the projects and
    regions the raw statuses being dry-run name (checked like the function checks them).
    """
    env = dict(environ)
    notes = []
    if not (env.get("ALLOWED_PROJECTS", "").strip() or env.get("GOOGLE_CLOUD_PROJECT", "").strip()):
        names = [name for name in map(_job_name_of, bodies) if name is not None]
        env["ALLOWED_PROJECTS"] = ",".join(sorted({n.project for n in names})) or PLACEHOLDER_PROJECT
        if not env.get("ALLOWED_REGIONS", "").strip():
            env["ALLOWED_REGIONS"] = ",".join(sorted({n.region for n in names})) or PLACEHOLDER_REGION
        notes.append(
            f"ALLOWED_PROJECTS is unset: dry-running within the messages' own projects "
            f"({env['ALLOWED_PROJECTS']}) and regions ({env['ALLOWED_REGIONS']})"
        )
    if not env.get("SLACK_BOT_TOKEN", "").strip():
        env["SLACK_BOT_TOKEN"] = PLACEHOLDER_TOKEN
    if not env.get("SLACK_CHANNEL_ID", "").strip():
        env["SLACK_CHANNEL_ID"] = PLACEHOLDER_CHANNEL
        notes.append(
            f"SLACK_CHANNEL_ID is unset: using {PLACEHOLDER_CHANNEL} unless the pipeline's exit handler names a channel"
        )
    return env, notes


def _job_name_of(body: Mapping[str, Any]) -> Any:
    """The checked job name a push body's status names, or None."""
    try:
        data = base64.b64decode(body["message"]["data"])
        status = json.loads(data)
        return parse_job_name(
            status.get("pipelineJobResourceName") or status.get("pipeline_job_resource_name")
        )
    except Exception:  # noqa: BLE001 - not a status with a good name: it adds nothing to the scope
        return None


def make_dry_run_notifier(
    environ: Mapping[str, str], bodies: list[Mapping[str, Any]] = ()
) -> tuple[Any, Keeper, list[str]]:
    """The function's Notifier built from ``environ``, every configured destination keeping
    what it would send."""
    env, notes = dry_run_env(environ, bodies)
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        raise BadInputError(f"environment: {exc}") from None
    keeper = Keeper()
    vertex = make_vertex(config)
    transports = {
        "slack": keeper,
        "google_chat": keeper,
        "sms": keeper,
        "teams": TeamsKeeper(keeper),
        "pagerduty": PagerDutyKeeper(keeper),
    }
    notifier = Notifier(
        config=config,
        vertex=vertex,
        logs=make_log_reader(config),
        destinations=make_destinations(config, Stores(), transports),
        sources=make_sources(config, vertex),
    )
    return notifier, keeper, notes


def dry_run(notifier: Any, keeper: Keeper, body: Mapping[str, Any]) -> DryRun:
    """Run one push body through the notifier; nothing leaves this process but Vertex reads."""
    keeper.kept = {}
    with _notifier_warnings() as warnings:
        outcome = notifier.handle(dict(body), event_id=str(body["message"].get("messageId", "")))
    return DryRun(outcome=str(outcome.value), payloads=dict(keeper.kept), notes=warnings)


@contextlib.contextmanager
def _notifier_warnings() -> Iterator[list[str]]:
    """Collect the notifier's warnings and errors (enrichment notes, rejections) as text."""
    kept: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(f"{record.levelname.lower()}: {record.getMessage()}")

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("notifier")
    logger.addHandler(handler)
    propagate = logger.propagate
    logger.propagate = False  # shown once, by the caller, not again by a root handler
    try:
        yield kept
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
