"""The Firestore client the stores share, and the short, bounded retries every call uses.

Only the modules the stores use are imported: ``google.cloud.firestore`` (and the
``google.cloud.firestore_v1`` package's ``__init__``) would import the asyncio client,
bundles, vector search and the rest too. ``firestore_v1`` is a lazy shell
(``notifier.lazy_imports``) while ``client`` and ``transaction`` load.
"""

from __future__ import annotations

import hashlib
from typing import Any

from notifier.lazy_imports import import_from

FIRESTORE_TIMEOUT = 5.0
_PACKAGES = ("google.cloud.firestore_v1",)


def firestore_client(project: str, database: str) -> Any:
    """A Firestore client for ``project`` (empty: the environment's) and ``database``."""
    client_class = import_from("google.cloud.firestore_v1.client", "Client", shells=_PACKAGES)
    return client_class(project=project or None, database=database)


def transactional(function: Any) -> Any:
    """``google.cloud.firestore.transactional``: ``function(transaction)`` run as a transaction."""
    return import_from("google.cloud.firestore_v1.transaction", "transactional", shells=_PACKAGES)(function)


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
