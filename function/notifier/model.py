"""The frozen types every step shares; raw dicts never travel past the parsers.

The flow is decode (``sources.pubsub``) → parse (``sources.*``) → enrich (``enrich.*``)
→ route → render and deliver (``destinations.*``); each step takes and returns these.
Lower modules import from here, never from ``handler``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from notifier.names import JobName, NameRejectedError, ScheduleName, parse_job_name

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
UNKNOWN = "UNKNOWN"
FINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED})
# Not final: what the sweep reports about runs that have not ended.
RUNNING_STATES = frozenset({"QUEUED", "PENDING", "RUNNING"})
# A pipeline task (PipelineTaskDetail.State) that will not change any more.
ENDED_TASK_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED", "NOT_TRIGGERED"})

_STATE_ALIASES = {"CANCELED": CANCELLED, "SUCCESS": SUCCEEDED, "FAILURE": FAILED}

# Where a notice came from (FinalStatus.source).
EXIT_HANDLER = "exit_handler"
JOB_EVENT = "job_event"
SWEEP = "sweep"
SCHEDULE = "schedule"  # the sweep's check of Vertex AI Schedules (FinalStatus.schedule says which)

# What a schedule warning reports (its FinalStatus.state); none is a run's state.
MISSED = "MISSED"  # an ACTIVE schedule's slot passed its grace without a run
SCHEDULE_FAILED = "SCHEDULE_FAILED"  # the schedule could not create its run for a slot
SCHEDULE_ENDED = "SCHEDULE_ENDED"  # it reached its maxRunCount or its endTime: no more runs
SCHEDULE_STATES = frozenset({MISSED, SCHEDULE_FAILED, SCHEDULE_ENDED})
# The short reply in a sweep warning's thread when the run it warned about ends.
AFTER_WARNING = "after_warning"

# A trailing run timestamp in a job id or display name: -20261127061500 or -20261127-061500.
_RUN_SUFFIX = re.compile(r"-\d{8}-?\d{6}$")
# Where Vertex's DAG error lists the failed tasks: "The failed tasks are: [a, b]."
_FAILED_TASKS_INTRO = re.compile(r"failed tasks are:", re.IGNORECASE)
_FAILED_TASKS_LIST_MAX = 10_000


class Outcome(str, enum.Enum):
    """How a message ended (every message ends as exactly one of these, or is redelivered)."""

    POSTED = "posted"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ScheduleEvent:
    """What a schedule warning is about: one slot of one Vertex AI Schedule, or its end.

    ``name`` is checked (``names.parse_schedule_name``); ``slot`` is the run time the
    warning is about (the missed ``nextRunTime``, the failed creation's
    ``scheduledRunTime``; None when the schedule ended). The texts are Vertex AI's, as
    the schedule's owner wrote them or the API answered: untrusted, scrubbed and bounded
    by ``destinations.content`` like any error text.
    """

    name: ScheduleName
    display_name: str = ""
    pipeline: str = ""  # the name its runs' pipeline keeps (model.pipeline_name)
    slot: datetime | None = None
    cron: str = ""
    error: str = ""  # a failed creation: lastScheduledRunResponse.runResponse
    run_count: int = 0  # startedRunCount
    max_run_count: int = 0  # 0: none
    end_time: datetime | None = None


@dataclass(frozen=True)
class FinalStatus:
    """A pipeline's final status as the exit handler reported it.

    A schedule warning (``source`` SCHEDULE, ``state`` one of ``SCHEDULE_STATES``) is no
    run's status: it has no job, and ``schedule`` says which schedule and slot it is about.
    """

    state: str
    pipeline_job_resource_name: str = ""
    pipeline_task_name: str = ""
    error_code: int | None = None
    error_message: str = ""
    source: str = EXIT_HANDLER
    schedule: ScheduleEvent | None = None

    @property
    def succeeded(self) -> bool:
        """Only an explicit SUCCEEDED counts as success; unknown states never do."""
        return self.state == SUCCEEDED

    @property
    def may_page(self) -> bool:
        """Whether a destination that reaches a person's phone (SMS, a page) may get it.

        Not a schedule warning: it says a run did not start or a schedule ended, not that a
        run failed, and it reaches the chat destinations of its route only.
        """
        return self.schedule is None

    @property
    def job_name(self) -> JobName | None:
        """The checked resource name (``names.parse_job_name``), or None when it is malformed."""
        try:
            return parse_job_name(self.pipeline_job_resource_name)
        except NameRejectedError:
            return None

    @property
    def job_id(self) -> str:
        """The job's short id: the last segment of its resource name (a schedule warning: the schedule's id)."""
        if self.schedule is not None:
            return self.schedule.name.schedule
        if not self.pipeline_job_resource_name:
            return self.pipeline_task_name or "unknown"
        return self.pipeline_job_resource_name.rstrip("/").rsplit("/", 1)[-1]

    @property
    def project(self) -> str:
        """The project (id or number) from the checked resource name (or the schedule's), or ''."""
        name = self.schedule.name if self.schedule is not None else self.job_name
        return name.project if name else ""

    @property
    def region(self) -> str:
        """The region from the checked resource name (or the schedule's), or ''."""
        name = self.schedule.name if self.schedule is not None else self.job_name
        return str(name.region) if name else ""

    @property
    def has_valid_resource_name(self) -> bool:
        """True when the resource name follows ``names``' strict grammar."""
        return self.job_name is not None

    @property
    def failed_task_names(self) -> tuple[str, ...]:
        """Task names quoted in Vertex's DAG error message, when it lists them."""
        return failed_task_names(self.error_message)


def failed_task_names(error: str) -> tuple[str, ...]:
    """The task names in Vertex's DAG error (``The failed tasks are: [a, b].``), from its first mention.

    One search and one scan to the closing bracket: linear on any text (a regex with a
    bounded list after each "failed tasks are:" was quadratic on text repeating it).
    """
    intro = _FAILED_TASKS_INTRO.search(error)
    if intro is None:
        return ()
    rest = error[intro.end() : intro.end() + 20 + _FAILED_TASKS_LIST_MAX].lstrip()
    inside, closed, _ = rest[1:].partition("]")
    if not rest.startswith("[") or not closed:
        return ()
    return tuple(name.strip() for name in inside.split(",") if name.strip())


def normalize_state(value: object) -> str:
    """Upper-case a state and map Vertex's ``PIPELINE_STATE_*`` and spelling variants."""
    state = json_text(value).strip().upper()
    for prefix in ("PIPELINE_STATE_", "STATE_"):
        if state.startswith(prefix):
            state = state[len(prefix) :]
    return _STATE_ALIASES.get(state, state) or UNKNOWN


def json_text(value: object) -> str:
    """A JSON value from outside as text: strings as they are, null as '', the rest as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# How many failed tasks a message shows in detail (and reads the logs of); the rest are named.
FAILED_TASKS_IN_DETAIL = 3


@dataclass(frozen=True)
class LogExcerpt:
    """What a reader needs from a failed task's log: whole lines, oldest first.

    ``kind`` says what the lines are: ``traceback`` (the last Python traceback, from its
    header to the exception), ``errors`` (the last ERROR lines) or ``tail`` (the last
    lines of any severity). ``omitted`` counts lines left out in the middle (a long
    traceback keeps its header, its innermost frames and the exception).
    """

    lines: tuple[str, ...]
    kind: str
    omitted: int = 0


@dataclass(frozen=True)
class FailedTask:
    """A leaf task that failed: its own error, the job that ran it, and what its logs say.

    ``job`` is the CustomJob resource name (``projects/…/locations/…/customJobs/<id>``)
    whose ``ml_job`` logs hold the task's output; ``start_time``/``end_time`` bound the
    log search. ``excerpt``, ``logs_url`` and ``log_note`` are filled by the log
    enrichment (``enrich.task_logs``): an excerpt, a Logs Explorer link, or why not.
    """

    name: str
    message: str
    job: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    excerpt: LogExcerpt | None = None
    logs_url: str = ""
    log_note: str = ""


@dataclass(frozen=True)
class Metric:
    """One scalar a pipeline logged about its model (KFP ``system.Metrics``): finite, or nan/±inf."""

    name: str
    value: float


@dataclass(frozen=True)
class ModelResults:
    """What the run produced, from its tasks' output artifacts (``enrich.results``).

    TFX: the Evaluator's ``ModelBlessing`` (``blessed``), the InfraValidator's
    ``InfraBlessing`` (``infra_blessed``) and the Pusher's ``PushedModel`` (``pushed``,
    its version and destination); each None when the run has no such artifact or it says
    nothing usable. KFP: up to ``METRICS_SHOWN`` scalar metrics of the last task that
    logged any (``metrics_task``), chosen by ``enrich.results.choose``; ``metrics_total``
    counts every scalar that task logged.
    """

    blessed: bool | None = None
    infra_blessed: bool | None = None
    pushed: bool | None = None
    pushed_version: str = ""
    pushed_destination: str = ""
    metrics: tuple[Metric, ...] = ()
    metrics_task: str = ""
    metrics_total: int = 0

    def __bool__(self) -> bool:
        return (
            self.blessed is not None
            or self.infra_blessed is not None
            or self.pushed is not None
            or bool(self.metrics)
        )

    @property
    def not_blessed(self) -> bool:
        """The Evaluator (or the InfraValidator) refused the model: a warning worth reading."""
        return self.blessed is False or self.infra_blessed is False


@dataclass(frozen=True)
class JobDetails:
    """What the Vertex AI API says about a pipeline job, reduced to what we render."""

    display_name: str = ""
    pipeline_name: str = ""
    create_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    failed_tasks: tuple[FailedTask, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    service_account: str = ""
    job_error: str = ""
    name: str = ""  # the job's resource name as Vertex returns it (projects/<number>/...)
    state: str = ""
    # The exit-handler stub's task in this run, when the pipeline has one: its state and
    # the settings the pipeline gave it (slack_channel_id, on_failure_only, gcp_region),
    # as Vertex AI runs it. Read by ``job_details(with_stub=True)``; empty for listed jobs.
    stub_task_state: str = ""
    stub_settings: tuple[tuple[str, str], ...] = ()
    # The state of the task the stub reports on (tfx-dag, exit-handler-1), when it has one.
    reported_task_state: str = ""
    # Every task that does the run's work was a cache hit (SKIPPED, or its execution CACHED):
    # the run's time says nothing about the pipeline's (run history leaves it out).
    fully_cached: bool = False
    # What the run produced: blessing, push, metrics (``enrich.results``); empty when nothing.
    results: ModelResults = ModelResults()

    def duration(self, reference: datetime | None) -> timedelta | None:
        """Run time: end (or ``reference`` while the job is still finishing) minus start."""
        start = self.start_time or self.create_time
        end = self.end_time or reference
        if start is None or end is None or end < start:
            return None
        return end - start


def pipeline_name(status: FinalStatus, details: JobDetails | None) -> str:
    """The name a pipeline keeps from run to run.

    ``pipelineSpec.pipelineInfo.name`` when Vertex returned it; else the display name, else
    the job id, without a trailing run timestamp (``churn-training-20261127061500`` →
    ``churn-training``).
    """
    return pipeline_name_of(details, status.job_id)


def pipeline_name_of(details: JobDetails | None, fallback: str) -> str:
    """``pipeline_name`` of ``details``, with ``fallback`` when they name nothing."""
    if details and details.pipeline_name:
        return details.pipeline_name
    base = (details.display_name if details else "") or fallback
    return _RUN_SUFFIX.sub("", base) or base


@dataclass(frozen=True)
class ScheduleDetails:
    """A Vertex AI Schedule as the schedule check reads it (``enrich.schedules``), every time parsed.

    ``pipeline`` is the run the schedule creates, as its ``createPipelineJobRequest``
    describes it (pipeline name, display name, labels, the stub's settings): what its
    warnings are routed by, as a run of that pipeline would be. ``last_run_time`` and
    ``last_run_response`` are its ``lastScheduledRunResponse``: ``OK``, or why the run
    could not be created (untrusted text).
    """

    name: ScheduleName
    display_name: str = ""
    state: str = ""  # ACTIVE, PAUSED, COMPLETED, STATE_UNSPECIFIED
    cron: str = ""
    next_run_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    update_time: datetime | None = None
    max_run_count: int = 0
    started_run_count: int = 0
    allow_queueing: bool = False
    last_run_time: datetime | None = None
    last_run_response: str = ""
    pipeline: JobDetails = JobDetails()


@dataclass(frozen=True)
class Comparison:
    """How long a run took (or has been running) beside its pipeline's usual time, from run history.

    ``usual`` is the median of the earlier runs (a run that ended slower than usual) or their
    p95 (``running``: a run still running later than usual); ``runs`` is how many runs that is.
    Decided by ``history_rules``, said in one line by ``destinations.content``.
    """

    took: timedelta
    usual: timedelta
    runs: int
    running: bool = False

    @property
    def statistic(self) -> str:
        """``median`` or ``p95``: what ``usual`` is."""
        return "p95" if self.running else "median"

    @property
    def ratio(self) -> float:
        """``took`` as a multiple of ``usual`` (0 when ``usual`` is 0)."""
        usual = self.usual.total_seconds()
        return self.took.total_seconds() / usual if usual > 0 else 0.0


@dataclass(frozen=True)
class Enrichment:
    """The outcome of enrichment: details, or a note saying why there are none.

    ``not_found``: Vertex AI answered 404 (``verify`` refutes the claim). ``unverified`` is
    empty when Vertex AI confirmed what the notice claims (``verify``); otherwise a short
    reason ("Vertex AI could not be reached"). Every destination then says the notice is
    unverified and mentions no one (``destinations.content.build``).
    """

    details: JobDetails | None
    region: str
    console_url: str
    note: str = ""
    not_found: bool = False
    unverified: str = ""
    # Slower (or, running, later) than its pipeline's usual time, from run history; None: not so, or unknown.
    comparison: Comparison | None = None


@dataclass(frozen=True)
class Notice:
    """One notification to send, as a source read it from one Pub/Sub message.

    ``attributes`` are the per-pipeline settings that came with it (the stub's message
    attributes); ``enrichment`` is set when the source already asked Vertex AI.
    """

    status: FinalStatus
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    publish_time: datetime | None = None
    enrichment: Enrichment | None = None


@dataclass(frozen=True)
class Quiet:
    """What people said from a pipeline's messages (``state.mutes``): its failing streak is
    acknowledged (no more mentions), or the pipeline is muted (no mentions, no pages) until a time.

    Users are Slack user ids (checked by ``names.is_slack_user`` before they are stored).
    """

    acked_by: str = ""
    acked_at: datetime | None = None
    muted_by: str = ""
    muted_until: datetime | None = None

    @property
    def acknowledged(self) -> bool:
        """Someone said they are on it."""
        return bool(self.acked_by)

    @property
    def muted(self) -> bool:
        """The pipeline is muted (the store only reports a mute that has not run out)."""
        return self.muted_until is not None


NOTHING_SAID = Quiet()


@dataclass(frozen=True)
class Route:
    """Where one notification goes and how: addresses per destination (by its name), whether a
    success is skipped, the mention a failure carries, the severity of a page ("" for the default),
    and what people said (``quiet``)."""

    targets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    on_failure_only: bool = False
    mention: str = ""
    severity: str = ""
    quiet: Quiet = NOTHING_SAID

    @classmethod
    def to(
        cls,
        targets: Mapping[str, tuple[str, ...]],
        *,
        on_failure_only: bool = False,
        mention: str = "",
        severity: str = "",
    ) -> Route:
        """A route from ``{destination: addresses}`` (destinations without addresses left out)."""
        kept = tuple((name, tuple(addresses)) for name, addresses in targets.items() if addresses)
        return cls(kept, on_failure_only, mention, severity)

    def addresses(self, destination: str) -> tuple[str, ...]:
        """Where this route sends on ``destination``."""
        return dict(self.targets).get(destination, ())

    def skips(self, status: FinalStatus) -> bool:
        """A success under on_failure_only: nothing to tell on this route (but a recovery)."""
        return self.on_failure_only and status.succeeded

    def hushed(self, quiet: Quiet, paging: frozenset[str]) -> Route:
        """This route as ``quiet`` leaves it: no mention once acknowledged or muted, and while muted
        none of the ``paging`` destinations (SMS, pages); the messages themselves still go."""
        targets = self.targets
        if quiet.muted:
            targets = tuple((name, addresses) for name, addresses in targets if name not in paging)
        mention = "" if quiet.acknowledged or quiet.muted else self.mention
        return replace(self, targets=targets, mention=mention, quiet=quiet)


@dataclass(frozen=True)
class Receipt:
    """What a destination reports after delivering: where it went and its id there."""

    destination: str
    where: str
    ref: str


@dataclass(frozen=True)
class Period:
    """[start, end): the period a weekly digest is about (``sources.digest`` reads it, ``digest_rules`` uses it)."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        """How long it is."""
        return self.end - self.start

    @property
    def previous(self) -> Period:
        """The period of the same length just before it."""
        return Period(self.start - self.length, self.start)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end
