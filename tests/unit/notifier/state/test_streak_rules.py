"""The streak state machine (``state.streak_rules.decide``): pure, so every case is a few lines.

Runs are ordered by their own time (the job's create time), never by arrival or by this
function's clock; a run already decided on is never counted twice.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.model import CANCELLED, FAILED, SUCCEEDED
from notifier.state.streak_rules import (
    MARKS_MAX,
    Line,
    Policy,
    Post,
    Streak,
    StreakPendingError,
    decide,
)
from tests.support.streakdata import NOW, POLICY, play, posted, run


def test_the_first_failure_ever_roots_a_streak() -> None:
    [decision], streak = play(run(1))
    assert decision.post == Post.ROOT and decision.line == Line.NONE and not decision.update_root
    assert streak.open and streak.failures == 1 and streak.since == run(1).time
    assert streak.last_failure == "nightly-1"
    assert decision.changed


def test_fail_fail_fail_succeed_is_one_root_two_replies_and_a_recovery() -> None:
    decisions, streak = play(run(1), run(2), run(3), run(4, SUCCEEDED))
    assert [d.post for d in decisions] == [Post.ROOT, Post.REPLY, Post.REPLY, Post.RECOVERY]
    assert [d.update_root for d in decisions] == [False, True, True, True]
    assert {d.root_ref for d in decisions[1:]} == {f"ts-{run(1).id}"}
    assert [d.streak.failures for d in decisions] == [1, 2, 3, 3]
    assert [d.root_line for d in decisions[1:]] == [Line.FAILING, Line.FAILING, Line.RECOVERED]
    assert decisions[3].line == Line.RECOVERED
    assert not streak.open and streak.failures == 3 and streak.since == run(1).time
    assert streak.last_failure == "nightly-3"


def test_later_successes_behave_as_without_threads() -> None:
    decisions, streak = play(run(1), run(2, SUCCEEDED), run(3, SUCCEEDED), run(4, SUCCEEDED))
    assert [d.post for d in decisions[2:]] == [Post.TOP, Post.TOP]
    assert not any(d.update_root for d in decisions[2:])
    quiet, _ = play(run(5, SUCCEEDED), policy=Policy(on_failure_only=True), state=streak)
    assert quiet[0].post == Post.NONE


def test_the_recovery_is_sent_under_on_failure_only() -> None:
    policy = Policy(on_failure_only=True)
    decisions, _ = play(run(1), run(2), run(3, SUCCEEDED), policy=policy)
    assert decisions[2].post == Post.RECOVERY and decisions[2].update_root


def test_without_notify_on_recovery_on_failure_only_still_closes_the_streak_silently() -> None:
    policy = Policy(on_failure_only=True, notify_on_recovery=False)
    decisions, streak = play(run(1), run(2), run(3, SUCCEEDED), policy=policy)
    assert decisions[2].post == Post.NONE and decisions[2].update_root  # the root says "recovered"
    assert not streak.open
    # ... and the next failure roots a new streak instead of continuing the old one.
    [again], streak = play(run(4), state=streak, policy=policy)
    assert again.post == Post.ROOT and streak.failures == 1
    # Without on_failure_only the success is posted anyway, in the thread.
    decisions, _ = play(run(1), run(2, SUCCEEDED), policy=Policy(notify_on_recovery=False))
    assert decisions[1].post == Post.RECOVERY


def test_a_success_first_and_without_a_streak() -> None:
    [decision], streak = play(run(1, SUCCEEDED))
    assert decision.post == Post.TOP and not streak.open and streak.last_success_time == run(1).time
    [decision], _ = play(run(1, SUCCEEDED), policy=Policy(on_failure_only=True))
    assert decision.post == Post.NONE


def test_a_redelivered_failure_is_not_counted_twice() -> None:
    decisions, streak = play(run(1), run(2), run(2), run(2))
    assert [d.post for d in decisions] == [Post.ROOT, Post.REPLY, Post.REPLY, Post.REPLY]
    assert streak.failures == 2
    assert not decisions[3].changed  # nothing new to store


def test_a_redelivered_root_is_posted_again_only_while_unrecorded() -> None:
    first = decide(None, run(1), POLICY, NOW)
    # The post failed (no ts recorded): the redelivery posts the root, with a fresh lease.
    retry = decide(first.streak, run(1), POLICY, NOW + timedelta(seconds=30))
    assert retry.post == Post.ROOT and retry.streak.failures == 1
    assert retry.streak.root_pending_until == NOW + timedelta(seconds=30) + POLICY.lease
    # Recorded: nothing more to post.
    done = decide(posted(retry), run(1), POLICY, NOW + timedelta(minutes=1))
    assert done.post == Post.NONE and done.streak.failures == 1


def test_a_redelivered_recovery_goes_to_the_same_thread_once_more_without_recounting() -> None:
    decisions, streak = play(run(1), run(2, SUCCEEDED))
    again = decide(streak, run(2, SUCCEEDED), POLICY, NOW)
    assert again.post == Post.RECOVERY and again.root_ref == decisions[1].root_ref
    assert again.streak == streak


def test_another_failure_waits_while_the_root_is_being_posted_then_takes_it_over() -> None:
    first = decide(None, run(1), POLICY, NOW)  # claimed, not yet recorded
    with pytest.raises(StreakPendingError, match="being posted"):
        decide(first.streak, run(2), POLICY, NOW + timedelta(seconds=5))
    # The delivery that claimed it died: after the lease the next failure posts the root.
    late = decide(first.streak, run(2), POLICY, NOW + POLICY.lease + timedelta(seconds=1))
    assert late.post == Post.ROOT and late.line == Line.FAILING  # the streak goes on: 2 runs
    assert late.streak.root_run == run(2).id and late.streak.failures == 2
    # The first delivery comes back: it replies in the new root's thread instead.
    back = decide(posted(late), run(1), POLICY, NOW + POLICY.lease + timedelta(seconds=2))
    assert back.post == Post.REPLY and back.streak.failures == 2


def test_an_older_failure_arriving_after_a_newer_success_reopens_nothing() -> None:
    decisions, streak = play(run(2, SUCCEEDED), run(1))
    assert decisions[1].post == Post.TOP and not streak.open and streak.failures == 0
    # After a whole streak and its recovery, too.
    decisions, streak = play(run(1), run(2), run(3, SUCCEEDED), run(0))
    assert decisions[3].post == Post.TOP and not streak.open and streak.failures == 2


def test_an_older_success_arriving_after_a_newer_failure_closes_nothing() -> None:
    decisions, streak = play(run(2), run(1, SUCCEEDED))
    assert decisions[1].post == Post.TOP and not decisions[1].update_root
    assert streak.open and streak.failures == 1
    assert play(run(2), run(1, SUCCEEDED), policy=Policy(on_failure_only=True))[0][1].post == Post.NONE


def test_a_late_success_from_inside_the_streak_shortens_it_but_keeps_it_open() -> None:
    # Nights 1, 3 and 4 failed; night 2 succeeded but its message came last.
    decisions, streak = play(run(1), run(3), run(4), run(2, SUCCEEDED))
    assert decisions[3].post == Post.TOP
    assert streak.open and streak.failures == 2 and streak.since == run(3).time
    # A later success then closes what is really the streak: 2 failed runs.
    [recovery], streak = play(run(5, SUCCEEDED), state=streak)
    assert recovery.post == Post.RECOVERY and streak.failures == 2


def test_an_older_failure_inside_the_streak_is_counted_and_moves_its_start() -> None:
    decisions, streak = play(run(3), run(2))
    assert decisions[1].post == Post.REPLY and streak.failures == 2
    assert streak.since == run(2).time and streak.last_failure == "nightly-3"  # the newest stays "last"


def test_order_is_the_runs_own_time_not_this_functions_clock() -> None:
    # This instance's clock is a month behind the runs' own times.
    skewed = NOW - timedelta(days=30)
    decisions, streak = play(run(1), run(2), run(3, SUCCEEDED), now=skewed)
    assert [d.post for d in decisions] == [Post.ROOT, Post.REPLY, Post.RECOVERY]
    # Two instances whose clocks disagree: the root claimed "in the future" is not expired.
    [first], streak = play(run(4), now=NOW + timedelta(hours=1))
    [reply], _ = play(run(5), now=NOW - timedelta(hours=1), state=streak)
    assert first.post == Post.ROOT
    assert reply.post == Post.REPLY and reply.root_ref == f"ts-{run(4).id}"


def test_equal_times_arrival_decides() -> None:
    decisions, streak = play(run(1, day=1), run(2, SUCCEEDED, day=1))
    assert decisions[1].post == Post.RECOVERY and not streak.open


def test_a_cancelled_run_is_neutral() -> None:
    [decision], streak = play(run(1, CANCELLED))
    assert decision.post == Post.TOP and not streak.open
    decisions, streak = play(run(1), run(2, CANCELLED), run(3))
    assert decisions[1].post == Post.REPLY and not decisions[1].update_root
    assert streak.failures == 2 and streak.last_failure == "nightly-3"
    # It does not close the streak either.
    assert streak.open


def test_an_expired_root_starts_a_new_root_and_the_streak_goes_on() -> None:
    policy = Policy(expiry=timedelta(days=14))
    _, streak = play(run(1), now=NOW)
    later = NOW + timedelta(days=15)
    [again], streak = play(run(16), now=later, state=streak, policy=policy)
    assert again.post == Post.ROOT and again.line == Line.FAILING
    assert streak.failures == 2 and streak.since == run(1).time and streak.root_run == run(16).id
    [reply], streak = play(run(17), now=later, state=streak, policy=policy)
    assert reply.post == Post.REPLY and reply.root_ref == f"ts-{run(16).id}"
    # The recovery of a streak whose root expired stands alone, saying it recovered.
    [recovery], _ = play(run(40, SUCCEEDED), now=later + timedelta(days=20), state=streak, policy=policy)
    assert recovery.post == Post.TOP and recovery.line == Line.RECOVERED and not recovery.update_root


def test_a_deleted_root_is_replaced_by_one_delivery_while_the_other_waits() -> None:
    decisions, streak = play(run(1), run(2))
    gone = decisions[1].root_ref
    # Two failures find the root gone at once; the first to decide takes the new root.
    new = decide(streak, run(2), POLICY, NOW, gone_root=gone)
    assert new.post == Post.ROOT and new.line == Line.FAILING and new.streak.failures == 2
    with pytest.raises(StreakPendingError):
        decide(new.streak, run(3), POLICY, NOW, gone_root=gone)
    reply = decide(posted(new, "ts-new"), run(3), POLICY, NOW, gone_root=gone)
    assert reply.post == Post.REPLY and reply.root_ref == "ts-new" and reply.streak.failures == 3


def test_a_deleted_root_at_recovery_gives_a_top_level_recovery() -> None:
    decisions, streak = play(run(1), run(2, SUCCEEDED))
    again = decide(streak, run(2, SUCCEEDED), POLICY, NOW, gone_root=decisions[1].root_ref)
    assert again.post == Post.TOP and again.line == Line.RECOVERED and not again.update_root


def test_marks_are_bounded() -> None:
    runs = [run(n) for n in range(MARKS_MAX + 20)]
    _, streak = play(*runs)
    assert len(streak.marks) == MARKS_MAX and streak.failures == MARKS_MAX + 20


# --- properties: any arrival order, any redeliveries ---------------------------------------

states = st.sampled_from([FAILED, FAILED, SUCCEEDED, CANCELLED])


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(states, min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
    repeats=st.lists(st.integers(min_value=0, max_value=11), max_size=6),
    on_failure_only=st.booleans(),
)
def test_any_arrival_order_ends_in_the_state_the_runs_own_order_gives(
    history: list[str], order, repeats: list[int], on_failure_only: bool
) -> None:
    runs = [run(n, state) for n, state in enumerate(history)]
    arrivals = list(runs)
    order.shuffle(arrivals)
    for index in repeats:  # redeliveries, anywhere after the first delivery
        if index < len(runs):
            position = arrivals.index(runs[index])
            arrivals.insert(order.randint(position + 1, len(arrivals)), runs[index])
    policy = Policy(on_failure_only=on_failure_only)
    streak: Streak | None = None
    for arrival in arrivals:
        decision = decide(streak, arrival, policy, NOW)
        # A root opens a streak only when none is open: never two roots without a close between.
        if decision.post == Post.ROOT:
            assert streak is None or not streak.open
        streak = posted(decision)

    final = [r for r in runs if r.state in (FAILED, SUCCEEDED)]
    last_success = max((r.time for r in final if r.state == SUCCEEDED), default=None)
    expected = [r for r in final if r.state == FAILED and (last_success is None or r.time > last_success)]
    # Open exactly when the newest run that succeeded or failed failed, whatever the arrival order.
    assert streak.open == bool(final and final[-1].state == FAILED)
    if streak.open:
        # Counted once each, however often delivered: the failures since the last success.
        assert streak.failures == len(expected)
        assert streak.since == min(r.time for r in expected)
        assert streak.last_failure == expected[-1].label
