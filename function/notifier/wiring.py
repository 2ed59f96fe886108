"""Build the notifier from its configuration: sources, Vertex AI, state, destinations.

The one place that knows which parts exist and how they are made; ``handler`` only
handles what it is given. Heavy clients (Firestore, Google Chat's session, Twilio) are
imported here only when their settings turn them on, and the API clients themselves are
made on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from notifier.config import Config
from notifier.destinations import Destination
from notifier.enrich.schedules import ScheduleReader, schedule_console_url
from notifier.enrich.task_logs import TaskLogEnricher, TaskLogReader
from notifier.enrich.vertex import VertexEnricher, console_url
from notifier.handler import Claims, History, Notifier
from notifier.history_rules import Policy
from notifier.logs import setup_logging
from notifier.pacing import Pacer
from notifier.routing import stuck_after_hours
from notifier.sources import Sources
from notifier.sources.job_event import JobEvents
from notifier.sources.schedule_rules import Policy as SchedulePolicy
from notifier.sources.schedules import ScheduleCheck
from notifier.sources.sweep import IntervalGate, Sweep

# How long an incident's streak document lives untouched (the collection's TTL policy).
INCIDENT_DOCUMENT_TTL = timedelta(days=400)

if TYPE_CHECKING:
    from notifier.actions.interactivity import Interactivity
    from notifier.sources.actions import Actions
    from notifier.sources.digest import Digests


def build_notifier(env: Mapping[str, str]) -> Notifier:
    """The production notifier from the environment (fails fast on bad configuration)."""
    config = Config.from_env(env)
    setup_logging(config.runtime.log_level, structured=config.runtime.structured_logs, secrets=config.secrets)
    stores = make_stores(config)
    vertex = make_vertex(config)
    destinations = make_destinations(config, stores)
    return Notifier(
        config=config,
        vertex=vertex,
        logs=make_log_reader(config),
        destinations=destinations,
        sources=make_sources(
            config,
            vertex,
            stores.interval,
            stores.history,
            make_actions(config, vertex, stores),
            make_digests(config, stores, destinations),
        ),
        claims=stores.claims,
        history=stores.history,
        mutes=stores.mutes,
    )


def build_interactivity(env: Mapping[str, str]) -> Interactivity:
    """The interactivity function (``slack_actions``) from the environment: the signature check, the
    replay guard (Firestore with ``DEDUP_COLLECTION``, else this instance) and the actions topic.
    Nothing else: no Vertex AI, no destination, no token."""
    from notifier.actions.interactivity import SIGNATURE_WINDOW, Interactivity  # noqa: PLC0415
    from notifier.actions.payload import response_origins  # noqa: PLC0415
    from notifier.actions.publish import TopicPublisher  # noqa: PLC0415
    from notifier.state.once import FirestoreOnce, LocalOnce  # noqa: PLC0415

    config = Config.for_interactivity(env)
    setup_logging(config.runtime.log_level, structured=config.runtime.structured_logs, secrets=config.secrets)
    # A signature holds for five minutes either side of this clock: its claim, twice that and a margin.
    window = timedelta(seconds=2 * SIGNATURE_WINDOW + 60)
    if config.state.enabled:
        from notifier.state.firestore import firestore_client  # noqa: PLC0415

        client = firestore_client(config.runtime.project, config.state.database)
        replays: Any = FirestoreOnce(client, config.state.collection, window)
    else:
        replays = LocalOnce(window.total_seconds())
    return Interactivity(
        config.actions.signing_secret,
        replays,
        TopicPublisher(config.actions.topic, config.actions.pubsub_endpoint),
        response_origins(config.slack.api_url),
    )


def make_vertex(config: Config, credentials: Any = None) -> VertexEnricher:
    """The Vertex AI client for the allowed regions (one client each at most)."""
    return VertexEnricher(
        config.vertex_endpoint_for,
        config.vertex.timeout_seconds,
        credentials=credentials,
        max_clients=len(config.scope.regions),
    )


def make_log_reader(config: Config) -> TaskLogEnricher:
    """The failed tasks' logs, within what the Vertex AI call left of ``VERTEX_TIMEOUT_SECONDS``
    (and at most ``LOGGING_TIMEOUT_SECONDS``), from the allowed projects only."""
    return TaskLogEnricher(
        TaskLogReader(
            config.task_logs.endpoint,
            config.task_logs.timeout_seconds,
            enabled=config.task_logs.enabled,
            projects=frozenset(config.scope.projects),
        ),
        budget=config.vertex.timeout_seconds,
    )


class Stores:
    """What lives in Firestore, when ``DEDUP_COLLECTION`` turns it on: claims, streaks, the sweep's
    interval, run history, the streaks PagerDuty's incidents follow (``incidents``), and with
    ``ACTIONS_TOPIC`` acknowledgements and mutes and the actions' claims."""

    def __init__(
        self,
        claims: Claims | None = None,
        streaks: Any = None,
        interval: IntervalGate | None = None,
        history: History | None = None,
        incidents: Any = None,
        mutes: Any = None,
        once: Any = None,
    ):
        self.claims = claims
        self.streaks = streaks
        self.interval = interval
        self.history = history
        self.incidents = incidents
        self.mutes = mutes
        self.once = once


def make_stores(config: Config) -> Stores:
    """De-duplication claims, the threads' streak state and the sweep's interval claim, in
    Firestore, when configured (the client is imported only then)."""
    state = config.state
    if not state.enabled:
        return Stores()
    from notifier.state.claims import FirestoreClaims  # noqa: PLC0415 - Firestore only when enabled
    from notifier.state.firestore import firestore_client  # noqa: PLC0415
    from notifier.state.sweep_interval import FirestoreSweepInterval  # noqa: PLC0415

    firestore = firestore_client(config.runtime.project, state.database)
    claims = FirestoreClaims(
        firestore,
        state.collection,
        lease=timedelta(seconds=state.lease_seconds),
        ttl=timedelta(days=state.ttl_days),
    )
    interval = FirestoreSweepInterval(
        firestore, state.collection, timedelta(minutes=config.sweep.min_interval_minutes)
    )
    stores = Stores(claims, None, interval)
    if config.keeps_history:
        from notifier.state.history import FirestoreHistory  # noqa: PLC0415 - only with history

        stores.history = FirestoreHistory(firestore, config.history.collection, days=config.history.days)
    if config.slack.threads or config.pagerduty.enabled:
        from notifier.state.streaks import FirestoreStreaks  # noqa: PLC0415 - only with threads or pages

        if config.slack.threads:
            ttl = timedelta(days=max(30.0, 2 * config.slack.streak_expiry_days))
            stores.streaks = FirestoreStreaks(firestore, state.streaks_collection, ttl=ttl)
        if config.pagerduty.enabled:
            # An incident stays open until its pipeline recovers: its streak outlives a quiet year.
            stores.incidents = FirestoreStreaks(
                firestore, state.streaks_collection, ttl=INCIDENT_DOCUMENT_TTL
            )
    if config.actions.enabled:
        from notifier.state.mutes import FirestoreMutes  # noqa: PLC0415 - only with actions
        from notifier.state.once import FirestoreOnce  # noqa: PLC0415

        expiry = timedelta(days=config.slack.streak_expiry_days)
        stores.mutes = FirestoreMutes(firestore, config.actions.mutes_collection, ack_expiry=expiry)
        stores.once = FirestoreOnce(firestore, state.collection, timedelta(days=state.ttl_days))
    return stores


def make_destinations(
    config: Config, stores: Stores | None = None, transports: Mapping[str, Any] | None = None
) -> tuple[Destination, ...]:
    """Every configured destination, each from its own config group (their clients load on first use).

    ``transports``: what delivers, by destination name, instead of the real client (the
    replay dry run keeps messages instead of sending them).
    """
    stores = stores or Stores()
    transports = transports or {}
    destinations: list[Destination] = []
    if config.slack.enabled:
        destinations.append(make_slack(config, stores, poster=transports.get("slack")))
    if config.chat.enabled:
        from notifier.destinations.google_chat.destination import GoogleChatDestination  # noqa: PLC0415 - only with Chat

        webhook = transports.get("google_chat")
        if webhook is None:
            from notifier.destinations.google_chat.deliver import ChatWebhook  # noqa: PLC0415

            # Chat allows 60 writes a minute per space: paced per space like Slack per channel.
            pacer = Pacer.for_instance(
                config.chat.max_per_minute / 60.0,
                hold=config.slack.hold_seconds,
                threads=config.runtime.threads,
            )
            webhook = ChatWebhook(pacer)
        destinations.append(GoogleChatDestination(webhook, dict(config.chat.webhooks), config.chat.defaults))
    if config.sms.enabled:
        from notifier.destinations.sms.destination import SmsDestination  # noqa: PLC0415 - only with SMS

        sms = config.sms
        client = transports.get("sms")
        if client is None:
            from notifier.destinations.sms.deliver import TwilioSms, make_twilio_client  # noqa: PLC0415

            client = TwilioSms(
                lambda: make_twilio_client(sms.account_sid, sms.auth_token, sms.api_url), sms.sender
            )
        destinations.append(SmsDestination(client, failures_only=sms.on_failure_only, defaults=sms.defaults))
    if config.pagerduty.enabled:
        destinations.append(make_pagerduty(config, stores, events=transports.get("pagerduty")))
    if config.teams.enabled:
        destinations.append(make_teams(config, webhook=transports.get("teams")))
    return tuple(destinations)


def make_pagerduty(config: Config, stores: Stores, events: Any = None) -> Destination:
    """PagerDuty: paced per service, one incident per failing streak when its store exists, linking
    the streak's Slack thread when Slack keeps threads and ``SLACK_WORKSPACE_URL`` is set."""
    from notifier.destinations.pagerduty.destination import PagerDutyDestination  # noqa: PLC0415 - only with PagerDuty

    pagerduty = config.pagerduty
    if events is None:
        from notifier.destinations.pagerduty.deliver import PagerDutyEvents  # noqa: PLC0415

        pacer = Pacer.for_instance(
            pagerduty.max_per_minute / 60.0, hold=config.slack.hold_seconds, threads=config.runtime.threads
        )
        events = PagerDutyEvents(pagerduty.api_url, pacer)
    return PagerDutyDestination(
        events,
        dict(pagerduty.routing_keys),
        severity=pagerduty.severity,
        streaks=stores.incidents,
        lease=timedelta(seconds=config.state.lease_seconds),
        slack_thread=slack_thread_finder(config, stores),
        defaults=pagerduty.defaults,
    )


def slack_thread_finder(config: Config, stores: Stores) -> Callable[[str, tuple[str, ...]], str] | None:
    """The permalink of a pipeline's open streak thread in the first of the route's Slack
    channels, from Slack's streak store; None without threads or ``SLACK_WORKSPACE_URL``."""
    streaks = stores.streaks
    if streaks is None or not config.slack.workspace_url:
        return None
    from notifier.state.streak_rules import StreakKey  # noqa: PLC0415

    def find(pipeline: str, channels: tuple[str, ...]) -> str:
        for channel in channels[:1]:
            streak = streaks.load(StreakKey(pipeline, channel))
            if streak is not None and streak.open and streak.root_ref:
                return config.slack.thread_url(channel, streak.root_ref)
        return ""

    return find


def make_teams(config: Config, webhook: Any = None) -> Destination:
    """Microsoft Teams: an Adaptive Card through a Workflows webhook, paced per workflow."""
    from notifier.destinations.teams.destination import TeamsDestination  # noqa: PLC0415 - only with Teams

    teams = config.teams
    if webhook is None:
        from notifier.destinations.teams.deliver import TeamsWebhook  # noqa: PLC0415

        pacer = Pacer.for_instance(
            teams.max_per_second, hold=config.slack.hold_seconds, threads=config.runtime.threads
        )
        webhook = TeamsWebhook(pacer)
    return TeamsDestination(webhook, dict(teams.webhooks), teams.defaults)


def make_slack(config: Config, stores: Stores, poster: Any = None) -> Destination:
    """The Slack destination: paced per channel, threads per failing streak when its store exists.

    ``poster``: what posts (a slack_sdk client by default; the replay dry run keeps messages).
    """
    from notifier.destinations.slack.destination import SlackDestination, Threads  # noqa: PLC0415

    slack = config.slack
    pacer = Pacer.for_instance(slack.max_per_second, hold=slack.hold_seconds, threads=config.runtime.threads)
    if poster is None:
        from notifier.destinations.slack.deliver import SlackDelivery, make_client  # noqa: PLC0415

        poster = SlackDelivery(make_client(slack.token, slack.api_url, pacer=pacer), pacer)
    threads = None
    if stores.streaks is not None:
        threads = Threads(
            stores.streaks,
            notify_on_recovery=slack.notify_on_recovery,
            expiry=timedelta(days=slack.streak_expiry_days),
            # A root being posted holds its streak as long as a claim holds its message.
            lease=timedelta(seconds=config.state.lease_seconds),
        )
    actions = frozenset(config.actions.allowed) if config.actions.enabled else None
    return SlackDestination(poster, threads, pacer, slack.defaults, actions)


def make_sources(
    config: Config,
    vertex: VertexEnricher,
    interval: IntervalGate | None = None,
    history: History | None = None,
    actions: Actions | None = None,
    digests: Digests | None = None,
) -> Sources:
    """The sources, reading Vertex AI through ``vertex``; ``interval`` keeps sweeps one per
    interval (in this process when None); ``history`` gives the sweep each pipeline's usual time;
    ``actions``: clicks, with ``ACTIONS_TOPIC``; ``digests``: the weekly digest's requests."""
    policy = Policy.of(config.history)
    return Sources(
        JobEvents(vertex.enrich, config.scope.scope),
        Sweep(
            config,
            vertex.list_jobs,
            lambda status, details: stuck_after_hours(config, status, details),
            console_url,
            interval=interval,
            schedules=make_schedule_check(config, vertex) if config.schedules.enabled else None,
            baselines=(lambda key, now: history.baseline(key, now, policy)) if history is not None else None,
        ),
        actions,
        digests,
    )


def make_digests(config: Config, stores: Stores, destinations: tuple[Destination, ...]) -> Digests:
    """The weekly digest's requests and what sends them: from run history (none without it, and the
    request is refused), each target's digest claimed once in ``DEDUP_COLLECTION``."""
    from notifier.sources.digest import Digests  # noqa: PLC0415

    history = stores.history
    if history is None or not config.digest.enabled:
        return Digests(config, None)

    # Made on the first request, not at start: a weekly request need not cost every cold start.
    @functools.cache
    def runner() -> Any:
        from notifier.digest import DigestRun  # noqa: PLC0415 - only with history, on the first digest
        from notifier.state.schedule_warnings import sent_between  # noqa: PLC0415

        client = getattr(history, "client", None)
        return DigestRun(
            config,
            destinations,
            lambda period: history.runs_between(period.start, period.end),
            (lambda period: sent_between(client, config.state.collection, period.start, period.end))
            if client is not None
            else None,
            stores.claims,
        )

    return Digests(config, lambda request: runner().run(request))


def make_schedule_check(config: Config, vertex: VertexEnricher, credentials: Any = None) -> ScheduleCheck:
    """The sweep's check of Vertex AI Schedules: listed with their own client (made on first use),
    their runs through ``vertex``."""
    reader = ScheduleReader(
        config.vertex_endpoint_for,
        config.vertex.timeout_seconds,
        credentials=credentials,
        max_clients=len(config.scope.regions),
    )
    return ScheduleCheck(
        config.scope.scope,
        SchedulePolicy(grace=timedelta(minutes=config.schedules.grace_minutes)),
        reader.list_schedules,
        vertex.has_job,
        schedule_console_url,
    )


def make_actions(config: Config, vertex: VertexEnricher, stores: Stores) -> Actions | None:
    """Clicks from ``ACTIONS_TOPIC`` and the worker that does them (None without ``ACTIONS_TOPIC``).

    The worker talks to Slack with its own client (unpaced: a click's few calls are rare
    beside the notifications) and to Vertex AI through the notifier's own clients.
    """
    if not config.actions.enabled:
        return None
    from slack_sdk.webhook import WebhookClient  # noqa: PLC0415 - only with actions

    from notifier.actions.access import Access  # noqa: PLC0415
    from notifier.actions.payload import response_origins  # noqa: PLC0415
    from notifier.actions.runs import Runs  # noqa: PLC0415
    from notifier.actions.worker import Worker  # noqa: PLC0415
    from notifier.destinations.slack.deliver import SlackDelivery, make_client  # noqa: PLC0415
    from notifier.sources.actions import Actions  # noqa: PLC0415

    slack = SlackDelivery(make_client(config.slack.token, config.slack.api_url))

    def respond(url: str, body: Mapping[str, Any]) -> None:
        response = WebhookClient(url, timeout=5).send_dict(dict(body))
        if response.status_code != 200:
            raise RuntimeError(f"the response_url answered {response.status_code}")

    worker = Worker(
        config=config,
        access=Access(config.actions, slack.group_members),
        mutes=stores.mutes,
        runs=Runs(vertex),
        slack=slack,
        respond=respond,
        once=stores.once,
        streaks=stores.streaks,
    )
    return Actions(config.actions, response_origins(config.slack.api_url), worker.run)
