"""Nightly runs of one pipeline for the thread tests, built from the real job and status samples;
and runs of a nightly pipeline for the streak decision itself (``run``, ``play``).

Each ``Nightly`` is a pipeline of its own (streak state outlives a test): its runs are the
failed and succeeded PipelineJobs of tests/data with the pipeline's name, a job id per
night and that night's create time, registered in the Vertex stand-in as Vertex returns
them, plus the exit-handler stub's final status for each.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from notifier.model import FAILED
from notifier.state.streak_rules import Decision, Policy, Post, Run, Streak, decide
from sandbox.vertex_standin import VertexStandin, run_like
from tests.support.paths import DATA

FAILED_JOB = json.loads((DATA / "failed-with-tasks.job.json").read_text())
SUCCEEDED_JOB = json.loads((DATA / "succeeded.job.json").read_text())
FAILED_STATUS = json.loads((DATA / "failed-with-tasks.status.json").read_text())
SUCCEEDED_STATUS = json.loads((DATA / "succeeded.status.json").read_text())
PREFIX = "projects/271009669852/locations/us-central1/pipelineJobs/"
FIRST_NIGHT = datetime(2026, 11, 20, 6, 15, 2, tzinfo=timezone.utc)
_names = itertools.count(1)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Nightly:
    """One pipeline with a run per night; ``run(n, state)`` is night ``n``'s final status."""

    vertex: VertexStandin
    name: str = field(default_factory=lambda: f"nightly-report-{next(_names)}")
    on_failure_only: bool | None = None

    def job_id(self, night: int) -> str:
        """The run's job id, as Vertex names runs: the pipeline and the run's timestamp."""
        return f"{self.name}-{(FIRST_NIGHT + timedelta(days=night)):%Y%m%d%H%M%S}"

    def run(self, night: int, state: str = "FAILED") -> bytes:
        """Register night ``night``'s job in the Vertex stand-in; return the stub's final status.

        With ``on_failure_only`` set, the pipeline gives its exit handler that setting (in
        its compiled spec, where the function reads it).
        """
        created = FIRST_NIGHT + timedelta(days=night)
        job = copy.deepcopy(FAILED_JOB if state == "FAILED" else SUCCEEDED_JOB)
        if self.on_failure_only is not None:
            job["pipelineSpec"] = run_like(FAILED_JOB, PREFIX, on_failure_only=self.on_failure_only)[
                "pipelineSpec"
            ]
        job_id = self.job_id(night)
        job.update(
            name=PREFIX + job_id,
            displayName=job_id,
            createTime=_stamp(created),
            startTime=_stamp(created + timedelta(seconds=7)),
        )
        if "endTime" in job:
            job["endTime"] = _stamp(created + timedelta(minutes=47))
        job["pipelineSpec"]["pipelineInfo"]["name"] = self.name
        self.vertex.add_job(job)
        status = copy.deepcopy(FAILED_STATUS if state == "FAILED" else SUCCEEDED_STATUS)
        status.update(pipelineJobResourceName=PREFIX + job_id, pipelineTaskName=job_id, state=state)
        return json.dumps(status).encode()


# --- runs and decisions for the pure streak rules (``state.streak_rules``) and their store ----

T0 = datetime(2026, 11, 20, 6, 15, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc)
POLICY = Policy()


def run(n: int, state: str = FAILED, *, day: float | None = None) -> Run:
    """Run ``n`` of the nightly pipeline, created on night ``day`` (default: ``n``)."""
    when = T0 + timedelta(days=n if day is None else day)
    return Run(f"projects/p/locations/us-central1/pipelineJobs/nightly-{n}", state, when, f"nightly-{n}")


def posted(decision: Decision, ts: str = "") -> Streak:
    """The state after the destination posted what ``decision`` said (a root records its ts)."""
    streak = decision.streak
    if decision.post == Post.ROOT:
        streak = replace(
            streak, root_ref=ts or f"ts-{streak.root_run}", root_pending_until=None, root_body="{}"
        )
    return streak


def play(*runs: Run, policy: Policy = POLICY, now: datetime = NOW, state: Streak | None = None):
    """Decide for each run in arrival order; returns the decisions and the final state."""
    decisions = []
    for item in runs:
        decision = decide(state, item, policy, now)
        decisions.append(decision)
        state = posted(decision)
    return decisions, state
