"""The Firestore client the stores share, and the short, bounded retries every call uses."""

from __future__ import annotations

import hashlib
from typing import Any

FIRESTORE_TIMEOUT = 5.0


def firestore_client(project: str, database: str) -> Any:
    """A Firestore client for ``project`` (empty: the environment's) and ``database``."""
    from google.cloud import firestore  # noqa: PLC0415 - only when de-duplication is on

    return firestore.Client(project=project or None, database=database)


def firestore_retry() -> Any:
    """Short and bounded retries: a slow Firestore must not eat the function's time for Slack."""
    from google.api_core import exceptions, retry  # noqa: PLC0415 - only when de-duplication is on

    return retry.Retry(
        predicate=retry.if_exception_type(exceptions.ServiceUnavailable, exceptions.DeadlineExceeded),
        initial=0.1,
        maximum=1.0,
        timeout=FIRESTORE_TIMEOUT,
    )


def document_id(key: str) -> str:
    """A Firestore-safe document id for ``key`` (ids may not contain '/')."""
    return hashlib.sha256(key.encode()).hexdigest()
