"""The Slack destination: a Block Kit message (``render``, pure) posted with slack_sdk (``deliver``),
paced per channel (``pacing``), one thread per failing streak (``thread``, pure; the
decision and its store in ``state``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from notifier.destinations import Delivery, Paced
from notifier.destinations.slack import thread
from notifier.destinations.slack.deliver import MessageGoneError
from notifier.destinations.slack.render import Controls, controls_for, render, render_reply
from notifier.errors import NotifierError
from notifier.model import (
    FINAL_STATES,
    SCHEDULE,
    SWEEP,
    Enrichment,
    FinalStatus,
    Quiet,
    Receipt,
    Route,
    pipeline_name,
)
from notifier.names import is_valid_channel
from notifier.pacing import Pacer, Ticket
from notifier.state.streak_rules import (
    Decision,
    Line,
    Policy,
    Post,
    Run,
    StreakKey,
    StreakPendingError,
    StreaksUnavailableError,
)

log = logging.getLogger("notifier")


class Poster(Protocol):
    """Posts and updates messages (``deliver.SlackDelivery`` in production)."""

    def post_payload(self, payload: Mapping[str, Any], ticket: Ticket | None = None) -> str:
        """``chat.postMessage`` with these arguments (when ``ticket`` allows); returns the ts."""

    def update(self, payload: Mapping[str, Any]) -> None:
        """``chat.update``; MessageGoneError when the message can no longer be rewritten."""


class StreakStore(Protocol):
    """Streak state with atomic decisions (``streaks.FirestoreStreaks`` in production)."""

    def decide(self, key: StreakKey, run: Run, policy: Policy, *, gone_root: str = "") -> Decision:
        """Decide for ``run`` and store the new state atomically."""

    def record_root(self, key: StreakKey, run: Run, ref: str, body: str) -> bool:
        """Store the ts of the root ``run`` posted."""


@dataclass(frozen=True)
class Threads:
    """Threads per failing streak (SLACK_THREADS): the store and the settings besides the route's."""

    store: StreakStore
    notify_on_recovery: bool = True
    expiry: timedelta = timedelta(days=14)
    lease: timedelta = timedelta(minutes=2)

    def policy(self, route: Route) -> Policy:
        """The decision's settings for one route."""
        return Policy(route.on_failure_only, self.notify_on_recovery, self.expiry, self.lease)


def run_of(status: FinalStatus, enrichment: Enrichment, reference_time: datetime) -> Run:
    """The run as streaks see it: its own time from Vertex AI, else the message's time."""
    details = enrichment.details
    when = (details and (details.create_time or details.start_time)) or reference_time
    return Run(
        id=(details.name if details else "") or status.pipeline_job_resource_name or status.job_id,
        state=status.state,
        time=when,
        label=status.job_id,
    )


class SlackDestination(Paced):
    """Renders a Block Kit message and posts it to a channel, paced; threads failing streaks.

    ``actions``: None draws no buttons (``ACTIONS_TOPIC`` unset); else failures and runs
    still going get Acknowledge / Mute buttons, and these opt-in ones (``ALLOW_ACTIONS``).
    """

    name = "slack"
    digests = True

    def __init__(
        self,
        poster: Poster,
        threads: Threads | None = None,
        pacer: Pacer | None = None,
        defaults: tuple[str, ...] = (),
        actions: frozenset[str] | None = None,
    ) -> None:
        super().__init__(pacer, defaults)
        self._poster = poster
        self._threads = threads
        self._actions = actions

    def _controls(self, status: FinalStatus, job: str, quiet: Quiet) -> Controls | None:
        """The buttons of a message about ``status`` (None: no buttons here)."""
        if self._actions is None:
            return None
        return controls_for(status, job, quiet, self._actions)

    def accepts(self, status: FinalStatus, route: Route) -> bool:
        """False when nothing can come of this status here: a success under on_failure_only.

        With threads a success may still close a failing streak (and announce the recovery):
        only the streak state can tell, so it is accepted.
        """
        return not route.skips(status) or self._threads is not None

    def send(self, delivery: Delivery, address: str, admission: Ticket | None = None) -> Receipt | None:
        """Post to the channel ``address`` (top-level, as a streak's root, or in its thread); None
        when nothing was posted.

        The post waits for ``admission``, the place ``admit`` took in the channel's queue.
        """
        status, enrichment, route = delivery.status, delivery.enrichment, delivery.route
        pipeline = pipeline_name(status, enrichment.details)
        run = run_of(status, enrichment, delivery.reference_time)
        key = StreakKey(pipeline, address)
        # A notice Vertex AI could not confirm never opens, extends or closes a streak.
        decision = None if enrichment.unverified else self._decide(status, run, key, route)

        # A notice Vertex AI could not confirm gets no buttons: nothing may be done on its word.
        controls = None if enrichment.unverified else self._controls(status, run.id, route.quiet)

        def rendered(mention: str) -> dict[str, Any]:
            message = render(
                status, enrichment, channel=address, mention=mention, reference_time=delivery.reference_time
            )
            payload = message.to_payload()
            return thread.with_controls(payload, controls) if controls is not None else payload

        if decision is None:
            if route.skips(status):
                return None
            meta = thread.run_metadata(status, pipeline, Post.TOP, run.time)
            ts = self._poster.post_payload(thread.message(rendered(route.mention), meta=meta), admission)
            return Receipt(self.name, address, ts)
        return self._follow(decision, key, run, status, route, rendered, admission)

    def reply(
        self, delivery: Delivery, address: str, thread: str, admission: Ticket | None = None
    ) -> Receipt:
        """The short reply in the thread ``thread`` (the ts of the sweep's warning) once the run ended."""
        payload = render_reply(
            delivery.status,
            delivery.enrichment,
            channel=address,
            thread_ts=thread,
            reference_time=delivery.reference_time,
        )
        return Receipt(self.name, address, self._poster.post_payload(payload, admission))

    def takes_digest(self, address: str) -> bool:
        """A channel as routing names them (a run record's address, checked again)."""
        return is_valid_channel(address)

    def send_digest(self, content: Any, address: str, admission: Ticket | None = None) -> Receipt:
        """The weekly digest: its root in the channel, what does not fit in the root's thread. A reply
        that fails after the root went out is logged, never retried (the root must not go twice)."""
        # Imported here: a weekly message need not cost every cold start.
        from notifier.destinations.slack.digest_render import render_digest  # noqa: PLC0415

        payloads = render_digest(content, channel=address)
        ts = self._poster.post_payload(payloads[0], admission)
        for number, payload in enumerate(payloads[1:], 2):
            try:
                self._poster.post_payload({**payload, "thread_ts": ts})
            except NotifierError as exc:
                log.warning(
                    "Digest posted to %s (ts %s), but its part %d of %d could not be: %s",
                    address,
                    ts,
                    number,
                    len(payloads),
                    exc,
                )
                break
        return Receipt(self.name, address, ts)

    def _decide(self, status: FinalStatus, run: Run, key: StreakKey, route: Route) -> Decision | None:
        if self._threads is None or status.state not in FINAL_STATES or status.source in (SWEEP, SCHEDULE):
            return None
        try:
            return self._threads.store.decide(key, run, self._threads.policy(route))
        except StreaksUnavailableError as exc:
            log.warning("Threads unavailable (%s); posting as without threads", exc)
            return None

    def _follow(
        self,
        decision: Decision,
        key: StreakKey,
        run: Run,
        status: FinalStatus,
        route: Route,
        rendered: Any,
        admission: Ticket | None,
    ) -> Receipt | None:
        assert self._threads is not None
        for _ in range(3):  # a deleted root is replaced at most once per attempt; bounded anyway
            if not decision.update_root:
                break
            try:
                self._rewrite_root(decision, key, route.quiet)
                break
            except MessageGoneError as exc:
                log.warning(
                    "The streak's root (ts %s) is gone (%s); starting a new root", decision.root_ref, exc
                )
                decision = self._threads.store.decide(
                    key, run, self._threads.policy(route), gone_root=decision.root_ref
                )
            except NotifierError as exc:
                # Rewriting the root's streak line is a nicety: the reply itself must not be lost.
                log.warning(
                    "Could not update the streak's root (ts %s): %s; replying all the same",
                    decision.root_ref,
                    exc,
                )
                break
        post = decision.post
        if post == Post.NONE:
            log.info(
                "Streak of %s in %s: nothing to post for this run (%s)",
                key.pipeline,
                key.channel,
                status.state,
            )
            return None
        # One mention per streak: on its root (or a run outside any streak), not in the thread.
        mention = route.mention if post in (Post.TOP, Post.ROOT) else ""
        payload = rendered(mention)
        in_streak = post != Post.TOP or decision.line == Line.RECOVERED
        meta = thread.run_metadata(
            status, key.pipeline, post, run.time, decision.streak if in_streak else None
        )
        in_thread = post in (Post.REPLY, Post.RECOVERY)
        ts = self._poster.post_payload(
            thread.message(
                payload,
                meta=meta,
                line=decision.line,
                streak=decision.streak,
                thread_ts=decision.root_ref if in_thread else "",
                broadcast=post == Post.RECOVERY,
            ),
            admission,
        )
        if post == Post.ROOT:
            self._record_root(key, run, ts, payload)
        log.info(
            "Streak of %s in %s: %s%s (%d failed run(s), %s)",
            key.pipeline,
            key.channel,
            post.value,
            f" in the thread of {decision.root_ref}" if in_thread else "",
            decision.streak.failures,
            "open" if decision.streak.open else "closed",
        )
        return Receipt(self.name, key.channel, ts)

    def _rewrite_root(self, decision: Decision, key: StreakKey, quiet: Quiet) -> None:
        streak = decision.streak
        if not streak.root_body:
            log.info(
                "The streak's root (ts %s) was not kept; its streak line is left as it is", decision.root_ref
            )
            return
        payload = thread.root_redrawn(key.channel, key.pipeline, streak, self._actions, quiet)
        self._poster.update(payload)

    def _record_root(self, key: StreakKey, run: Run, ts: str, payload: Mapping[str, Any]) -> None:
        assert self._threads is not None
        try:
            if not self._threads.store.record_root(key, run, ts, thread.root_body(payload)):
                log.warning(
                    "Posted a root (ts %s), but another delivery had taken the streak's root over", ts
                )
        except (StreaksUnavailableError, StreakPendingError) as exc:
            # Posted already: never redeliver for this. The lease expires and the next
            # failure starts a new root.
            log.warning("Posted the streak's root (ts %s) but could not record it (%s)", ts, exc)
