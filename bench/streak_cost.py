"""The thread state's own cost per message, against the Firestore emulator.

Threads add Firestore work to a final state's delivery: a root costs a decision (a short
read, then a transaction) and, once posted, recording its ts (the same again); a reply or
a recovery costs the decision alone. Timed directly on ``FirestoreStreaks``, beside the
de-duplication claim's own cost measured in the same run (``claim_cost``).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.common import summary
from notifier.model import FAILED
from notifier.state.streak_rules import Policy, Run, StreakKey
from notifier.state.streaks import FirestoreStreaks
from sandbox.firestore_emulator import FirestoreEmulator

WARM = 3  # the first calls warm the gRPC channel


def measure(firestore: FirestoreEmulator, messages: int) -> dict[str, Any]:
    """Per-message seconds of a root (decide + record) and of a reply (decide) in an open streak."""
    from google.cloud import firestore as fs

    os.environ.update(firestore.env)
    store = FirestoreStreaks(fs.Client(project=firestore.project), "bench-streak-cost")
    policy = Policy()
    created = datetime(2026, 11, 1, tzinfo=timezone.utc)
    roots: list[float] = []
    replies: list[float] = []
    for n in range(messages + WARM):
        key = StreakKey(f"bench-streak-{n}", "C0BENCH")
        first = Run(f"projects/p/locations/us-central1/pipelineJobs/bench-streak-{n}-a", FAILED, created)
        second = Run(f"{first.id[:-1]}b", FAILED, created + timedelta(days=1))
        start = time.perf_counter()
        store.decide(key, first, policy)
        store.record_root(key, first, "1700000000.000100", '{"text": "x", "blocks": []}')
        middle = time.perf_counter()
        store.decide(key, second, policy)
        end = time.perf_counter()
        if n >= WARM:
            roots.append(middle - start)
            replies.append(end - middle)
    return {"messages": messages, "root_s": summary(roots), "reply_s": summary(replies)}
