"""Fill run history from Vertex AI's ListPipelineJobs: the runs that ended in the last N days.

For each allowed project and region (the function's own ``ALLOWED_PROJECTS`` /
``ALLOWED_REGIONS``, or those given), one ``ListPipelineJobs`` call per page with the
filter ``end_time>=<since> AND (state=SUCCEEDED OR FAILED OR CANCELLED)``, ordered by
``end_time``, reading only what a record needs (``READ_MASK``). Each run becomes the record
the function would have written (``history_rules.run_record``, routed as the function
routes it, for the digest's per-channel reads) and is written unless it is there already
(``FirestoreHistory.record_many``): a backfill over recorded days changes nothing.

Resumable: after each page the cursor file says, per project and region, the end time
reached (and which scopes are done); a run that stops (Ctrl-C, an error) starts again
from there, with the same window. Runs whose data is wrong are recorded without a
duration or skipped, each counted and said in one line at the end.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from notifier.config import Config
from notifier.enrich.calls import local_credentials
from notifier.enrich.vertex import job_details
from notifier.enrich.vertex_client import pipeline_service_client_class
from notifier.errors import describe
from notifier.history_rules import RunRecord, routing_label_keys, run_record
from notifier.model import FinalStatus
from notifier.names import Region, is_project_id, parse_job_name
from notifier.routing import route_for

log = logging.getLogger("notifier.history")

BACKFILL = "backfill"  # the source backfilled records carry
ENDED = ("PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED")
READ_MASK = (
    "name",
    "display_name",
    "state",
    "create_time",
    "start_time",
    "end_time",
    "labels",
    "pipeline_spec",
    "runtime_config",
    "job_detail",
)
PAGE_SIZE = 100
LIST_TIMEOUT = 60.0
CURSOR_VERSION = 1


class BackfillError(Exception):
    """The backfill cannot go on (bad arguments, a cursor for another window, Vertex AI or Firestore failing)."""


def ended_filter(since: datetime) -> str:
    """The ``ListPipelineJobs`` filter: ended at or after ``since`` in a final state."""
    moment = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    states = " OR ".join(f'state="{state}"' for state in ENDED)
    return f'end_time>="{moment}" AND ({states})'


@dataclass
class Cursor:
    """Where a backfill is: its window (``days`` back from ``since``), the scopes done, and the
    end time reached in the others. Kept as JSON in a file, rewritten (atomically) after every page.

    The same command run again (the same ``--days``) resumes an unfinished backfill in its
    own window; once finished, the next run starts a new window (idempotent: nothing doubles).
    """

    path: Path
    since: datetime
    days: float
    done: list[str] = field(default_factory=list)
    reached: dict[str, str] = field(default_factory=dict)
    finished: bool = False
    resumed: bool = False

    @classmethod
    def open(cls, path: Path, days: float, now: datetime, *, restart: bool = False) -> Cursor:
        """The unfinished backfill of ``days`` in ``path``, else a new one from ``now``."""
        fresh = cls(path, window_start(days, now), days)
        if restart or not path.exists():
            return fresh
        try:
            stored = json.loads(path.read_text())
            since = datetime.fromisoformat(stored["since"])
            saved_days = float(stored["days"])
            done = [str(s) for s in stored.get("done", [])]
            reached = {str(k): str(v) for k, v in dict(stored.get("reached", {})).items()}
            finished = stored.get("finished") is True
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackfillError(f"the cursor {path} cannot be read ({exc}); use --restart") from None
        if finished or saved_days != days:
            return fresh
        return cls(path, since, days, done, reached, resumed=True)

    def save(self) -> None:
        """Write the cursor (to a temporary file first: a stop mid-write never corrupts it)."""
        partial = self.path.with_name(self.path.name + ".partial")
        document = {
            "version": CURSOR_VERSION,
            "since": self.since.isoformat(),
            "days": self.days,
            "done": self.done,
            "reached": self.reached,
            "finished": self.finished,
        }
        partial.write_text(json.dumps(document, indent=2))
        os.replace(partial, self.path)

    def start_of(self, scope: str) -> datetime:
        """Where listing ``scope`` starts: the end time reached, else the window's start."""
        reached = self.reached.get(scope)
        return datetime.fromisoformat(reached) if reached else self.since


@dataclass
class Tally:
    """What one backfill did, for its closing line."""

    listed: int = 0
    written: int = 0
    there: int = 0
    skipped: int = 0
    no_duration: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count a run left out (or recorded without a duration) and why."""
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def summary(self) -> str:
        """One line: what was listed, written, there already, and left out or incomplete, with why."""
        line = (
            f"{self.listed} run(s) listed: {self.written} recorded, {self.there} already there, "
            f"{self.skipped} skipped, {self.no_duration} without a duration"
        )
        if self.reasons:
            top = sorted(self.reasons.items(), key=lambda item: -item[1])[:5]
            line += " (" + "; ".join(f"{count} x {reason}" for reason, count in top) + ")"
        return line


ListPage = Callable[[str, Region, str, str], tuple[list[Any], str]]


def vertex_lister(config: Config, credentials: Any = None) -> ListPage:
    """``list_page(project, region, filter, page_token) -> (jobs, next_token)`` with the real
    ``PipelineServiceClient`` (REST) at the configured endpoint of each allowed region."""
    from google.api_core.client_options import ClientOptions  # noqa: PLC0415 - heavy, on use
    from google.protobuf import field_mask_pb2  # noqa: PLC0415

    clients: dict[str, Any] = {}

    def client(region: Region) -> Any:
        if region not in clients:
            endpoint = config.vertex_endpoint_for(region)
            clients[region] = pipeline_service_client_class()(
                transport="rest",
                credentials=local_credentials(endpoint, credentials),
                client_options=ClientOptions(api_endpoint=endpoint),
            )
        return clients[region]

    def list_page(project: str, region: Region, filter_: str, token: str) -> tuple[list[Any], str]:
        request = {
            "parent": f"projects/{project}/locations/{region}",
            "filter": filter_,
            "page_size": PAGE_SIZE,
            "page_token": token,
            "order_by": "end_time",
            "read_mask": field_mask_pb2.FieldMask(paths=list(READ_MASK)),
        }
        pager = client(region).list_pipeline_jobs(request=request, timeout=LIST_TIMEOUT)
        page = next(iter(pager.pages))
        return list(page.pipeline_jobs), page.next_page_token

    return list_page


def scopes(
    config: Config, projects: Sequence[str] = (), regions: Sequence[str] = ()
) -> list[tuple[str, Region]]:
    """The (project, region) pairs to list: those given (each must be allowed), else the allowed
    project ids (numbers only when no id is allowed: both name the same project) and regions."""
    allowed_projects, allowed_regions = config.scope.projects, config.scope.regions
    for project in projects:
        if project not in allowed_projects:
            raise BackfillError(
                f"project {project} is outside ALLOWED_PROJECTS ({', '.join(allowed_projects)})"
            )
    for region in regions:
        if region not in allowed_regions:
            raise BackfillError(f"region {region} is outside ALLOWED_REGIONS ({', '.join(allowed_regions)})")
    chosen = list(projects) or [p for p in allowed_projects if is_project_id(p)] or list(allowed_projects)
    return [(project, Region(region)) for project in chosen for region in (regions or allowed_regions)]


class Backfill:
    """Lists ended runs page by page and records each one, moving the cursor after every page."""

    def __init__(
        self,
        config: Config,
        history: Any,
        list_page: ListPage,
        cursor: Cursor,
        *,
        progress: Callable[[str], Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._config = config
        self._history = history
        self._list_page = list_page
        self._cursor = cursor
        self._progress = progress
        self._clock = clock
        self._labels = routing_label_keys(config.routing.routes)
        self._defaults = config.destination_defaults()
        self.tally = Tally()

    def run(self, pairs: Sequence[tuple[str, Region]]) -> Tally:
        """Backfill every (project, region) not done yet; the cursor says where each one is."""
        for project, region in pairs:
            scope = f"{project}/{region}"
            if scope in self._cursor.done:
                log.info("%s was backfilled already (the cursor says so)", scope)
                continue
            self._scope(project, region, scope)
            self._cursor.done.append(scope)
            self._cursor.reached.pop(scope, None)
            self._cursor.save()
        self._cursor.finished = True
        self._cursor.save()
        return self.tally

    def _scope(self, project: str, region: Region, scope: str) -> None:
        filter_ = ended_filter(self._cursor.start_of(scope))
        bar = self._progress(scope) if self._progress else None
        token = ""
        try:
            while True:
                try:
                    jobs, token = self._list_page(project, region, filter_, token)
                except Exception as exc:  # noqa: BLE001 - said, and the cursor keeps the place
                    raise BackfillError(f"listing runs in {scope} failed: {describe(exc)}") from None
                records = list(self._records(jobs))
                try:
                    written, there = self._history.record_many(records)
                except Exception as exc:  # noqa: BLE001 - said, and the cursor keeps the place
                    raise BackfillError(f"recording runs of {scope} failed: {describe(exc)}") from None
                self.tally.listed += len(jobs)
                self.tally.written += written
                self.tally.there += there
                reached = max(
                    (r.end_time for r in records if r.end_time and not r.end_estimated), default=None
                )
                if reached is not None:
                    self._cursor.reached[scope] = reached.isoformat()
                self._cursor.save()
                if bar is not None:
                    bar.update(len(jobs))
                if not token:
                    return
        finally:
            if bar is not None:
                bar.close()

    def _records(self, jobs: Sequence[Any]) -> Iterator[RunRecord]:
        for job in jobs:
            try:
                details = job_details(job, with_stub=True)
                name = parse_job_name(details.name, "listed job's name")
                self._config.scope.check(name)
            except Exception as exc:  # noqa: BLE001 - one bad job never stops the backfill
                self.tally.skipped += 1
                self.tally.skip(f"unreadable job ({type(exc).__name__})")
                continue
            status = FinalStatus(details.state, name.resource, source=BACKFILL)
            route = route_for(dict(details.stub_settings), status, details, self._config, self._defaults)
            targets = [
                f"{destination}:{address}"
                for destination, addresses in route.targets
                for address in addresses
            ]
            record, problems = run_record(
                status,
                details,
                reference_time=details.end_time or self._clock(),
                targets=targets,
                label_keys=self._labels,
            )
            if record is None:
                self.tally.skipped += 1
                self.tally.skip(problems[0] if problems else "not recordable")
                continue
            if record.duration is None:
                self.tally.no_duration += 1
            for problem in problems:
                self.tally.skip(problem)
            yield record


def window_start(days: float, now: datetime) -> datetime:
    """The window's start: ``days`` before ``now``, at the start of that minute (a rerun within
    the minute resumes the same window)."""
    start = now - timedelta(days=days)
    return start.replace(second=0, microsecond=0)


def history_store(config: Config, env: Mapping[str, str]) -> Any:
    """The Firestore store the function writes (the same project, database and collection)."""
    from google.cloud import firestore  # noqa: PLC0415 - heavy, on use

    from notifier.state.history import FirestoreHistory  # noqa: PLC0415

    project = config.runtime.project or env.get("GOOGLE_CLOUD_PROJECT") or None
    client = firestore.Client(project=project, database=config.state.database)
    return FirestoreHistory(client, config.history.collection, days=config.history.days or 90.0)
