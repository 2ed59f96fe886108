"""Cloud Function entry points, two functions deployed from this one source.

- ``notify``: a CloudEvent function fed by Pub/Sub (statuses, job events, sweeps, clicks);
- ``slack_actions``: an HTTP function, Slack's interactivity request URL (see
  ``notifier.actions``), deployed on its own only when actions are on.

Thin on purpose: configuration is read once here at cold start (a missing variable stops
the instance with its name), for the function this instance serves (``FUNCTION_TARGET``,
set by Cloud Run and by functions-framework before this module loads) and nothing else:
the interactivity function builds no Vertex AI client, no destination, no Slack token.

The cyclic garbage collector is off while the function starts: importing the clients
makes about a hundred thousand long-lived objects and almost no garbage, and collecting
while they are made cost ~0.05 s of the cold start for nothing. What start-up made is
then frozen (later collections skip it, and gunicorn's forked worker leaves its pages
shared), as Python's ``gc`` documentation advises for a process that forks.
"""

from __future__ import annotations

import gc

gc.disable()

import logging  # noqa: E402 - after gc.disable(), like every import of the start-up
import os  # noqa: E402

import flask  # noqa: E402
import functions_framework  # noqa: E402
from cloudevents.http.event import CloudEvent  # noqa: E402

from notifier.errors import DeferredError  # noqa: E402
from notifier.sources.pubsub import delivery_attempt_of  # noqa: E402
from notifier.version import __version__  # noqa: E402
from notifier.wiring import build_interactivity, build_notifier  # noqa: E402

SLACK_ACTIONS = "slack_actions"

try:
    if os.environ.get("FUNCTION_TARGET") == SLACK_ACTIONS:
        _interactivity = build_interactivity(os.environ)
    else:
        _notifier = build_notifier(os.environ)
finally:
    gc.freeze()
    gc.enable()
logging.getLogger("notifier").info("notifier %s starting", __version__)


@functions_framework.cloud_event
def notify(cloud_event: CloudEvent) -> None:
    """Notify Slack of a pipeline's final status carried by a Pub/Sub message."""
    # The push body's deliveryAttempt does not survive the conversion to a CloudEvent.
    attempt = (
        delivery_attempt_of(flask.request.get_json(silent=True)) if flask.has_request_context() else None
    )
    try:
        _notifier.handle(
            cloud_event.data,
            event_id=str(cloud_event.get("id") or ""),
            delivery_attempt=attempt,
            # The topic, from the push URL's path (Terraform's push config, never the publisher).
            source=str(cloud_event.get("source") or ""),
        )
    except DeferredError:
        # Handed back on purpose (logged at INFO): a bare 429 asks Pub/Sub to bring it back
        # later, without the traceback an uncaught exception would log.
        flask.abort(429)


@functions_framework.http
def slack_actions(request: flask.Request) -> flask.Response:
    """Slack's interactivity request: verified, acknowledged at once, passed on to ``notify``."""
    answer = _interactivity.answer(
        request.method, request.headers, request.stream.read, request.content_length
    )
    return flask.Response(answer.body, status=answer.status, mimetype="text/plain")
