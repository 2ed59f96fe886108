"""A failing streak as an incident: its identity outside any channel, and when to page or resolve.

Slack's streak is a pipeline's consecutive failures as posted to one channel
(``streak_rules``). A page belongs to the pipeline itself: its streak of failures is kept
per pipeline, project and paging service (``incident_streak``: a ``StreakKey`` whose
"channel" is ``pagerduty/<service>/<project>``, stored beside Slack's streaks and
decided by the same pure ``streak_rules.decide``, so runs are ordered by their own time
and a run is never counted twice).

Its *id* (``incident_key``) is made of the project, the pipeline's name and the run that
opened the streak (``Streak.root_run``): stable for as long as the streak is open, new
for the next one. PagerDuty de-duplicates by it (``dedup_key``): every failure of the
streak triggers the same key (one incident, its alert count going up, nobody paged
twice), and the recovery resolves it. ``page_action`` says which, from the decision:

- a FAILED run counted in an open streak (its root, or a reply): ``trigger``;
- the SUCCEEDED run that closed the streak (the recovery, ``Line.RECOVERED``): ``resolve``;
- anything else (a failure older than the last success, a success with no open streak, a
  cancellation, a redelivery of a run already paged for): nothing.

Pure: no I/O. The store is ``state.streaks.FirestoreStreaks``; without one (no
``DEDUP_COLLECTION``) a destination pages per pipeline (``incident_key`` without a first
failure) and resolves on every success.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

from notifier.model import FAILED, SUCCEEDED
from notifier.state.streak_rules import Decision, Line, Policy, Post, StreakKey

TRIGGER = "trigger"
RESOLVE = "resolve"
# An incident stays open until its pipeline recovers: its streak never needs a new root.
INCIDENT_EXPIRY = timedelta(days=3650)
_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9._-]+")
KEY_NAME_MAX = 100  # of the pipeline's name in a key (PagerDuty allows 255 characters in all)


@dataclass(frozen=True)
class PageAction:
    """What to tell the paging service for one run: ``trigger`` or ``resolve`` the incident ``key``."""

    action: str
    key: str
    failures: int = 0  # the streak's failures so far


def incident_streak(pipeline: str, project: str, service: str) -> StreakKey:
    """Where the streak of ``pipeline``'s pages to ``service`` is kept (apart from any Slack channel's)."""
    return StreakKey(pipeline, f"pagerduty/{service}/{project}")


def incident_key(project: str, pipeline: str, first_failure: str = "") -> str:
    """The streak's id: ``vertex-pipeline/<pipeline>/<digest of project, pipeline, first failure>``.

    Readable in PagerDuty (the pipeline's name, its characters outside ``[A-Za-z0-9._-]``
    as ``-``), unique by the digest, at most 150 characters.
    """
    digest = hashlib.sha256(f"{project}\n{pipeline}\n{first_failure}".encode()).hexdigest()[:32]
    readable = _NOT_IN_KEY.sub("-", pipeline)[:KEY_NAME_MAX].strip("-") or "pipeline"
    return f"vertex-pipeline/{readable}/{digest}"


def incident_policy(lease: timedelta) -> Policy:
    """The streak decision's settings for pages: every run counts (on_failure_only plays no part),
    recoveries always resolve, an incident's root never expires."""
    return Policy(on_failure_only=False, notify_on_recovery=True, expiry=INCIDENT_EXPIRY, lease=lease)


def page_action(decision: Decision, state: str, project: str, pipeline: str) -> PageAction | None:
    """Trigger, resolve or nothing, for a run in ``state`` the streak store decided on."""
    streak = decision.streak
    if not streak.root_run:
        return None
    key = incident_key(project, pipeline, streak.root_run)
    if state == FAILED and streak.open and decision.post in (Post.ROOT, Post.REPLY):
        return PageAction(TRIGGER, key, streak.failures)
    if state == SUCCEEDED and not streak.open and decision.line == Line.RECOVERED:
        return PageAction(RESOLVE, key, streak.failures)
    return None


def stateless_action(state: str, project: str, pipeline: str) -> PageAction | None:
    """Without a streak store: one incident per pipeline, triggered by failures, resolved by successes."""
    if state == FAILED:
        return PageAction(TRIGGER, incident_key(project, pipeline))
    if state == SUCCEEDED:
        return PageAction(RESOLVE, incident_key(project, pipeline))
    return None
