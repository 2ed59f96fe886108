"""Destinations: peers behind one small interface, each built from its own config group.

Slack (``destinations.slack``), Google Chat (``destinations.google_chat``) and SMS through
Twilio (``destinations.sms``) each render a notification for their service (from
``destinations.content``, which decides what every message says) and deliver it. A route
names addresses per destination by the destination's ``name``; the handler sends to each
(destination, address) the same way, de-duplicated on its own (``dedup_target``), so one
failing never blocks or repeats the others. ``wiring`` builds the destinations that are
configured; a new one slots in beside these without a branch in the handler.

Whether a notification is sent at all is the destination's call, given the route:
``accepts`` answers before any work is done (a success under ``on_failure_only`` that no
state of the destination could turn into a message), ``send`` may still decide to post
nothing (returns None), e.g. Slack when a success closes no failing streak.

The weekly digest (``notifier.digest``) goes to the destinations whose ``takes_digest``
accepts an address: Slack and Google Chat. SMS, PagerDuty and Teams take none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from notifier.model import Enrichment, FinalStatus, Receipt, Route
from notifier.pacing import Pacer, Ticket

if TYPE_CHECKING:
    from notifier.destinations.digest_content import DigestContent


@dataclass(frozen=True)
class Delivery:
    """One notice on its way out: what happened, what Vertex AI says, where it goes, and when."""

    status: FinalStatus
    enrichment: Enrichment
    route: Route
    reference_time: datetime  # "so far" durations run up to this (the message's publish time)


class Destination(Protocol):
    """Admits, renders and delivers one notification; raises a NotifierError when it cannot.

    ``pages``: it reaches a person's phone (SMS, a page): never for a notice Vertex AI did
    not confirm. ``defaults``: where runs go that no rule routes elsewhere.
    """

    name: str
    pages: bool
    digests: bool
    defaults: tuple[str, ...]

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """Cheap and without I/O: False when this status can come to nothing on this route."""

    def dedup_target(self, address: str) -> str:
        """What this delivery adds to the run's idempotency key: one delivery per destination and address."""

    def admit(self, address: str, *, final_attempt: bool = False) -> AbstractContextManager[Any]:
        """Hold a place for one delivery to ``address`` before any work is done for it.

        Raises DeferredError when the destination cannot take it soon (a rate-limited
        target with a long queue), so the message goes back to Pub/Sub at no cost.
        ``final_attempt``: Pub/Sub will not redeliver it, so wait rather than hand back.
        The context yields the admission ``send`` takes, and gives the place back if unused.
        """

    def send(self, delivery: Delivery, address: str, admission: Any = None) -> Receipt | None:
        """Render for this service and deliver to ``address`` when ``admission`` allows; None when
        it sent nothing. PermanentError or TransientError on failure."""

    def reply(self, delivery: Delivery, address: str, thread: str, admission: Any = None) -> Receipt | None:
        """The short reply when a run the sweep warned about ends, in the thread of that warning
        (``thread``: the warning's ref at ``address``); None when it sends none."""

    def takes_digest(self, address: str) -> bool:
        """True when ``address`` (read back from run history) can be sent a weekly digest here."""

    def send_digest(self, content: DigestContent, address: str, admission: Any = None) -> Receipt | None:
        """Render and deliver the weekly digest ``content`` to ``address``; None when it sent nothing."""


class Base:
    """What every destination shares: its name, its defaults, one delivery per address."""

    name: str = ""
    pages: bool = False
    digests: bool = False  # it says weekly digests (``send_digest``)

    def __init__(self, defaults: tuple[str, ...] = ()) -> None:
        self.defaults = tuple(defaults)

    def dedup_target(self, address: str) -> str:
        """One delivery per run, state, destination and address."""
        return f"{self.name}:{address}"

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """Everything but a success under on_failure_only."""
        return not route.skips(status)

    def reply(self, delivery: Delivery, address: str, thread: str, admission: Any = None) -> Receipt | None:
        """No reply after a warning unless the destination has a way to say it (see ``Destination``)."""
        return None

    def takes_digest(self, address: str) -> bool:
        """No weekly digest unless the destination says one (Slack and Google Chat do)."""
        return False

    def send_digest(self, content: DigestContent, address: str, admission: Any = None) -> Receipt | None:
        """Nothing, unless the destination says a digest (see ``Destination``)."""
        return None


class Paced(Base):
    """A destination whose targets are paced (``pacing.Pacer``): a place in the target's queue first."""

    def __init__(self, pacer: Pacer | None, defaults: tuple[str, ...] = ()) -> None:
        super().__init__(defaults)
        self.pacer = pacer

    @contextlib.contextmanager
    def admit(self, address: str, *, final_attempt: bool = False) -> Iterator[Ticket | None]:
        """A place in ``address``'s queue (DeferredError when it is too long); released if unused."""
        if self.pacer is None or not address:
            yield None
            return
        ticket = self.pacer.reserve(address, final_attempt=final_attempt)
        try:
            yield ticket
        finally:
            ticket.release()


class Unpaced(Base):
    """A destination with nothing to hold beforehand (Twilio queues texts itself)."""

    def admit(self, address: str, *, final_attempt: bool = False) -> AbstractContextManager[None]:
        """Nothing to hold beforehand."""
        return contextlib.nullcontext()
