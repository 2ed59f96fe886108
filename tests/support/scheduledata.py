"""The Schedules of tests/data/schedules as the schedule check sees them, and their runs.

Each document goes through the real ``aiplatform_v1.Schedule`` type (``from_json`` refuses
unknown fields) and the real reduction (``enrich.schedules.schedule_details``). ``JobRuns``
answers the rules' two questions from PipelineJob documents as ListPipelineJobs would
(``scheduleName``, ``createTime``, ``state``), and counts what it was asked.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from google.cloud.aiplatform_v1.types import Schedule

from notifier.enrich.schedules import schedule_details
from notifier.model import ScheduleDetails
from sandbox.vertex_standin import VertexStandin
from tests.conftest import DATA

FOLDER = DATA / "schedules"
# The moment every document describes.
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
NUMBER = "271009669852"
SCHEDULES = f"projects/{NUMBER}/locations/us-central1/schedules/"
NOT_ENDED = {1, 2, 3}  # PipelineState QUEUED, PENDING, RUNNING


@contextlib.contextmanager
def schedules_standin() -> Iterator[VertexStandin]:
    """The Vertex stand-in serving these Schedules and their runs (and tests/data/events' runs,
    which no schedule created), a project id finding what Vertex names by number."""
    with VertexStandin() as standin:
        standin.load_schedules(FOLDER)
        standin.load_jobs(FOLDER)
        standin.load_jobs(DATA / "events")
        standin.project_numbers["acme-ml-prod"] = NUMBER
        yield standin


def document(case: str) -> dict[str, Any]:
    """The Schedule JSON of ``case`` (``missed-slot`` …), a fresh copy to change."""
    return json.loads((FOLDER / f"{case}.schedule.json").read_text())


def details(case_or_document: str | dict[str, Any]) -> ScheduleDetails:
    """A case (or a changed document) through the real type and the real reduction."""
    raw = document(case_or_document) if isinstance(case_or_document, str) else case_or_document
    return schedule_details(Schedule.from_json(json.dumps(raw)))


def jobs() -> list[dict[str, Any]]:
    """The runs the schedules created (tests/data/schedules/*.job.json)."""
    return [json.loads(path.read_text()) for path in sorted(FOLDER.glob("*.job.json"))]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shifted(raw: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    """``raw`` with every time in it moved by ``delta`` (a document for another moment than NOW)."""
    moved = copy.deepcopy(raw)

    def walk(node: Any) -> None:
        for key, value in node.items() if isinstance(node, dict) else ():
            if isinstance(value, dict):
                walk(value)
            elif key.endswith("Time") and isinstance(value, str):
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
                node[key] = rfc3339(stamp + delta)

    walk(moved)
    return moved


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class JobRuns:
    """``schedule_rules.Runs`` over PipelineJob documents; ``asked`` records each question."""

    runs: list[dict[str, Any]] = field(default_factory=jobs)
    asked: list[str] = field(default_factory=list)

    def created_since(self, schedule: ScheduleDetails, moment: datetime) -> bool:
        self.asked.append(f"created_since {moment:%H:%M}")
        return any(
            run.get("scheduleName") == schedule.name.resource and _time(run["createTime"]) >= moment
            for run in self.runs
        )

    def unfinished(self, schedule: ScheduleDetails) -> bool:
        self.asked.append("unfinished")
        return any(
            run.get("scheduleName") == schedule.name.resource and run.get("state") in NOT_ENDED
            for run in self.runs
        )
