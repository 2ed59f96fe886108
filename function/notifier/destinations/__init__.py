"""Destinations: each one renders a notification for its service and delivers it.

A destination is a renderer plus a deliverer behind one small interface, so the handler
sends to any of them the same way: Slack (``destinations.slack``, the default), Google
Chat (``destinations.google_chat``) and SMS through Twilio (``destinations.sms``). The
route names the addresses (a channel, webhooks, numbers); each (destination, address)
is de-duplicated on its own, so one failing never blocks or repeats the others.

Whether a notification is sent at all is the destination's call, given the route:
``accepts`` answers before any work is done (a success under ``on_failure_only`` that
no state of the destination could turn into a message), ``send`` may still decide to
post nothing (returns None), e.g. Slack when a success closes no failing streak.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from notifier.model import Enrichment, FinalStatus, Receipt, Route


class Destination(Protocol):
    """Admits, renders and delivers one notification; raises a NotifierError when it cannot."""

    name: str

    def addresses(self, route: Route) -> tuple[str, ...]:
        """Where on this service the route sends: a Slack channel, Chat webhooks, SMS numbers."""

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """Cheap and without I/O: False when this status can come to nothing on this route."""

    def dedup_target(self, address: str) -> str:
        """What this delivery adds to the run's idempotency key ('' for one per run and state)."""

    def admit(
        self, route: Route, address: str, *, final_attempt: bool = False
    ) -> AbstractContextManager[Any]:
        """Hold a place for one delivery to ``address`` before any work is done for it.

        Raises DeferredError when the destination cannot take it soon (a rate-limited
        channel with a long queue), so the message goes back to Pub/Sub at no cost.
        ``final_attempt``: Pub/Sub will not redeliver it, so wait rather than hand back.
        The context yields the admission ``send`` takes, and gives the place back if unused.
        """

    def send(
        self,
        status: FinalStatus,
        enrichment: Enrichment,
        route: Route,
        *,
        address: str,
        reference_time: datetime,
        admission: Any = None,
    ) -> Receipt | None:
        """Render for this service and deliver to ``address`` when ``admission`` allows; None when
        it sent nothing.

        PermanentError or TransientError on failure.
        """


class Unqueued:
    """For a destination with no queue to hold a place in before the work (Chat paces as it
    posts, Twilio queues texts itself) that delivers once per run, state and address."""

    name: str

    def dedup_target(self, address: str) -> str:
        """One delivery per run, state and address."""
        return f"{self.name}:{address}"

    def admit(
        self, route: Route, address: str, *, final_attempt: bool = False
    ) -> AbstractContextManager[None]:
        """Nothing to hold beforehand."""
        return contextlib.nullcontext()
