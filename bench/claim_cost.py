"""The de-duplication claim's own cost per message, against the Firestore emulator.

End-to-end latency with and without de-duplication differ by less than the emulator's
push jitter, so the claim is timed directly: ``FirestoreClaims.post_once`` (create the
claim, deliver, mark it sent: two Firestore round trips) around a delivery that only
returns a ``ts``, beside the same delivery called alone.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from bench.common import summary
from notifier.destinations.slack.render import SlackMessage
from notifier.model import Receipt
from notifier.sources.final_status import parse_status
from notifier.sources.pubsub import PubSubMessage
from notifier.state.claims import FirestoreClaims
from sandbox.firestore_emulator import FirestoreEmulator


class _Ts:
    """Slack's answer without Slack: the claim's cost is what is measured."""

    def post(self, message: SlackMessage) -> str:
        return "1700000000.000100"


def measure(firestore: FirestoreEmulator, messages: int) -> dict[str, Any]:
    """Per-message seconds of post_once with the claim, and of the bare post."""
    from datetime import timedelta

    from google.cloud import firestore as fs

    os.environ.update(firestore.env)
    client = fs.Client(project=firestore.project)
    claims = FirestoreClaims(client, "bench-claim-cost", lease=timedelta(seconds=60), ttl=timedelta(days=1))
    poster, rendered = _Ts(), SlackMessage(channel="C0BENCH", text="x")
    with_claim: list[float] = []
    bare: list[float] = []
    for n in range(messages + 3):  # the first few warm the gRPC channel
        resource = f"projects/p/locations/us-central1/pipelineJobs/claim-cost-{n}"
        status = parse_status(json.dumps({"state": "FAILED", "pipelineJobResourceName": resource}).encode())
        message = PubSubMessage(message_id=str(n), data=b"")
        start = time.perf_counter()
        claims.post_once(status, message, lambda: Receipt("slack", rendered.channel, poster.post(rendered)))
        middle = time.perf_counter()
        poster.post(rendered)
        end = time.perf_counter()
        if n >= 3:
            with_claim.append(middle - start)
            bare.append(end - middle)
    claim = summary(with_claim)
    return {
        "messages": messages,
        "post_once_s": claim,
        "bare_post_s": summary(bare),
        "claim_cost_p50_s": claim["p50"] - summary(bare)["p50"],
    }
