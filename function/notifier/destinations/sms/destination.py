"""The SMS destination: one short text per run (``render``), sent through Twilio (``deliver``)."""

from __future__ import annotations

from typing import Any

from notifier.destinations import Delivery, Unpaced
from notifier.destinations.sms.deliver import TwilioSms
from notifier.destinations.sms.render import render_sms, render_sms_reply
from notifier.model import FAILED, FinalStatus, Receipt, Route


class SmsDestination(Unpaced):
    """Texts each number the route names; failures only unless SMS_ON_FAILURE_ONLY=false.

    It pages a person: never for a notice Vertex AI did not confirm.
    """

    name = "sms"
    pages = True

    def __init__(self, sms: TwilioSms, *, failures_only: bool = True, defaults: tuple[str, ...] = ()) -> None:
        super().__init__(defaults)
        self._sms = sms
        self._failures_only = failures_only

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """FAILED runs (every state but success under SMS_ON_FAILURE_ONLY=false and no on_failure_only)."""
        if self._failures_only:
            return status.state == FAILED
        return not route.skips(status)

    def send(self, delivery: Delivery, address: str, admission: Any = None) -> Receipt | None:
        """Send the text to the number ``address``; nothing for a notice Vertex AI did not confirm."""
        if delivery.enrichment.unverified:
            return None  # never page anyone on an unconfirmed claim (routes name no number then)
        text = render_sms(delivery.status, delivery.enrichment, reference_time=delivery.reference_time)
        return Receipt(self.name, address, self._sms.send(address, text))

    def reply(self, delivery: Delivery, address: str, thread: str, admission: Any = None) -> Receipt:
        """The short text once a run the sweep warned about (by SMS too) has ended."""
        text = render_sms_reply(delivery.status, delivery.enrichment, reference_time=delivery.reference_time)
        return Receipt(self.name, address, self._sms.send(address, text))
