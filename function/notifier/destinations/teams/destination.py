"""The Microsoft Teams destination: an Adaptive Card (``render``) posted through a channel's
Workflows webhook (``deliver``), paced per workflow."""

from __future__ import annotations

from collections.abc import Mapping

from notifier.destinations import Delivery
from notifier.destinations.teams.deliver import TeamsWebhook, workflow_of
from notifier.destinations.teams.render import render_teams
from notifier.destinations.webhooks import WebhookDestination
from notifier.model import Receipt
from notifier.pacing import Ticket


class TeamsDestination(WebhookDestination):
    """Posts a card to each webhook the route names, paced per workflow."""

    name = "teams"
    noun = "Teams webhook"

    def __init__(
        self, webhook: TeamsWebhook, urls: Mapping[str, str], defaults: tuple[str, ...] = ()
    ) -> None:
        super().__init__(webhook.pacer, urls, workflow_of, defaults)
        self._webhook = webhook

    def send(self, delivery: Delivery, address: str, admission: Ticket | None = None) -> Receipt:
        """Render the card and post it to the webhook ``address``."""
        url = self.url(address)
        message = render_teams(delivery.status, delivery.enrichment, reference_time=delivery.reference_time)
        return Receipt(self.name, address, self._webhook.post(url, message, admission))
