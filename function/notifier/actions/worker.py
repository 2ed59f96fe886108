"""Do what a verified click asks, if its user may, and say what happened in Slack.

For each click (``payload.Click``, from ``sources.actions``): who may (``access``), whether
the run is in scope (``ALLOWED_PROJECTS``, ``ALLOWED_REGIONS``), what Vertex AI says about
it (the pipeline, the state, the service account: never the payload's word), then one of

- *acknowledge*: the pipeline's failing streak mentions no one until it succeeds;
- *mute* / *unmute*: 24 hours without mentions or SMS, or no longer;
- *cancel* (opt-in): ``pipelineJobs.cancel`` of a run still going, once per run;
- *retry* (opt-in): a new run of a failed one (``runs.Runs.retry``) as its own service
  account, which must be in ``RETRY_SERVICE_ACCOUNTS``, once per failed run.

The clicked message is drawn again (``chat.update``) with its buttons as things now stand,
a line goes into its thread saying who did what, and a streak's root is redrawn too. A
refused click is told why, to its user alone (``response_url``, ephemeral). Every click
ends in one audit record (``Audit:`` at INFO, its fields in ``json_fields.audit``): who,
what, which run, and the result. Cancel and retry hold a claim (``state.once``) on the run
for as long as the delivery claims last, so two clicks, or Pub/Sub's redelivery, make one
cancel and one new run; a failure gives the claim back before Pub/Sub tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from notifier.actions.access import Access
from notifier.actions.commands import MUTE_HOURS, Command
from notifier.actions.interactivity import Once
from notifier.actions.payload import Click
from notifier.actions.runs import RetryRefusedError, Runs, retry_job_id
from notifier.config import Config
from notifier.destinations.slack import thread
from notifier.destinations.slack.render import (
    CANCEL_REQUESTED,
    RETRIED,
    Controls,
    done_lines,
    escape,
    slack_date,
)
from notifier.enrich.calls import describe_failure
from notifier.enrich.vertex import console_url, job_details
from notifier.errors import NotifierError, PermanentError, TransientError, describe
from notifier.logs import log_context
from notifier.model import FAILED, RUNNING_STATES, FinalStatus, JobDetails, Quiet, pipeline_name
from notifier.names import JobName, NameRejectedError, is_slack_user, parse_job_name
from notifier.state.streak_rules import Streak, StreakKey

log = logging.getLogger("notifier.actions")

_TRANSIENT_CODES = frozenset({408, 429, 500, 502, 503, 504})
_NAME_SHOWN = 200


class RefusedError(PermanentError):
    """The click may not be done (who, where, or the run's state): its user is told why."""


class Mutes(Protocol):
    """``state.mutes.FirestoreMutes``."""

    def quiet(self, pipeline: str) -> Quiet: ...
    def acknowledge(
        self, pipeline: str, by: str, run: str, run_time: datetime | None, channel: str
    ) -> tuple[Quiet, bool]: ...
    def mute(self, pipeline: str, by: str, hours: float) -> tuple[Quiet, bool]: ...
    def unmute(self, pipeline: str, by: str) -> tuple[Quiet, bool]: ...


class Slack(Protocol):
    """``destinations.slack.deliver.SlackDelivery``, and the response_url."""

    def post_payload(self, payload: Mapping[str, Any]) -> str: ...
    def update(self, payload: Mapping[str, Any]) -> None: ...


def vertex_error(exc: BaseException, doing: str) -> NotifierError:
    """A failed Vertex AI call as ours: transient when trying again may help, else permanent."""
    cause = getattr(exc, "cause", None) or exc
    code = getattr(cause, "code", None)
    reason = f"{doing}: {describe_failure(exc, 'Vertex AI')}"
    if code in _TRANSIENT_CODES or isinstance(cause, (ConnectionError, TimeoutError)) or cause is not exc:
        return TransientError(reason)
    return PermanentError(reason)


@dataclass
class Worker:
    """Executes clicks; ``run`` is what ``sources.actions`` calls."""

    config: Config
    access: Access
    mutes: Mutes
    runs: Runs
    slack: Slack
    respond: Callable[[str, Mapping[str, Any]], None]  # POST to a click's response_url
    once: Once  # one cancel, one retry per run
    streaks: Any = None  # state.streaks.FirestoreStreaks with threads, to redraw a streak's root
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))

    @property
    def _allowed(self) -> frozenset[str]:
        return frozenset(self.config.actions.allowed)

    def run(self, click: Click) -> None:
        """Do the click (or refuse it), say so in Slack, and leave one audit record."""
        with log_context(job_id=click.job.job, state=click.command.value):
            try:
                result = self._execute(click)
            except RefusedError as exc:
                self._tell(click, f":no_entry: Not done: {exc}")
                self._audit(click, "refused", str(exc))
                return
            except TransientError as exc:
                self._audit(click, "retrying", str(exc))
                raise
            except PermanentError as exc:
                self._tell(click, f":warning: Could not {click.command.value}: {exc}")
                self._audit(click, "failed", str(exc))
                return
            self._audit(click, "done", result)

    def _audit(self, click: Click, result: str, detail: str) -> None:
        record = {
            "user": click.user,
            "team": click.team,
            "action": click.command.value,
            "job": click.job.resource,
            "channel": click.channel,
            "message_ts": click.message_ts,
            "result": result,
            "detail": detail[:300],
        }
        level = logging.WARNING if result in ("failed", "refused") else logging.INFO
        log.log(
            level,
            "Audit: %s of %s by %s in %s: %s (%s)",
            click.command.value,
            click.job.resource,
            click.user,
            click.channel,
            result,
            detail[:300],
            extra={"json_fields": {"audit": record}},
        )

    def _execute(self, click: Click) -> str:
        refusal = self.access.refusal(click.command, click.user)
        if refusal:
            raise RefusedError(refusal)
        if not self.config.scope.scope.admits(click.job):
            raise RefusedError("the run is outside the projects and regions this notifier acts on")
        job = self._get(click.job)
        details = job_details(job)
        try:
            name = parse_job_name(details.name, "job name from Vertex AI")
        except NameRejectedError as exc:
            raise PermanentError(str(exc)) from None
        if not self.config.scope.scope.admits(name):
            raise RefusedError("the run is outside the projects and regions this notifier acts on")
        pipeline = pipeline_name(FinalStatus(details.state, details.name), details)
        step = {
            Command.ACK: self._ack,
            Command.MUTE: self._mute,
            Command.UNMUTE: self._unmute,
            Command.CANCEL: self._cancel,
            Command.RETRY: self._retry,
        }[click.command]
        return step(click, job, details, name, pipeline)

    def _get(self, name: JobName) -> Any:
        try:
            return self.runs.get(name)
        except Exception as exc:  # noqa: BLE001 - classified below
            if getattr(exc, "code", None) == 404:
                raise RefusedError("Vertex AI knows no such run") from None
            raise vertex_error(exc, "reading the run") from None

    # --- acknowledge and mute ---------------------------------------------------------

    def _ack(self, click: Click, job: Any, details: JobDetails, name: JobName, pipeline: str) -> str:
        # No state required: the button is only on failures the notifier confirmed, and Vertex AI may
        # still call a run RUNNING while its exit handler reports the failure.
        streak = self._streak(pipeline, click.channel)
        if streak is not None and not streak.open:
            raise RefusedError("the pipeline has succeeded since: no failing streak is left to acknowledge")
        run_time = details.create_time or details.start_time
        quiet, changed = self.mutes.acknowledge(pipeline, click.user, name.resource, run_time, click.channel)
        self._redraw(click, quiet)
        if not changed:
            when = slack_date(quiet.acked_at) if quiet.acked_at else "earlier"
            self._tell(click, f"Already acknowledged by <@{quiet.acked_by}> at {when}.")
            return f"already acknowledged by {quiet.acked_by}"
        self._reply(
            click,
            f":eyes: <@{click.user}> acknowledged this failure: no more mentions for *{_shown(pipeline)}* "
            "until it succeeds.",
        )
        self._redraw_root(click, pipeline, streak, quiet)
        return "acknowledged"

    def _mute(self, click: Click, job: Any, details: JobDetails, name: JobName, pipeline: str) -> str:
        quiet, _ = self.mutes.mute(pipeline, click.user, MUTE_HOURS)
        until = slack_date(quiet.muted_until) if quiet.muted_until else f"{MUTE_HOURS} h from now"
        self._redraw(click, quiet)
        self._reply(
            click,
            f":mute: <@{click.user}> muted *{_shown(pipeline)}* until {until}: its messages go on, "
            "without mentions or SMS.",
        )
        self._redraw_root(click, pipeline, self._streak(pipeline, click.channel), quiet)
        return f"muted for {MUTE_HOURS} h"

    def _unmute(self, click: Click, job: Any, details: JobDetails, name: JobName, pipeline: str) -> str:
        quiet, changed = self.mutes.unmute(pipeline, click.user)
        self._redraw(click, quiet)
        if not changed:
            self._tell(click, f"*{_shown(pipeline)}* is not muted.")
            return "was not muted"
        self._reply(click, f":loud_sound: <@{click.user}> unmuted *{_shown(pipeline)}*.")
        self._redraw_root(click, pipeline, self._streak(pipeline, click.channel), quiet)
        return "unmuted"

    # --- cancel and retry ---------------------------------------------------------------

    def _claimed(self, key: str, record: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return self.once.claim(key, record)

    def _cancel(self, click: Click, job: Any, details: JobDetails, name: JobName, pipeline: str) -> str:
        # The claim first: a second click, once the first cancelled, is told who did.
        key = f"action#cancel#{name.resource}"
        first = self._claimed(key, {"by": click.user})
        if first is not None:
            self._tell(click, f"Cancelling this run was asked for already, by <@{_user(first)}>.")
            return "cancel already asked for"
        if details.state not in RUNNING_STATES:
            self.once.release(key)
            raise RefusedError(f"the run is not going any more (Vertex AI says {details.state or 'nothing'})")
        try:
            self.runs.cancel(name)
        except Exception as exc:  # noqa: BLE001 - classified; the claim is given back first
            self.once.release(key)
            raise vertex_error(exc, "cancelling the run") from None
        done = f"{CANCEL_REQUESTED} Cancel requested by <@{click.user}> at {slack_date(self.clock())}"
        self._redraw(click, self.mutes.quiet(pipeline), done)
        self._reply(click, f"{CANCEL_REQUESTED} <@{click.user}> asked Vertex AI to cancel `{name.job}`.")
        return "cancel requested"

    def _retry(self, click: Click, job: Any, details: JobDetails, name: JobName, pipeline: str) -> str:
        if details.state in RUNNING_STATES:
            raise RefusedError(
                f"the run has not ended yet (Vertex AI says {details.state}); try again once it has"
            )
        if details.state != FAILED:
            raise RefusedError(f"only a failed run is retried (Vertex AI says {details.state or 'nothing'})")
        account = details.service_account
        if account not in self.config.actions.retry_service_accounts:
            raise RefusedError(
                f"the run's service account ({account or 'the default one'}) is not in RETRY_SERVICE_ACCOUNTS"
            )
        try:
            retry = JobName(name.project, name.region, retry_job_id(name.job))
        except RetryRefusedError as exc:
            raise RefusedError(str(exc)) from None
        link = f"<{console_url(retry)}|{retry.job}>"
        key = f"action#retry#{name.resource}"
        first = self._claimed(key, {"by": click.user, "retry": retry.job})
        if first is not None:
            self._tell(click, f"This run was retried already, by <@{_user(first)}>, as {link}.")
            return "retried already"
        try:
            self.runs.retry(job, name)
            note = ""
        except Exception as exc:  # noqa: BLE001 - classified; the claim is given back first
            if getattr(exc, "code", None) == 409:
                note = " (it existed already)"
            else:
                self.once.release(key)
                raise vertex_error(exc, "creating the retry") from None
        self._redraw(click, self.mutes.quiet(pipeline), f"{RETRIED} Retried by <@{click.user}> as {link}")
        self._reply(
            click,
            f"{RETRIED} <@{click.user}> retried this run as {link}{note}, as `{account}`, with caching on; "
            "its result is reported like any run's.",
        )
        return f"retried as {retry.job}{note}"

    # --- saying so in Slack -------------------------------------------------------------

    def _redraw(self, click: Click, quiet: Quiet, done: str = "") -> None:
        """The clicked message again, its buttons and what was done as things stand now."""
        kept = done_lines(click.message_blocks)
        controls = Controls(
            click.block, click.job.resource, self._allowed, quiet, (*kept, *([done] if done else []))
        )
        payload = thread.with_controls({"blocks": list(click.message_blocks)}, controls)
        self._say(
            lambda: self.slack.update(
                {
                    "channel": click.channel,
                    "ts": click.message_ts,
                    "text": click.message_text,
                    "blocks": payload["blocks"],
                }
            ),
            "redraw the clicked message",
        )

    def _redraw_root(self, click: Click, pipeline: str, streak: Streak | None, quiet: Quiet) -> None:
        """The streak's root as things stand, when the click was on a message in its thread."""
        if streak is None or not streak.open or not streak.root_ref or not streak.root_body:
            return
        if streak.root_ref == click.message_ts:
            return  # the clicked message itself, drawn already
        payload = thread.root_redrawn(click.channel, pipeline, streak, self._allowed, quiet)
        self._say(lambda: self.slack.update(payload), "redraw the streak's root")

    def _reply(self, click: Click, text: str) -> None:
        payload = {"channel": click.channel, "thread_ts": click.thread, "text": text}
        self._say(lambda: self.slack.post_payload(payload), "reply in the thread")

    def _tell(self, click: Click, text: str) -> None:
        """A message to the clicking user alone."""
        body = {"response_type": "ephemeral", "replace_original": False, "text": text}
        self._say(lambda: self.respond(click.response_url, body), "answer the user")

    @staticmethod
    def _say(call: Callable[[], Any], what: str) -> None:
        # What was done stands: failing to say so is logged, never a reason to do it again.
        try:
            call()
        except Exception as exc:  # noqa: BLE001
            log.warning("Could not %s: %s", what, describe(exc))

    def _streak(self, pipeline: str, channel: str) -> Streak | None:
        if self.streaks is None:
            return None
        try:
            return self.streaks.load(StreakKey(pipeline, channel))
        except Exception as exc:  # noqa: BLE001 - the streak only refines what is said
            log.warning("Could not read the streak of %s in %s: %s", pipeline, channel, describe(exc))
            return None


def _shown(pipeline: str) -> str:
    return escape(pipeline[:_NAME_SHOWN])


def _user(record: Mapping[str, Any]) -> str:
    by = record.get("by")
    return by if isinstance(by, str) and is_slack_user(by) else "someone"
