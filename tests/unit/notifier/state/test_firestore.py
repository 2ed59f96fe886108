"""Firestore document ids: safe for any key, and distinct for distinct keys."""

from __future__ import annotations

from notifier.state.firestore import document_id

RESOURCE = "projects/p/locations/us-central1/pipelineJobs/run-1"


def test_document_ids_are_firestore_safe_and_distinct() -> None:
    one, two = document_id(f"{RESOURCE}#FAILED"), document_id(f"{RESOURCE}#SUCCEEDED")
    assert "/" not in one and len(one) == 64
    assert one != two
