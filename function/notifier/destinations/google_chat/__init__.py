"""Google Chat: cardsV2 messages through a space's incoming webhook, one thread per pipeline."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from notifier.destinations.google_chat.deliver import ChatWebhook
from notifier.destinations.google_chat.render import render_chat
from notifier.errors import PermanentError
from notifier.model import Enrichment, FinalStatus, Receipt, Route, pipeline_name

# Chat's thread keys may be up to 4,000 characters; a pipeline name is far shorter.
THREAD_KEY_MAX = 200


class GoogleChatDestination:
    """Posts a card to each webhook the route names, in one thread per pipeline."""

    name = "google_chat"

    def __init__(self, webhook: ChatWebhook, urls: Mapping[str, str]) -> None:
        self._webhook = webhook
        self._urls = dict(urls)

    def addresses(self, route: Route) -> tuple[str, ...]:
        """The webhook names of the route."""
        return route.google_chat

    def dedup_target(self, address: str) -> str:
        """One delivery per run, state and address."""
        return f"{self.name}:{address}"

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """Everything but a success under on_failure_only."""
        return not (route.on_failure_only and status.succeeded)

    def admit(
        self, route: Route, address: str, *, final_attempt: bool = False
    ) -> AbstractContextManager[None]:
        """Chat paces per space as it posts (``ChatWebhook``): nothing to hold beforehand."""
        return contextlib.nullcontext()

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
