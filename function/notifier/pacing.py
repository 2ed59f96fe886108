"""Pacing shared by every destination: each target (a Slack channel, a Chat space) gets its posts
spaced under its rate limit, across the instance's threads, and a busy target hands messages
back to Pub/Sub instead of holding the instance.

A delivery takes a ``Ticket`` in its target's queue before any work is done for it
(``Pacer.reserve``), waits for its turn (``Ticket.wait``) and posts; a wait longer than the
hold, or a long wait while too many requests already wait, raises ``DeferredError``: the
entry point answers 429 and the push subscription's backoff brings the message back. A
destination that hears 429 from its service moves the target's schedule back by
Retry-After (``Pacer.defer``) and hands the message back the same way.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time

from notifier.errors import DeferredError

log = logging.getLogger("notifier")

_FORGET_ABOVE = 500  # channels remembered before idle ones are swept


class Ticket:
    """A place in one channel's queue, taken before any work is done for the message.

    ``wait()`` blocks until it is this post's turn; ``release()`` gives the place back
    unused (a duplicate, a failed enrichment). A ticket is used or released exactly once.
    """

    def __init__(
        self, pacer: Pacer | None, channel: str, *, priority: bool = False, deadline: float = 0.0
    ) -> None:
        self.channel = channel
        self.priority = priority
        self.deadline = deadline
        self.long_wait = False
        self.ready = False
        self.done = pacer is None
        self._pacer = pacer
        self.seq = 0

    def wait(self) -> None:
        """Block until this post may go; DeferredError if the channel fell too far behind."""
        if self._pacer is not None:
            self._pacer._wait(self)

    def release(self) -> None:
        """Give the place back if it was not used."""
        if self._pacer is not None:
            self._pacer._release(self)


class _Channel:
    def __init__(self, lock: threading.Lock) -> None:
        self.next_free = 0.0  # monotonic time of the earliest next post
        self.tickets: list[Ticket] = []  # admitted, neither posted nor released
        self.turn = threading.Condition(lock)


class Pacer:
    """Spaces posts to each target (a Slack channel, a Chat space) under its limit, across this
    instance's threads.

    Slack allows about one message per second per channel, Chat 60 writes a minute per space. When many pipelines end
    together, racing into 429s and sleeping on Retry-After wastes most of each second;
    queueing here keeps the channel busy at the allowed rate instead. Slots are
    ``headroom`` wider than ``1 / per_second``: a slot is when a request leaves, and
    network jitter must not make two of them arrive closer than the limit.

    A request takes a ``Ticket`` before any work (``reserve``). It may hold its request
    slot for at most ``hold`` seconds of queue ahead of it; a longer wait, or a long wait
    while ``max_waiting`` requests already wait for busy channels, raises DeferredError:
    the message goes back to Pub/Sub and the push backoff brings it later, so a busy
    channel never takes the slots quiet channels need. A message on its last delivery
    attempt may wait twice as long and goes ahead of the others, so that waiting for a
    busy channel never sends it to the dead-letter topic.
    """

    def __init__(
        self,
        per_second: float,
        *,
        hold: float = 25.0,
        max_waiting: int | None = None,
        headroom: float = 0.1,
    ) -> None:
        self.gap = (1.0 + headroom) / per_second if per_second > 0 else 0.0
        self.hold = hold
        self.max_waiting = max_waiting
        # A wait this short frees its slot within two posts: it never counts as long.
        self._quick = 2 * self.gap
        self._lock = threading.Lock()
        self._channels: dict[str, _Channel] = {}
        self._seq = itertools.count(1)
        self._long_waiters = 0

    @classmethod
    def for_instance(cls, per_second: float, *, hold: float, threads: int) -> Pacer:
        """A pacer for an instance serving ``threads`` concurrent requests.

        At most three quarters of them (all but at least two) may wait long for a busy
        channel; the rest stay free for posts to quiet channels. ``threads`` 0 (unknown)
        sets no such cap.
        """
        max_waiting = max(0, threads - max(2, threads // 4)) if threads else None
        return cls(per_second, hold=hold, max_waiting=max_waiting)

    def reserve(self, channel: str, *, final_attempt: bool = False) -> Ticket:
        """Take a place in ``channel``'s queue, or raise DeferredError (hand the message back)."""
        if not self.gap:
            return Ticket(None, channel)
        patience = self.hold * (2 if final_attempt else 1)
        with self._lock:
            now = time.monotonic()
            if len(self._channels) > _FORGET_ABOVE:
                self._forget_idle(now)  # one entry per channel ever seen would only grow
            state = self._channels.get(channel)
            if state is None:
                state = self._channels[channel] = _Channel(self._lock)
            queued = len(state.tickets)
            wait = max(0.0, state.next_free - now) + queued * self.gap
            if wait > patience:
                raise DeferredError(
                    f"channel {channel} is busy: {queued} post(s) queued, a slot in {wait:.0f}s"
                    f" (longer than the {patience:g}s a request may hold); handed back to Pub/Sub"
                )
            long_wait = wait > self._quick
            if (
                long_wait
                and not final_attempt
                and self.max_waiting is not None
                and self._long_waiters >= self.max_waiting
            ):
                raise DeferredError(
                    f"channel {channel} is busy (a slot in {wait:.0f}s) and {self._long_waiters} requests"
                    " already wait for busy channels; handed back to Pub/Sub"
                )
            ticket = Ticket(self, channel, priority=final_attempt, deadline=now + patience + 2 * self.gap)
            ticket.seq = next(self._seq)
            ticket.long_wait = long_wait
            self._long_waiters += long_wait
            state.tickets.append(ticket)
        log.debug("Queued for channel %s: a slot in %.1fs", channel, wait)
        return ticket

    def acquire(self, channel: str) -> None:
        """Wait for a slot now, ahead of the queue (a post without a ticket, or a retry)."""
        self.reserve(channel, final_attempt=True).wait()

    def defer(self, channel: str, seconds: float) -> None:
        """Slack said ``Retry-After: seconds``: no thread posts to ``channel`` before then."""
        with self._lock:
            now = time.monotonic()
            state = self._channels.get(channel)
            if state is None:
                state = self._channels[channel] = _Channel(self._lock)
            state.next_free = max(state.next_free, now + seconds)

    def waiting(self) -> int:
        """Requests holding a place for a busy channel (a long wait) right now."""
        with self._lock:
            return self._long_waiters

    def _wait(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket.done:
                raise RuntimeError("a pacer ticket was used twice")
            state = self._channels[ticket.channel]
            ticket.ready = True
            while True:
                now = time.monotonic()
                first = min((t for t in state.tickets if t.ready), key=lambda t: (not t.priority, t.seq))
                if first is ticket and now >= state.next_free:
                    state.next_free = now + self.gap
                    self._drop(state, ticket)
                    return
                if now >= ticket.deadline:
                    self._drop(state, ticket)
                    raise DeferredError(
                        f"channel {ticket.channel} fell behind (Slack asked to slow down); handed back to Pub/Sub"
                    )
                until = min(ticket.deadline, state.next_free) if first is ticket else ticket.deadline
                state.turn.wait(until - now)

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            state = self._channels.get(ticket.channel)
            if state is not None and not ticket.done:
                self._drop(state, ticket)

    def _drop(self, state: _Channel, ticket: Ticket) -> None:
        """Remove a used or released ticket (under the lock) and wake the channel's waiters."""
        ticket.done = True
        state.tickets.remove(ticket)
        self._long_waiters -= ticket.long_wait
        state.turn.notify_all()

    def _forget_idle(self, now: float) -> None:
        """Drop channels with no queue whose last slot has passed (under the lock)."""
        idle = [
            name for name, state in self._channels.items() if not state.tickets and state.next_free <= now
        ]
        for name in idle:
            del self._channels[name]
