"""Google Chat: cardsV2 messages through a space's incoming webhook, one thread per pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from notifier.destinations import Unqueued
from notifier.destinations.google_chat.deliver import ChatWebhook
from notifier.destinations.google_chat.render import render_chat
from notifier.errors import PermanentError
from notifier.model import Enrichment, FinalStatus, Receipt, Route, pipeline_name

# Chat's thread keys may be up to 4,000 characters; a pipeline name is far shorter.
THREAD_KEY_MAX = 200


class GoogleChatDestination(Unqueued):
    """Posts a card to each webhook the route names, in one thread per pipeline."""

    name = "google_chat"

    def __init__(self, webhook: ChatWebhook, urls: Mapping[str, str]) -> None:
        self._webhook = webhook
        self._urls = dict(urls)

    def addresses(self, route: Route) -> tuple[str, ...]:
        """The webhook names of the route."""
        return route.google_chat

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """Everything but a success under on_failure_only."""
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
    ) -> Receipt:
        """Render the card and post it to the webhook ``address``, threaded by pipeline."""
        url = self._urls.get(address)
        if url is None:  # Config checks the names at start-up; a stale route would land here
            raise PermanentError(f"no Google Chat webhook named {address!r}")
        message = render_chat(status, enrichment, reference_time=reference_time)
        thread_key = pipeline_name(status, enrichment.details)[:THREAD_KEY_MAX]
        return Receipt(self.name, address, self._webhook.post(url, message, thread_key))
