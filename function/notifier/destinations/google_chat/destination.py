"""The Google Chat destination: a card (``render``) posted through a space's incoming webhook
(``deliver``), paced per space, one thread per pipeline."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from notifier.destinations import Delivery, Paced
from notifier.destinations.google_chat.deliver import ChatWebhook, space_of
from notifier.destinations.google_chat.render import render_chat, render_chat_reply
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

    def _post(
        self, delivery: Delivery, address: str, message: dict[str, Any], admission: Ticket | None
    ) -> Receipt:
        url = self._urls.get(address)
        if url is None:  # Config checks the names at start-up; a stale route would land here
            raise PermanentError(f"no Google Chat webhook named {address!r}")
        thread_key = pipeline_name(delivery.status, delivery.enrichment.details)[:THREAD_KEY_MAX]
        return Receipt(self.name, address, self._webhook.post(url, message, thread_key, admission))
