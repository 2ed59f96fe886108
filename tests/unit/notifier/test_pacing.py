"""The pacer every destination shares: a place in its target's queue, waits capped by the hold,
quiet targets kept free of busy ones, and Retry-After moving a whole target back."""

from __future__ import annotations

import threading

import pytest

from notifier.errors import DeferredError
from notifier.pacing import Pacer
from sandbox.procs import wait_until


def test_a_busy_channel_hands_the_message_back_before_any_work() -> None:
    pacer = Pacer(per_second=0.01, hold=30)  # one slot per 110 s
    pacer.reserve("C1").wait()  # the first post goes at once
    pacer.reserve("C2").wait()  # other channels have their own slots
    with pytest.raises(DeferredError, match="C1 is busy"):
        pacer.reserve("C1")  # the next slot is beyond the 30 s a request may hold


def test_a_released_place_is_given_back() -> None:
    pacer = Pacer(per_second=10, hold=0.15)  # slots 0.11 s apart
    pacer.reserve("C1").wait()
    second = pacer.reserve("C1")  # waits one slot
    with pytest.raises(DeferredError):
        pacer.reserve("C1")  # two slots: past the hold
    second.release()  # e.g. a duplicate: nothing to post
    pacer.reserve("C1").release()  # its place is free again


def test_long_waits_are_capped_so_quiet_channels_keep_their_slots() -> None:
    pacer = Pacer(per_second=1, hold=30, max_waiting=2)  # slots 1.1 s apart
    pacer.reserve("BUSY").wait()
    kept = [pacer.reserve("BUSY") for _ in range(4)]  # 1.1 s and 2.2 s are short; 3.3 and 4.4 s long
    assert pacer.waiting() == 2
    with pytest.raises(DeferredError, match="already wait for busy channels"):
        pacer.reserve("BUSY")  # 5.5 s would be a third long wait
    pacer.reserve("QUIET").wait()  # an idle channel is admitted whatever the cap
    pacer.reserve("QUIET").release()  # and so is a short wait behind it
    for ticket in kept:
        ticket.release()
    assert pacer.waiting() == 0


def test_the_last_delivery_attempt_waits_longer_and_goes_first() -> None:
    pacer = Pacer(per_second=2, hold=1.2)  # slots 0.55 s apart
    pacer.reserve("C1").wait()
    queued = [pacer.reserve("C1"), pacer.reserve("C1")]  # 0.55 s and 1.1 s
    with pytest.raises(DeferredError):
        pacer.reserve("C1")  # 1.65 s: longer than the hold
    last = pacer.reserve("C1", final_attempt=True)  # within twice the hold
    order: list[str] = []
    lock = threading.Lock()

    def post(name: str, ticket) -> None:
        ticket.wait()
        with lock:
            order.append(name)

    threads = [
        threading.Thread(target=post, args=(name, ticket))
        for name, ticket in (
            ("first queued", queued[0]),
            ("second queued", queued[1]),
            ("last attempt", last),
        )
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: all(t.ready for t in (*queued, last)), timeout=5, message="three waiting posts")
    for thread in threads:
        thread.join(timeout=10)
    assert order == ["last attempt", "first queued", "second queued"]


def test_a_ticket_overtaken_by_retry_after_is_handed_back() -> None:
    pacer = Pacer(per_second=100, hold=0.2)
    ticket = pacer.reserve("C1")
    pacer.defer("C1", 2.0)  # Slack said Retry-After: 2, past this ticket's hold
    with pytest.raises(DeferredError, match="fell behind"):
        ticket.wait()


def test_an_instance_keeps_a_quarter_of_its_request_slots_for_quiet_channels() -> None:
    assert Pacer.for_instance(1, hold=25, threads=80).max_waiting == 60
    assert Pacer.for_instance(1, hold=25, threads=4).max_waiting == 2
    assert Pacer.for_instance(1, hold=25, threads=0).max_waiting is None
