"""The whole notifier wired on one machine: stand-ins, function, and (optionally) Pub/Sub.

The end-to-end tests, the demo (``python -m sandbox``) and the benchmarks all use this,
so what the demo shows is what the tests prove.
"""

from __future__ import annotations

import base64
import itertools
import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import topology
from sandbox.chat_standin import ChatStandin
from sandbox.function_server import FunctionServer
from sandbox.logging_standin import LoggingStandin
from sandbox.pagerduty_standin import ROUTING_KEY, PagerDutyStandin
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.push_relay import PushRelay
from sandbox.slack_standin import TOKEN, SlackStandin
from sandbox.teams_standin import TeamsStandin
from sandbox.twilio_standin import TwilioStandin
from sandbox.vertex_standin import VertexStandin

DEFAULT_CHANNEL = "C0DEFAULT1"
# The scope of the local stack: the sample runs' project (as its id and its number, as
# Terraform lists both) and regions.
ALLOWED_PROJECTS = "acme-ml-prod,271009669852"
ALLOWED_REGIONS = "us-central1,europe-west4,us-east1"
# Google Chat webhooks the local stack defines (name -> space), and the SMS sender.
CHAT_SPACES = {"ml-alerts": "AAAAmlalerts", "data-eng": "AAAAdataeng"}
TWILIO_FROM = "+15005550006"
# PagerDuty services (name -> routing key) and Teams webhooks (name -> channel) the local stack defines.
PAGERDUTY_SERVICES = {"ml-oncall": ROUTING_KEY, "data-oncall": "R1standinpagerdutykey00000000002"}
TEAMS_CHANNELS = {"ml-alerts": "ML alerts", "data-eng": "Data engineering"}
_names = itertools.count(1)


def push_body(data: bytes, attributes: dict[str, str] | None = None, message_id: str = "1") -> dict[str, Any]:
    """A Pub/Sub push request body, as a push subscription sends it."""
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes or {},
            "messageId": message_id,
            "publishTime": "2026-11-27T06:42:00.000Z",
        },
        "subscription": "projects/local-project/subscriptions/direct",
    }


def standin_env(slack: SlackStandin, vertex: VertexStandin) -> dict[str, str]:
    """The function's base settings against the stand-ins: Slack token, channel and API, Vertex, region."""
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_CHANNEL_ID": DEFAULT_CHANNEL,
        "SLACK_API_URL": f"{slack.url}/api/",
        "VERTEX_API_ENDPOINT": vertex.url,
        "GCP_REGION": "us-central1",
        "ALLOWED_PROJECTS": ALLOWED_PROJECTS,
        "ALLOWED_REGIONS": ALLOWED_REGIONS,
    }


@dataclass
class Route:
    """A topic with a push subscription to the function and a dead-letter topic behind it."""

    topic: str
    subscription: str
    dead_letter_topic: str
    dead_letter_subscription: str
    relay: PushRelay | None = None  # set when ``PushRelay`` does the pushing (see add_route)


@dataclass
class LocalStack:
    """Slack, Vertex AI, Cloud Logging, Google Chat, Twilio, PagerDuty and Teams stand-ins plus the
    function under functions-framework."""

    workdir: Path
    slack: SlackStandin
    vertex: VertexStandin
    logging: LoggingStandin
    function: FunctionServer
    chat: ChatStandin
    twilio: TwilioStandin
    pagerduty: PagerDutyStandin
    teams: TeamsStandin
    emulator: PubSubEmulator | None = None
    routes: list[Route] = field(default_factory=list)
    interactivity: FunctionServer | None = None  # slack_actions, once start_interactivity ran

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        emulator: PubSubEmulator | None = None,
        env: dict[str, str] | None = None,
        slack: SlackStandin | None = None,
        pagerduty: PagerDutyStandin | None = None,
        teams: TeamsStandin | None = None,
        jobs_dir: Path | None = None,
        logs: list[Path] | None = None,
        project_ids: dict[str, str] | None = None,
        vertex_per_region: bool = False,
        without: tuple[str, ...] = (),
    ) -> LocalStack:
        """Start the stand-ins and the function; stop whatever started if a later step fails.

        ``jobs_dir`` holds PipelineJob JSON (``*.job.json``) for the Vertex stand-in; ``logs``
        are saved ``entries:list`` responses for the Cloud Logging stand-in, whose
        ``project_ids`` map project numbers (as job names use them) to project ids.
        ``vertex_per_region`` points the function at the Vertex stand-in with the endpoint
        template ``…/{region}`` (one endpoint per region, as in production); ``without``
        names settings to leave unset (``VERTEX_API_ENDPOINT``: the production endpoints).
        """
        slack = (slack or SlackStandin()).start()
        vertex = VertexStandin().start()
        logging = LoggingStandin().start()
        chat = ChatStandin().start()
        twilio = TwilioStandin().start()
        pagerduty = (pagerduty or PagerDutyStandin(routing_keys=tuple(PAGERDUTY_SERVICES.values()))).start()
        teams = (teams or TeamsStandin()).start()
        try:
            if jobs_dir is not None:
                vertex.load_jobs(jobs_dir)
            for path in logs or []:
                logging.load(path)
            logging.project_ids.update(project_ids or {})
            function_env = {
                **standin_env(slack, vertex),
                "LOGGING_API_ENDPOINT": logging.url,
                # Google Chat and Twilio are configured (credentials in the environment, as
                # Secret Manager hands them over) but send nothing until a route names them:
                # GOOGLE_CHAT_SPACES, SMS_TO or a ROUTES rule.
                "GOOGLE_CHAT_WEBHOOKS": json.dumps(
                    {name: chat.webhook(space) for name, space in CHAT_SPACES.items()}
                ),
                "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token,
                "TWILIO_FROM": TWILIO_FROM,
                "TWILIO_API_URL": twilio.url,
                # PagerDuty and Teams the same way: PAGERDUTY_SERVICES, TEAMS_CHANNELS or a rule sends there.
                "PAGERDUTY_ROUTING_KEYS": json.dumps(PAGERDUTY_SERVICES),
                "PAGERDUTY_API_URL": pagerduty.url,
                "TEAMS_WEBHOOKS": json.dumps(
                    {name: teams.workflow(channel) for name, channel in TEAMS_CHANNELS.items()}
                ),
                **({"VERTEX_API_ENDPOINT": vertex.region_template} if vertex_per_region else {}),
                **(env or {}),
            }
            for name in without:
                function_env.pop(name, None)
            function = FunctionServer.start(workdir, function_env)
        except BaseException:
            for standin in (slack, vertex, logging, chat, twilio, pagerduty, teams):
                standin.stop()
            raise
        return cls(
            workdir=workdir,
            slack=slack,
            vertex=vertex,
            logging=logging,
            function=function,
            chat=chat,
            twilio=twilio,
            pagerduty=pagerduty,
            teams=teams,
            emulator=emulator,
        )

    def add_route(
        self,
        *,
        max_delivery_attempts: int = 5,
        ack_deadline_seconds: int = 30,
        topic: str | None = None,
        push_to: str | None = None,
    ) -> Route:
        """Create a fresh topic pushed to the function by the emulator, dead-lettering after N attempts.

        Fast retries (1-10 s) for tests; ``add_deployed_route`` has the deployed policy.
        ``topic`` subscribes to a topic that exists already instead of a fresh one;
        ``push_to`` pushes to another base URL (a proxy in front of the function), with
        the same topic path after it.
        """
        return self._route(
            push=True,
            max_delivery_attempts=max_delivery_attempts,
            ack_deadline_seconds=ack_deadline_seconds,
            min_backoff_seconds=1,
            max_backoff_seconds=10,
            topic=topic,
            push_to=push_to,
        )

    def add_deployed_route(self) -> Route:
        """A topic with the subscription Terraform deploys, pushed as Pub/Sub pushes.

        Retry policy, dead-letter attempts and ack deadline come from the topology file;
        a ``PushRelay`` pushes with as many requests in flight as the instance serves,
        where the emulator's own push would keep two (see ``sandbox.push_relay``).
        """
        deployed = topology.load()
        route = self._route(
            push=False,
            max_delivery_attempts=deployed.max_delivery_attempts,
            ack_deadline_seconds=deployed.ack_deadline_seconds,
            min_backoff_seconds=deployed.min_retry_backoff_seconds,
            max_backoff_seconds=deployed.max_retry_backoff_seconds,
        )
        assert self.emulator is not None
        route.relay = PushRelay(
            self.emulator,
            route.subscription,
            f"{self.function.url}{route.topic}",
            window=deployed.max_instances * deployed.concurrency,
            timeout=deployed.ack_deadline_seconds,
        ).start()
        return route

    def _route(
        self,
        *,
        push: bool,
        max_delivery_attempts: int,
        ack_deadline_seconds: int,
        min_backoff_seconds: int,
        max_backoff_seconds: int,
        topic: str | None = None,
        push_to: str | None = None,
    ) -> Route:
        if self.emulator is None:
            raise RuntimeError("a route needs the Pub/Sub emulator")
        n = next(_names)
        em = self.emulator
        topic = topic or em.create_topic(f"status-{n}")
        dead = em.create_topic(f"status-{n}-dead")
        dead_sub = em.create_subscription(f"status-{n}-dead-keep", dead)
        base = (push_to.rstrip("/") + "/") if push_to else self.function.url
        sub = em.create_subscription(
            f"status-{n}-push",
            topic,
            # The same URL shape Terraform configures: the topic path after the function URI.
            push_endpoint=f"{base}{topic}" if push else None,
            ack_deadline_seconds=ack_deadline_seconds,
            dead_letter_topic=dead,
            max_delivery_attempts=max_delivery_attempts,
            min_backoff=f"{min_backoff_seconds}s",
            max_backoff=f"{max_backoff_seconds}s",
        )
        route = Route(topic, sub, dead, dead_sub)
        self.routes.append(route)
        return route

    def start_interactivity(self, env: dict[str, str]) -> FunctionServer:
        """Start the interactivity function (``slack_actions``) beside ``notify``, from the same source.

        ``env`` holds its own settings (``SLACK_SIGNING_SECRET``, ``ACTIONS_TOPIC``, and
        ``DEDUP_COLLECTION`` with the Firestore emulator's for the replay guard); it publishes
        through the Pub/Sub emulator, and response_urls point at the Slack stand-in.
        """
        assert self.emulator is not None, "the interactivity function publishes to the Pub/Sub emulator"
        self.interactivity = FunctionServer.start(
            self.workdir,
            {
                "PUBSUB_API_ENDPOINT": f"http://{self.emulator.host}",
                "SLACK_API_URL": f"{self.slack.url}/api/",
                "GOOGLE_CLOUD_PROJECT": self.emulator.project,
                **env,
            },
            target="slack_actions",
        )
        return self.interactivity

    def publish(self, route: Route, data: bytes, attributes: dict[str, str] | None = None) -> str:
        """Publish one message to the route's topic (over the emulator's REST API)."""
        assert self.emulator is not None
        return self.emulator.publish(route.topic, data, attributes)

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Delete the subscriptions (no redelivery leaks into later tests) and stop everything."""
        relays = [route.relay for route in self.routes if route.relay is not None]
        try:
            for relay in relays:
                relay.stop_pulling()
            if self.emulator is not None:
                for route in self.routes:
                    for path in (route.subscription, route.dead_letter_subscription):
                        delete_resource(self.emulator.url(path))
        finally:
            try:
                if self.interactivity is not None:
                    self.interactivity.stop()
                self.function.stop()  # ends the pushes still in flight
                for relay in relays:
                    relay.stop()
            finally:
                for standin in (
                    self.slack,
                    self.vertex,
                    self.logging,
                    self.chat,
                    self.twilio,
                    self.pagerduty,
                    self.teams,
                ):
                    standin.stop()


def delete_resource(url: str) -> None:
    """DELETE an emulator resource, ignoring one that is already gone."""
    request = urllib.request.Request(url, method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=5):
            pass
    except OSError:
        pass  # already gone, or the emulator is stopping: nothing left to redeliver
