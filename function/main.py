"""Cloud Function entry point: ``notify``, a CloudEvent function fed by Pub/Sub.

Thin on purpose: configuration is read once here at cold start (a missing variable stops
the instance with its name), and each event goes to ``Notifier.handle``.
"""

from __future__ import annotations

import logging
import os

import flask
import functions_framework
from cloudevents.http.event import CloudEvent

from notifier.errors import DeferredError
from notifier.sources.pubsub import delivery_attempt_of
from notifier.version import __version__
from notifier.wiring import build_notifier

_notifier = build_notifier(os.environ)
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
