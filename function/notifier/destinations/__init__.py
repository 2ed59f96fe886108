"""Destinations: each one renders a notification for its service and delivers it.

A destination is a renderer plus a deliverer behind one small interface, so the handler
sends to any of them the same way. Slack (``destinations.slack``) is the default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from notifier.model import Enrichment, FinalStatus, Receipt, Route


class Destination(Protocol):
    """Renders and delivers one notification; raises a NotifierError when it cannot."""

    name: str

    def send(
        self, status: FinalStatus, enrichment: Enrichment, route: Route, *, reference_time: datetime
    ) -> Receipt:
        """Render for this service and deliver; PermanentError or TransientError on failure."""
