"""The production Notifier in this process, wired to the Slack and Vertex stand-ins.

Built the way ``handler.build_notifier`` builds it (real slack_sdk client, real Vertex
REST client, and Firestore claims and threads when DEDUP_COLLECTION is set, e.g. on the
emulator), minus logging set-up: for tests of the handler's decisions.
"""

from __future__ import annotations

from notifier.config import Config
from notifier.destinations.slack.deliver import SlackDelivery, make_client
from notifier.handler import Notifier
from notifier.pacing import Pacer
from notifier.wiring import make_destinations, make_slack, make_sources, make_stores, make_vertex
from sandbox.slack_standin import TOKEN, SlackStandin
from sandbox.stack import ALLOWED_PROJECTS, ALLOWED_REGIONS
from sandbox.vertex_standin import VertexStandin

Standins = tuple[SlackStandin, VertexStandin]


def make_notifier(standins: Standins, pacer: Pacer | None = None, **env: str) -> Notifier:
    """A Notifier posting to the Slack stand-in and enriching from the Vertex stand-in.

    ``pacer`` paces posts per channel as in production (none by default).
    """
    slack, vertex = standins
    config = Config.from_env(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_CHANNEL_ID": "C0DEFAULT1",
            "SLACK_API_URL": f"{slack.url}/api/",
            "VERTEX_API_ENDPOINT": vertex.url,
            "GCP_REGION": "us-central1",
            "ALLOWED_PROJECTS": ALLOWED_PROJECTS,
            "ALLOWED_REGIONS": ALLOWED_REGIONS,
            "VERTEX_TIMEOUT_SECONDS": "1",
            **env,
        }
    )
    vertex = make_vertex(config)
    stores = make_stores(config)
    poster = SlackDelivery(make_client(config.slack.token, config.slack.api_url, timeout=5), pacer)
    slack_destination = make_slack(config, stores, poster=poster)
    slack_destination.pacer = pacer  # paced as in production only when asked
    others = tuple(d for d in make_destinations(config, stores) if d.name != "slack")
    return Notifier(
        config=config,
        vertex=vertex,
        destinations=(slack_destination, *others),
        sources=make_sources(config, vertex, stores.interval, stores.history),
        claims=stores.claims,
        history=stores.history,
    )
