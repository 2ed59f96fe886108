"""The Google Chat destination: a card (``render``) posted through a space's incoming webhook
(``deliver``), paced per space, one thread per pipeline."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from notifier.destinations import Delivery, Paced
from notifier.destinations.google_chat.deliver import ChatWebhook, space_of
from notifier.destinations.google_chat.render import render_chat
from notifier.errors import PermanentError
from notifier.model import Receipt, pipeline_name
from notifier.pacing import Ticket

# Chat's thread keys may be up to 4,000 characters; a pipeline name is far shorter.
THREAD_KEY_MAX = 200


class GoogleChatDestination(Paced):
    """Posts a card to each webhook the route names, in one thread per pipeline."""

    name = "google_chat"

    def __init__(self, webhook: ChatWebhook, urls: Mapping[str, str], defaults: tuple[str, ...] = ()) -> None:
        super().__init__(webhook.pacer, defaults)
        self._webhook = webhook
        self._urls = dict(urls)

    @contextlib.contextmanager
    def admit(self, address: str, *, final_attempt: bool = False) -> Iterator[Ticket | None]:
        """A place in the queue of the space behind the webhook ``address``."""
        url = self._urls.get(address)
        with super().admit(space_of(url) if url else "", final_attempt=final_attempt) as ticket:
            yield ticket

    def send(self, delivery: Delivery, address: str, admission: Ticket | None = None) -> Receipt:
        """Render the card and post it to the webhook ``address``, threaded by pipeline."""
        url = self._urls.get(address)
        if url is None:  # Config checks the names at start-up; a stale route would land here
            raise PermanentError(f"no Google Chat webhook named {address!r}")
        message = render_chat(delivery.status, delivery.enrichment, reference_time=delivery.reference_time)
        thread_key = pipeline_name(delivery.status, delivery.enrichment.details)[:THREAD_KEY_MAX]
        return Receipt(self.name, address, self._webhook.post(url, message, thread_key, admission))
