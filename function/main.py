"""Cloud Function entry point: ``notify``, a CloudEvent function fed by Pub/Sub.

Thin on purpose: configuration is read once here at cold start (a missing variable stops
the instance with its name), and each event goes to ``Notifier.handle``.
"""

from __future__ import annotations

import logging
import os

import functions_framework
from cloudevents.http.event import CloudEvent

from notifier.handler import build_notifier
from notifier.version import __version__

_notifier = build_notifier(os.environ)
logging.getLogger("notifier").info("notifier %s starting", __version__)


@functions_framework.cloud_event
def notify(cloud_event: CloudEvent) -> None:
    """Notify Slack of a pipeline's final status carried by a Pub/Sub message."""
    _notifier.handle(cloud_event.data, event_id=str(cloud_event.get("id") or ""))
