"""The Google Chat destination: a card (``render``) posted through a space's incoming webhook
(``deliver``), paced per space, one thread per pipeline."""

from __future__ import annotations

from collections.abc import Mapping

from notifier.destinations import Delivery
from notifier.destinations.google_chat.deliver import ChatWebhook, space_of
from notifier.destinations.google_chat.render import render_chat
from notifier.destinations.webhooks import WebhookDestination
from notifier.model import Receipt, pipeline_name
from notifier.pacing import Ticket

# Chat's thread keys may be up to 4,000 characters; a pipeline name is far shorter.
THREAD_KEY_MAX = 200


class GoogleChatDestination(WebhookDestination):
    """Posts a card to each webhook the route names, in one thread per pipeline, paced per space."""

    name = "google_chat"
    noun = "Google Chat webhook"

    def __init__(self, webhook: ChatWebhook, urls: Mapping[str, str], defaults: tuple[str, ...] = ()) -> None:
        super().__init__(webhook.pacer, urls, space_of, defaults)
        self._webhook = webhook

    def send(self, delivery: Delivery, address: str, admission: Ticket | None = None) -> Receipt:
        """Render the card and post it to the webhook ``address``, threaded by pipeline."""
        url = self.url(address)
        message = render_chat(delivery.status, delivery.enrichment, reference_time=delivery.reference_time)
        thread_key = pipeline_name(delivery.status, delivery.enrichment.details)[:THREAD_KEY_MAX]
        return Receipt(self.name, address, self._webhook.post(url, message, thread_key, admission))
