"""The deployed topology, read from the same file Terraform reads (``terraform/topology.json``).

Terraform takes its defaults for instances, concurrency, CPU, memory, timeout, the Slack
hold and the push subscription's retry policy from that file; the local stack starts the
function with the same values, the way Cloud Run starts it: functions-framework serving
through gunicorn with ``WORKERS`` processes of ``THREADS`` threads, ``THREADS`` equal to
the request concurrency, and ``CLOUD_RUN_TIMEOUT_SECONDS`` set as the platform sets it.
``tests/terraform`` fails if Terraform stops reading a value from the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sandbox.paths import TOPOLOGY_FILE

_UNITS = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


@dataclass(frozen=True)
class Topology:
    """One function instance's shape and the delivery policy that feeds it."""

    max_instances: int
    concurrency: int
    workers: int
    cpu: str
    memory: str
    timeout_seconds: int
    slack_hold_seconds: float
    min_retry_backoff_seconds: int
    max_retry_backoff_seconds: int
    max_delivery_attempts: int

    @property
    def memory_bytes(self) -> int:
        """The configured memory (``512Mi``, ``256M``, ``1Gi``) in bytes."""
        match = re.fullmatch(r"(\d+)(k|M|G|Ki|Mi|Gi)?", self.memory)
        if not match:
            raise ValueError(f"memory {self.memory!r} is not a Cloud Run memory size")
        return int(match[1]) * _UNITS[match[2] or ""]

    @property
    def ack_deadline_seconds(self) -> int:
        """The push subscription's ack deadline, as pubsub.tf derives it from the timeout."""
        return min(600, self.timeout_seconds + 30)

    def runtime_env(self) -> dict[str, str]:
        """What the instance's process sees from the platform and Terraform's runtime settings.

        functions-framework reads ``WORKERS``, ``THREADS`` and ``CLOUD_RUN_TIMEOUT_SECONDS``
        when it starts gunicorn; Terraform sets the first two (Google recommends ``THREADS``
        equal to the concurrency for Python), Cloud Run the third.
        """
        return {
            "WORKERS": str(self.workers),
            "THREADS": str(self.concurrency),
            "CLOUD_RUN_TIMEOUT_SECONDS": str(self.timeout_seconds),
        }

    def function_env(self) -> dict[str, str]:
        """The notifier settings Terraform derives from the topology (see main.tf)."""
        return {
            "SLACK_HOLD_SECONDS": f"{self.slack_hold_seconds:g}",
            "MAX_DELIVERY_ATTEMPTS": str(self.max_delivery_attempts),
        }


def load(path: Path = TOPOLOGY_FILE) -> Topology:
    """Read the topology file; a missing or extra key fails naming it."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.pop("about", None)
    fields = set(Topology.__dataclass_fields__)
    if set(raw) != fields:
        raise ValueError(
            f"{path}: expected keys {sorted(fields)}, missing {sorted(fields - set(raw))},"
            f" unknown {sorted(set(raw) - fields)}"
        )
    return Topology(**raw)
