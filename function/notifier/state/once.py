"""Claims that something happens once: a key taken with an atomic create-if-absent.

Two users: the interactivity function's replay guard (a Slack request, by its timestamp
and signature, for the signature's five-minute window) and the actions worker (one cancel
per job, one retry per failed run, whoever clicks and however often). In Firestore
(``FirestoreOnce``, the ``DEDUP_COLLECTION`` beside the delivery claims, with their
``expires_at`` for the TTL policy) when de-duplication is on; in this process otherwise
(``LocalOnce``: one instance only, bounded).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from notifier.errors import TransientError, describe
from notifier.state.firestore import FIRESTORE_TIMEOUT, document_id, firestore_retry


class OnceUnavailableError(TransientError):
    """The claim could not be asked for (Firestore unreachable, the local set full)."""


class FirestoreOnce:
    """Keys claimed in a Firestore collection; a claim lasts ``ttl`` (then the TTL policy deletes it)."""

    def __init__(
        self,
        client: Any,
        collection: str,
        ttl: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._client = client
        self._collection = collection
        self._ttl = ttl
        self._clock = clock

    def _ref(self, key: str) -> Any:
        return self._client.collection(self._collection).document(document_id(key))

    def claim(self, key: str, record: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
        """Take ``key`` (keeping ``record`` with it): None when taken now, else what the first claim kept.

        A claim older than ``ttl`` that the TTL policy has not deleted yet is taken over.
        OnceUnavailableError when Firestore cannot be asked: the caller decides (fail closed).
        """
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition  # noqa: PLC0415 - Firestore only when enabled

        now = self._clock()
        document = {"key": key, "claimed_at": now, "expires_at": now + self._ttl, **(record or {})}
        try:
            return self._take(self._ref(key), document, now)
        except (AlreadyExists, FailedPrecondition):
            return {"key": key}  # another claim of the same key won the race
        except Exception as exc:  # noqa: BLE001 - any other failure: the caller decides
            raise OnceUnavailableError(f"claims unavailable: {describe(exc)}") from None

    def _take(self, ref: Any, document: dict[str, Any], now: datetime) -> Mapping[str, Any] | None:
        from google.api_core.exceptions import AlreadyExists  # noqa: PLC0415

        try:
            ref.create(document, retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
            return None
        except AlreadyExists:
            snapshot = ref.get(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
        if not snapshot.exists:  # released meanwhile: one more create decides it
            ref.create(document, retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
            return None
        existing = snapshot.to_dict() or {}
        expires = existing.get("expires_at")
        if isinstance(expires, datetime) and expires > now:
            return existing
        # Expired, the TTL policy not there yet: taken over, unless another claim was first.
        option = self._client.write_option(last_update_time=snapshot.update_time)
        ref.update(document, option=option, retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
        return None

    def release(self, key: str) -> None:
        """Give ``key`` back (what it guarded failed and may be tried again)."""
        try:
            self._ref(key).delete(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - it expires on its own
            raise OnceUnavailableError(f"could not release the claim: {describe(exc)}") from None


class LocalOnce:
    """Keys claimed in this process for ``ttl`` seconds, at most ``size`` at a time.

    Full of live claims, it refuses (OnceUnavailableError) rather than forget one early:
    forgetting would let a replay through.
    """

    def __init__(self, ttl: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._claims: OrderedDict[str, tuple[float, Mapping[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str, record: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
        """None when ``key`` is taken now, else what the live claim of it kept."""
        now = self._clock()
        with self._lock:
            while self._claims:
                oldest_key, (taken, _) = next(iter(self._claims.items()))
                if now - taken < self._ttl:
                    break
                del self._claims[oldest_key]
            live = self._claims.get(key)
            if live is not None:
                return live[1]
            if len(self._claims) >= self._size:
                raise OnceUnavailableError(f"{self._size} live claims in this instance; refusing another")
            self._claims[key] = (now, dict(record or {}, key=key))
            return None

    def release(self, key: str) -> None:
        """Give ``key`` back."""
        with self._lock:
            self._claims.pop(key, None)
