"""The PagerDuty destination: one incident per failing streak of a pipeline, per service.

Each failure of a streak triggers the streak's incident (``state.incidents``: its
``dedup_key`` is the streak's id, so a repeated failure updates the one incident and
pages nobody twice), the recovery resolves it. The streak is kept in Firestore beside
Slack's (``state.streaks``), keyed by pipeline, project and service; without a store
(no ``DEDUP_COLLECTION``) there is one incident per pipeline, resolved by any success.

It pages a person: never for a notice Vertex AI did not confirm (routes name no service
then, and ``send`` refuses all the same). Events are paced per service (PagerDuty's rate
is per routing key): a 429 hands the message back to Pub/Sub.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from notifier.destinations import Delivery, Paced
from notifier.destinations.content import build
from notifier.destinations.pagerduty.render import resolve, trigger
from notifier.errors import PermanentError
from notifier.model import FAILED, SUCCEEDED, FinalStatus, JobDetails, Receipt, Route, pipeline_name
from notifier.names import NameRejectedError, parse_job_name
from notifier.pacing import Pacer, Ticket
from notifier.state.incidents import (
    RESOLVE,
    PageAction,
    incident_policy,
    incident_streak,
    page_action,
    stateless_action,
)
from notifier.state.streak_rules import Decision, Policy, Post, Run, StreakKey, StreaksUnavailableError

log = logging.getLogger("notifier")


class Events(Protocol):
    """Sends events (``deliver.PagerDutyEvents`` in production)."""

    pacer: Pacer

    def send(
        self, routing_key: str, event: dict[str, Any], service: str, ticket: Ticket | None = None
    ) -> str:
        """Send one event with ``routing_key``; returns PagerDuty's dedup_key."""


class StreakStore(Protocol):
    """Streak state with atomic decisions (``state.streaks.FirestoreStreaks``)."""

    def decide(self, key: StreakKey, run: Run, policy: Policy, *, gone_root: str = "") -> Decision:
        """Decide for ``run`` and store the new state atomically."""

    def record_root(self, key: StreakKey, run: Run, ref: str, body: str) -> bool:
        """Record that the streak's root (here: its incident) exists."""


def run_project(status: FinalStatus, details: JobDetails | None) -> str:
    """The run's project as Vertex AI names it (its number), else as the status does."""
    try:
        return parse_job_name(details.name).project if details and details.name else status.project
    except NameRejectedError:
        return status.project


class PagerDutyDestination(Paced):
    """Triggers and resolves one incident per failing streak, on each service the route names."""

    name = "pagerduty"
    pages = True

    def __init__(
        self,
        events: Events,
        routing_keys: Mapping[str, str],
        *,
        severity: str = "error",
        streaks: StreakStore | None = None,
        lease: timedelta = timedelta(minutes=2),
        slack_thread: Callable[[str, tuple[str, ...]], str] | None = None,
        defaults: tuple[str, ...] = (),
    ) -> None:
        super().__init__(events.pacer, defaults)
        self._events = events
        self._keys = dict(routing_keys)
        self._severity = severity
        self._streaks = streaks
        self._policy = incident_policy(lease)
        self._slack_thread = slack_thread

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """Failures (a trigger) and successes (which may resolve), whatever on_failure_only says."""
        return status.state in (FAILED, SUCCEEDED)

    def send(self, delivery: Delivery, address: str, admission: Ticket | None = None) -> Receipt | None:
        """Trigger or resolve the streak's incident on the service ``address``; None when there is nothing to say."""
        if delivery.enrichment.unverified:
            return None  # never page anyone on an unconfirmed claim
        routing_key = self._keys.get(address)
        if routing_key is None:  # Config checks the names at start-up; a stale route would land here
            raise PermanentError(f"no PagerDuty service named {address!r}")
        status, details = delivery.status, delivery.enrichment.details
        pipeline = pipeline_name(status, details)
        project = run_project(status, details)
        key = incident_streak(pipeline, project, address)
        run = Run(
            id=(details.name if details else "") or status.pipeline_job_resource_name,
            state=status.state,
            time=(details and (details.create_time or details.start_time)) or delivery.reference_time,
            label=status.job_id,
        )
        decision, action = self._decide(key, run, project, pipeline)
        if action is None:
            log.info(
                "PagerDuty %s: nothing to trigger or resolve for %s (%s)", address, pipeline, status.state
            )
            return None
        if action.action == RESOLVE:
            event = resolve(action.key)
        else:
            content = build(status, delivery.enrichment, reference_time=delivery.reference_time)
            event = trigger(
                content,
                dedup_key=action.key,
                severity=delivery.route.severity or self._severity,
                when=delivery.reference_time,
                failures=action.failures,
                slack_thread=self._thread(pipeline, delivery.route),
            )
        self._events.send(routing_key, event, address, admission)
        if decision is not None and decision.post == Post.ROOT and action.action != RESOLVE:
            self._record(key, run, action.key)
        log.info("PagerDuty %s: %s of incident %s (%s)", address, action.action, action.key, pipeline)
        return Receipt(self.name, address, f"{action.action} {action.key}")

    def _decide(
        self, key: StreakKey, run: Run, project: str, pipeline: str
    ) -> tuple[Decision | None, PageAction | None]:
        if self._streaks is not None and run.id:
            try:
                decision = self._streaks.decide(key, run, self._policy)
                return decision, page_action(decision, run.state, project, pipeline)
            except StreaksUnavailableError as exc:
                # A page must not wait for Firestore: one incident per pipeline until it is back.
                log.warning("Incident streaks unavailable (%s); paging per pipeline", exc)
        return None, stateless_action(run.state, project, pipeline)

    def _record(self, key: StreakKey, run: Run, incident: str) -> None:
        assert self._streaks is not None
        try:
            self._streaks.record_root(key, run, incident, "")
        except Exception as exc:  # noqa: BLE001 - triggered already: never redeliver for this
            log.warning("Triggered incident %s but could not record it (%s)", incident, exc)

    def _thread(self, pipeline: str, route: Route) -> str:
        if self._slack_thread is None:
            return ""
        try:
            return self._slack_thread(pipeline, route.addresses("slack"))
        except Exception as exc:  # noqa: BLE001 - a link is a nicety: the page goes out without it
            log.warning("Could not find the Slack thread of %s: %s", pipeline, exc)
            return ""
