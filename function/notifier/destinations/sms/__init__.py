"""SMS through Twilio: one short text per run, to the numbers in configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notifier.destinations import Unqueued
from notifier.destinations.sms.deliver import TwilioSms
from notifier.destinations.sms.render import render_sms
from notifier.model import FAILED, Enrichment, FinalStatus, Receipt, Route


class SmsDestination(Unqueued):
    """Texts each number the route names; failures only unless SMS_ON_FAILURE_ONLY=false."""

    name = "sms"

    def __init__(self, sms: TwilioSms, *, failures_only: bool = True) -> None:
        self._sms = sms
        self._failures_only = failures_only

    def addresses(self, route: Route) -> tuple[str, ...]:
        """The route's phone numbers."""
        return route.sms

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """FAILED runs (every state but success under SMS_ON_FAILURE_ONLY=false and no on_failure_only)."""
        if self._failures_only:
            return status.state == FAILED
        return not route.skips(status)

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
        """Send the text to the number ``address``; nothing for a notice Vertex AI did not confirm."""
        if enrichment.unverified:
            return None  # never page anyone on an unconfirmed claim (routes name no number then)
        text = render_sms(status, enrichment, reference_time=reference_time)
        return Receipt(self.name, address, self._sms.send(address, text))
