"""Failing streaks: one thread per failing streak of a pipeline in a channel, and a recovery notice.

A *streak* is the run of consecutive failures of one pipeline (``model.pipeline_name``)
as posted to one channel. Its first failure is posted top-level as the *root*; further
failures reply in the root's thread (and the root's streak line is updated); the first
success after it replies in the thread, shown in the channel too, and closes it.

This module is the decision, pure: the stored ``Streak`` and one ``Run`` in, a ``Decision``
out (what to post where, whether to rewrite the root, and the new ``Streak``). Runs are
ordered by their own time (the job's create time from Vertex AI), never by arrival; a run
already counted (its mark is stored) is never counted again. Its store, read, decided and
written in one transaction, is ``state.streaks``.

The rules, for a final state (sweep warnings and other states never reach here):

- FAILED newer than the latest known success: counted in the open streak (opening one,
  posted as its root, when none is open), else a reply in the thread. An older one (a
  success came after it) is posted top-level and changes nothing.
- SUCCEEDED newer than the streak's latest failure: the recovery. It closes the streak;
  the notice is a reply shown in the channel, sent even under ``on_failure_only`` while
  ``notify_on_recovery`` holds. An older success does not close the streak (a newer
  failure still stands); failures it proves came before it leave the streak's count.
- CANCELLED (and any other final state) is neutral: it neither opens, extends nor closes
  a streak; while one is open it replies in the thread, else it is posted top-level.

The root is unusable once deleted (``gone_root``) or older than ``Policy.expiry``; the
streak then goes on (counts kept) under a new root. While one delivery posts the root,
others of the same streak wait (``StreakPendingError``, transient) for its ``ts``.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from notifier.errors import NotifierError, TransientError
from notifier.model import FAILED, SUCCEEDED
from notifier.names import NAME_MAX

MARKS_MAX = 50  # runs remembered per streak document, for idempotency and late successes
RUN_ID_MAX = NAME_MAX  # a run id is a checked job name (``names``); longer ones are never stored


class StreakPendingError(TransientError):
    """Another delivery is posting this streak's root: try again once its ts is known."""


class StreaksUnavailableError(NotifierError):
    """The streak store cannot be read or written; the caller posts as without threads."""


class Post(str, enum.Enum):
    """Where this run's message goes."""

    NONE = "none"  # nothing (a success under on_failure_only, or a root already posted)
    TOP = "top"  # top-level, outside any streak, as without threads
    ROOT = "root"  # top-level, and the root of the streak's thread
    REPLY = "reply"  # in the root's thread
    RECOVERY = "recovery"  # in the root's thread and shown in the channel


class Line(str, enum.Enum):
    """The streak line a message carries at its top."""

    NONE = ""
    FAILING = "failing"  # "Failing for N runs since <date>, last: <run>"
    RECOVERED = "recovered"  # "Recovered after N failed runs"


@dataclass(frozen=True)
class Run:
    """One pipeline run's final state, as far as streaks care."""

    id: str  # the job's resource name, as Vertex AI returns it
    state: str
    time: datetime  # the job's create time (else start time, else publish time): the order of runs
    label: str = ""  # the job id, for messages

    @property
    def name(self) -> str:
        """How messages name the run."""
        return self.label or self.id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Mark:
    """A run this streak document has already decided on."""

    run: str
    state: str
    time: datetime
    post: Post
    line: Line = Line.NONE

    @property
    def counted(self) -> bool:
        """A failure counted in a streak (posted as its root or in its thread)."""
        return self.state == FAILED and self.post in (Post.ROOT, Post.REPLY)


@dataclass(frozen=True)
class Streak:
    """The stored state of one pipeline in one channel."""

    open: bool = False
    failures: int = 0  # of the open streak, or of the last one after it closed
    since: datetime | None = None  # the time of its earliest failure
    last_failure: str = ""  # the newest failure's name
    last_failure_time: datetime | None = None
    last_success_time: datetime | None = None
    root_ref: str = ""  # the root message's id at the destination (Slack: its ts)
    root_run: str = ""  # the run whose message is (or is being posted as) the root
    root_at: datetime | None = None  # when the root was claimed (this function's clock)
    root_pending_until: datetime | None = None  # lease while the root is being posted
    root_body: str = ""  # opaque to this module: what the destination needs to rewrite the root
    marks: tuple[Mark, ...] = ()

    def mark(self, run_id: str) -> Mark | None:
        """This run's mark, if it was decided on before."""
        return next((m for m in self.marks if m.run == run_id), None)


@dataclass(frozen=True)
class Policy:
    """The settings one decision depends on (``on_failure_only`` comes from the route)."""

    on_failure_only: bool = False
    notify_on_recovery: bool = True
    expiry: timedelta = timedelta(days=14)
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class Decision:
    """What to do for one run, and the state after it."""

    post: Post
    streak: Streak
    line: Line = Line.NONE  # the streak line on this run's own message
    root_ref: str = ""  # the thread to reply in, and the root to rewrite
    update_root: bool = False  # rewrite the root's streak line (from ``streak``)
    changed: bool = field(default=False, compare=False)

    @property
    def root_line(self) -> Line:
        """The line a rewritten root carries."""
        return Line.FAILING if self.streak.open else Line.RECOVERED


def decide(state: Streak | None, run: Run, policy: Policy, now: datetime, *, gone_root: str = "") -> Decision:
    """What to post for ``run`` given the stored ``state`` (None: never seen); pure.

    ``now`` is this function's clock: it only measures the root's age and lease, never the
    order of runs. ``gone_root``: the destination found this root deleted or no longer
    editable; the streak goes on under a new root. Raises StreakPendingError while another
    run's delivery holds the lease on posting the root.
    """
    current = state or Streak()
    if gone_root and current.root_ref == gone_root:
        current = replace(
            current, root_ref="", root_run="", root_at=None, root_pending_until=None, root_body=""
        )
    mark = current.mark(run.id)
    if mark is not None:
        decision = _repeat(current, run, mark, policy, now)
    elif run.state == FAILED:
        decision = _failure(current, run, policy, now)
    elif run.state == SUCCEEDED:
        decision = _success(current, run, policy, now)
    else:
        decision = _neutral(current, run, now, policy)
    return replace(decision, changed=decision.streak != state)


def _older_than_success(streak: Streak, run: Run) -> bool:
    return streak.last_success_time is not None and run.time < streak.last_success_time


def _root_usable(streak: Streak, now: datetime, policy: Policy) -> bool:
    if not streak.root_ref:
        return False
    # A clock behind the one that claimed the root gives a negative age: not expired.
    return streak.root_at is None or now - streak.root_at <= policy.expiry


def _remember(streak: Streak, run: Run, post: Post, line: Line = Line.NONE) -> Streak:
    marks = (*streak.marks, Mark(run.id, run.state, run.time, post, line))
    return replace(streak, marks=marks[-MARKS_MAX:])


def _in_thread(streak: Streak, run: Run, policy: Policy, now: datetime, *, update: bool) -> Decision:
    """Reply in the root's thread; without a usable root, this run's message becomes the root."""
    if _root_usable(streak, now, policy):
        return Decision(Post.REPLY, streak, root_ref=streak.root_ref, update_root=update)
    pending = streak.root_pending_until
    if not streak.root_ref and streak.root_run and streak.root_run != run.id and pending and pending > now:
        raise StreakPendingError(
            f"the streak's root is being posted by another delivery (lease until {pending:%H:%M:%S} UTC)"
        )
    return _root(streak, run, policy, now)


def _root(streak: Streak, run: Run, policy: Policy, now: datetime) -> Decision:
    """Post this run's message as the streak's root (leading with the streak, if it has one)."""
    claimed = _claim_root(streak, run, policy, now)
    return Decision(Post.ROOT, claimed, line=Line.FAILING if streak.failures > 1 else Line.NONE)


def _claim_root(streak: Streak, run: Run, policy: Policy, now: datetime) -> Streak:
    return replace(
        streak,
        root_ref="",
        root_run=run.id,
        root_at=now,
        root_pending_until=now + policy.lease,
        root_body="",
    )


def _failure(streak: Streak, run: Run, policy: Policy, now: datetime) -> Decision:
    if _older_than_success(streak, run):
        # A success came after it: it belongs to a period that has ended.
        return Decision(Post.TOP, _remember(streak, run, Post.TOP))
    if not streak.open:
        # A new streak: the previous one's counts are history, and claiming the root
        # replaces the previous root.
        started = replace(
            streak, open=True, failures=1, since=run.time, last_failure=run.name, last_failure_time=run.time
        )
        claimed = _claim_root(started, run, policy, now)
        return Decision(Post.ROOT, _remember(claimed, run, Post.ROOT))
    counted = replace(
        streak,
        failures=streak.failures + 1,
        since=min(streak.since, run.time) if streak.since else run.time,
    )
    if streak.last_failure_time is None or run.time >= streak.last_failure_time:
        counted = replace(counted, last_failure=run.name, last_failure_time=run.time)
    decision = _in_thread(counted, run, policy, now, update=True)
    return replace(decision, streak=_remember(decision.streak, run, decision.post, decision.line))


def _success(streak: Streak, run: Run, policy: Policy, now: datetime) -> Decision:
    latest = streak.last_success_time
    seen = replace(streak, last_success_time=run.time if latest is None or run.time > latest else latest)
    quiet = Post.NONE if policy.on_failure_only else Post.TOP
    if not streak.open:
        return Decision(quiet, _remember(seen, run, quiet))
    if streak.last_failure_time is not None and run.time < streak.last_failure_time:
        # Older than the streak's newest failure: the pipeline is still failing. The
        # failures this success proves came before it are not part of the streak.
        before = [m for m in streak.marks if m.counted and streak.since and streak.since <= m.time < run.time]
        after = [m.time for m in streak.marks if m.counted and m.time >= run.time]
        if before and after:
            seen = replace(seen, failures=max(1, streak.failures - len(before)), since=min(after))
        return Decision(quiet, _remember(seen, run, quiet))
    closed = replace(seen, open=False, root_pending_until=None)
    notify = not policy.on_failure_only or policy.notify_on_recovery
    if _root_usable(streak, now, policy):
        post = Post.RECOVERY if notify else Post.NONE
        return Decision(
            post,
            _remember(closed, run, post, Line.RECOVERED),
            line=Line.RECOVERED,
            root_ref=streak.root_ref,
            update_root=True,
        )
    # No root to reply to (never posted, deleted, too old): the notice stands alone.
    post = Post.TOP if notify else Post.NONE
    return Decision(post, _remember(closed, run, post, Line.RECOVERED), line=Line.RECOVERED)


def _neutral(streak: Streak, run: Run, now: datetime, policy: Policy) -> Decision:
    if streak.open and not _older_than_success(streak, run) and _root_usable(streak, now, policy):
        return Decision(Post.REPLY, _remember(streak, run, Post.REPLY), root_ref=streak.root_ref)
    return Decision(Post.TOP, _remember(streak, run, Post.TOP))


def _repeat(streak: Streak, run: Run, mark: Mark, policy: Policy, now: datetime) -> Decision:
    """A run decided on before (a redelivery after a failed post): same place, nothing counted twice."""
    if mark.post == Post.RECOVERY or (mark.line == Line.RECOVERED and mark.post == Post.TOP):
        if _root_usable(streak, now, policy) and not streak.open:
            return Decision(
                Post.RECOVERY, streak, line=Line.RECOVERED, root_ref=streak.root_ref, update_root=True
            )
        return Decision(mark.post if mark.post == Post.TOP else Post.TOP, streak, line=Line.RECOVERED)
    if mark.counted:
        if streak.root_run == run.id:
            if streak.root_ref:
                return Decision(Post.NONE, streak, root_ref=streak.root_ref)  # posted and recorded
            # This run holds (or held) the root's claim: post it now, with a fresh lease.
            return _root(streak, run, policy, now)
        if streak.open:
            return _in_thread(streak, run, policy, now, update=True)
        if streak.root_ref:
            return Decision(Post.REPLY, streak, root_ref=streak.root_ref)
        return Decision(Post.TOP, streak)
    if mark.post == Post.REPLY:
        if streak.root_ref and _root_usable(streak, now, policy):
            return Decision(Post.REPLY, streak, root_ref=streak.root_ref)
        return Decision(Post.TOP, streak)
    return Decision(mark.post, streak, line=mark.line)


@dataclass(frozen=True)
class StreakKey:
    """Whose streak: a pipeline in a channel."""

    pipeline: str
    channel: str

    @property
    def document_id(self) -> str:
        """A Firestore-safe document id (ids may not contain '/')."""
        return hashlib.sha256(f"{self.pipeline}\n{self.channel}".encode()).hexdigest()
