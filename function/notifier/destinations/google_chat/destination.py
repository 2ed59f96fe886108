"""The Google Chat destination: a card (``render``) posted through a space's incoming webhook
(``deliver``), paced per space, one thread per pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifier.destinations import Delivery
from notifier.destinations.google_chat.deliver import ChatWebhook, space_of
from notifier.destinations.google_chat.render import render_chat, render_chat_reply
from notifier.destinations.webhooks import WebhookDestination
from notifier.model import Receipt, pipeline_name
from notifier.pacing import Ticket

# Chat's thread keys may be up to 4,000 characters; a pipeline name is far shorter.
THREAD_KEY_MAX = 200


class GoogleChatDestination(WebhookDestination):
    """Posts a card to each webhook the route names, in one thread per pipeline, paced per space."""

    name = "google_chat"
    digests = True
    noun = "Google Chat webhook"

    def __init__(self, webhook: ChatWebhook, urls: Mapping[str, str], defaults: tuple[str, ...] = ()) -> None:
        super().__init__(webhook.pacer, urls, space_of, defaults)
        self._webhook = webhook

    def send(self, delivery: Delivery, address: str, admission: Ticket | None = None) -> Receipt:
        """Render the card and post it to the webhook ``address``, threaded by pipeline."""
        message = render_chat(delivery.status, delivery.enrichment, reference_time=delivery.reference_time)
        return self._post(delivery, address, message, admission)

    def reply(
        self, delivery: Delivery, address: str, thread: str, admission: Ticket | None = None
    ) -> Receipt:
        """The short reply once a run the sweep warned about ended: in the pipeline's thread, where
        the warning is (Chat threads by pipeline, so ``thread`` is not needed)."""
        message = render_chat_reply(
            delivery.status, delivery.enrichment, reference_time=delivery.reference_time
        )
        return self._post(delivery, address, message, admission)

    def takes_digest(self, address: str) -> bool:
        """A webhook name that is still configured."""
        return address in self._urls

    def send_digest(self, content: Any, address: str, admission: Ticket | None = None) -> Receipt:
        """The weekly digest as one card, in the space's digest thread."""
        # Imported here: a weekly message need not cost every cold start.
        from notifier.destinations.google_chat.digest_render import THREAD_KEY, render_digest_chat  # noqa: PLC0415

        message = render_digest_chat(content)
        return Receipt(
            self.name, address, self._webhook.post(self.url(address), message, THREAD_KEY, admission)
        )

    def _post(
        self, delivery: Delivery, address: str, message: dict[str, Any], admission: Ticket | None
    ) -> Receipt:
        url = self.url(address)
        thread_key = pipeline_name(delivery.status, delivery.enrichment.details)[:THREAD_KEY_MAX]
        return Receipt(self.name, address, self._webhook.post(url, message, thread_key, admission))
