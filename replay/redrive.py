"""Move dead-lettered messages back to their topic, losing none and doubling none.

Each pulled message is published with its own data and attributes (less the ones Pub/Sub
adds when it dead-letters), and acknowledged on the dead-letter subscription only once
its publish has succeeded. A message whose publish failed, or that was never reached
because the run stopped, is handed back at once (ack deadline 0) for the next run.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.api_core import exceptions
from google.api_core.retry import Retry

from replay.errors import RuntimeFailure
from replay.progress import Progress
from replay.publishing import close, make_publisher, make_subscriber, short, using_emulator, where

DEAD_LETTER_ATTRIBUTE_PREFIX = "CloudPubSubDeadLetterSource"
DEFAULT_BATCH = 100
# Real Pub/Sub may answer a pull with nothing while messages are still stored; the
# emulator's immediate answer is exact.
EMPTY_PULLS_TO_STOP_REAL = 3
REAL_PULL_WAIT_SECONDS = 5.0


def original_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    """The attributes as first published: without what dead-lettering added."""
    return {k: v for k, v in attributes.items() if not k.startswith(DEAD_LETTER_ATTRIBUTE_PREFIX)}


@dataclass
class RedriveResult:
    """What a redrive did; ``failed`` messages stay on the dead-letter subscription."""

    pulled: int = 0
    republished: int = 0
    acknowledged: int = 0
    failed: int = 0
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"pulled {self.pulled}, republished {self.republished}, "
            f"acknowledged {self.acknowledged}, failed {self.failed}"
        )


def redrive(
    subscription: str,
    topic: str,
    *,
    max_messages: int | None = None,
    batch: int = DEFAULT_BATCH,
    timeout: float = 30.0,
    progress: Progress | None = None,
) -> RedriveResult:
    """Republish up to ``max_messages`` (all when None) from ``subscription`` to ``topic``.

    Stops at the first batch with a failed publish: the topic is then most likely
    missing or forbidden, and pulling more would only cycle messages.
    """
    result = RedriveResult()
    progress = progress or Progress("redrive", max_messages)
    publisher = make_publisher(timeout)
    try:
        subscriber = make_subscriber()
    except BaseException:
        close(publisher)
        raise
    try:
        empty_pulls = 0
        while max_messages is None or result.pulled < max_messages:
            want = batch if max_messages is None else min(batch, max_messages - result.pulled)
            received = _pull(subscriber, subscription, want, timeout)
            if not received:
                empty_pulls += 1
                if using_emulator() or empty_pulls >= EMPTY_PULLS_TO_STOP_REAL:
                    break
                continue
            empty_pulls = 0
            result.pulled += len(received)
            _republish(publisher, subscriber, subscription, topic, received, result, progress, timeout)
            if result.failed:
                break
    except KeyboardInterrupt:
        # What was published is acknowledged by now (see _republish); report, don't trace.
        result.interrupted = True
    finally:
        progress.close()
        close(publisher)
        close(subscriber)
    return result


def _pull(subscriber: Any, subscription: str, want: int, timeout: float) -> list[Any]:
    emulator = using_emulator()
    request: dict[str, Any] = {"subscription": subscription, "max_messages": want}
    if emulator:
        # Deprecated in the API, but the emulator honours it: an empty answer means empty.
        request["return_immediately"] = True
    try:
        response = subscriber.pull(
            request=request,
            retry=Retry(timeout=timeout),
            timeout=timeout if emulator else REAL_PULL_WAIT_SECONDS,
        )
    except exceptions.DeadlineExceeded:
        return []
    except exceptions.GoogleAPICallError as exc:
        raise RuntimeFailure(
            f"--subscription {subscription}: pull failed: {short(exc)} ({where()})"
        ) from None
    except exceptions.RetryError as exc:
        raise RuntimeFailure(
            f"--subscription {subscription}: {where()} unreachable: {short(exc.cause or exc)}"
        ) from None
    return list(response.received_messages)


def _republish(
    publisher: Any,
    subscriber: Any,
    subscription: str,
    topic: str,
    received: list[Any],
    result: RedriveResult,
    progress: Progress,
    timeout: float,
) -> None:
    pending = [
        (
            item.ack_id,
            publisher.publish(topic, item.message.data, **original_attributes(item.message.attributes)),
        )
        for item in received
    ]
    published: list[str] = []
    try:
        for ack_id, future in pending:
            try:
                future.result(timeout=timeout + 10.0)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                result.failed += 1
                result.errors.append(f"publish to {topic} failed: {short(exc)} ({where()})")
                progress.advance(failed=1)
                continue
            published.append(ack_id)
            result.republished += 1
            progress.advance(done=1)
    except BaseException:
        # Interrupted while waiting: publishes already under way are let finish, and what
        # has been published must still be acknowledged, or the next run would send it twice.
        concurrent.futures.wait([future for _, future in pending], timeout=timeout)
        late = [a for a, future in pending if a not in published and _succeeded(future)]
        published.extend(late)
        result.republished += len(late)
        raise
    finally:
        _settle(subscriber, subscription, published, [a for a, _ in pending if a not in published], result)


def _succeeded(future: Any) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _settle(
    subscriber: Any, subscription: str, published: list[str], unpublished: list[str], result: RedriveResult
) -> None:
    try:
        if published:
            subscriber.acknowledge(subscription=subscription, ack_ids=published)
            result.acknowledged += len(published)
        if unpublished:
            # Handed back now rather than after the ack deadline, so a rerun sees them.
            subscriber.modify_ack_deadline(
                subscription=subscription, ack_ids=unpublished, ack_deadline_seconds=0
            )
    except (exceptions.GoogleAPICallError, exceptions.RetryError) as exc:
        raise RuntimeFailure(
            f"--subscription {subscription}: acknowledging failed after {len(published)} republished "
            f"messages (they may be delivered again): {short(exc)}"
        ) from None
