"""Slack: Block Kit rendering (``render``, pure) and delivery with slack_sdk (``deliver``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from notifier.destinations.slack.render import SlackMessage, render
from notifier.model import Enrichment, FinalStatus, Receipt, Route


class Poster(Protocol):
    """Posts a rendered message and returns its ts (``deliver.SlackDelivery`` in production)."""

    def post(self, message: SlackMessage) -> str:
        """Post, or raise a NotifierError."""


class SlackDestination:
    """Renders a Block Kit message and posts it to the route's channel."""

    name = "slack"

    def __init__(self, delivery: Poster) -> None:
        self._delivery = delivery

    def send(
        self, status: FinalStatus, enrichment: Enrichment, route: Route, *, reference_time: datetime
    ) -> Receipt:
        """Render for Slack and post; returns the channel and the message ts."""
        message = render(
            status, enrichment, channel=route.channel, mention=route.mention, reference_time=reference_time
        )
        return Receipt(self.name, message.channel, self._delivery.post(message))
