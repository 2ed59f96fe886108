"""What a weekly digest says, in what order: decided once, for Slack and Google Chat.

From a ``digest_rules.Digest`` (figures) to a ``DigestContent``: a title, a summary line,
then sections (pipelines, flakiest tasks, failing now, stopped running, schedules), each
a title and lines, each line pieces (``content.Piece``: text, a ``name`` bold where the
service can, ``code``) and links. The renderers style the pieces and pack the lines into
their own limits; the choice and the wording are made here.

Pure: no I/O, no clock (the period's end is "now"). Every name and error line is scrubbed
and bounded again (``content.clean``) though the record kept it so; links are built only
by ``enrich.vertex.console_url`` from a run's name that ``names.parse_job_name`` accepts
(a record's name that it rejects gets no link), and labelled with their host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from notifier.destinations.content import (
    CODE,
    NAME,
    NAME_KEEP,
    Link,
    Piece,
    clean,
    host_label,
    short_duration,
)
from notifier.digest_rules import (
    Digest,
    FlakyTask,
    OpenStreak,
    PipelineFigures,
    ScheduleTrouble,
    StoppedPipeline,
)
from notifier.enrich.vertex import console_url
from notifier.model import MISSED, SCHEDULE_ENDED, SCHEDULE_FAILED
from notifier.names import NameRejectedError, parse_job_name

TITLE_EMOJI = ":bar_chart:"
MINUS = "\u2212"
ERROR_SHOWN = 150
TREND_SHOWN = 0.10  # a p50 change under 10% is not called a trend
Line = tuple[Piece | Link, ...]
NOTE = (
    "Runs count in the period they ended in. Success rate: succeeded of the runs that succeeded or "
    "failed. p50 / p95: successful runs that were not fully cached. Changes are from the previous "
    "period of the same length."
)
SECTION_EMOJI = {
    "pipelines": ":bar_chart:",
    "flaky": ":game_die:",
    "streaks": ":rotating_light:",
    "stopped": ":zzz:",
    "schedules": ":alarm_clock:",
}
_SCHEDULE_WORDS = {
    MISSED: ("missed slot", "missed slots"),
    SCHEDULE_FAILED: ("failed run creation", "failed run creations"),
    SCHEDULE_ENDED: ("end of the schedule", "ends of the schedule"),
}


@dataclass(frozen=True)
class DigestSection:
    """One part of the digest: its title and its lines (one per pipeline, task, …)."""

    key: str
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class DigestContent:
    """Everything one digest says, in reading order."""

    title: str  # raw text, no emoji
    summary: Line
    sections: tuple[DigestSection, ...]
    note: str = NOTE


def plain(line: Line) -> str:
    """A line as plain text (links as their label)."""
    return "".join(part.label if isinstance(part, Link) else part.text for part in line)


def _date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _day(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%a %d %b %Y")


def percent(rate: float) -> str:
    """``97%``, ``99.5%`` (one decimal only where it matters), ``100%``."""
    value = 100.0 * rate
    return f"{value:.0f}%" if value >= 99.95 or round(value, 1) == round(value) else f"{value:.1f}%"


def points(change: float) -> str:
    """The success rate's change: ``+2 pts``, ``\u221215 pts`` (a minus sign), ``±0``."""
    if abs(change) < 0.5:
        return "±0"
    sign = "+" if change > 0 else MINUS
    return f"{sign}{abs(change):.0f} pts"


def trend_text(trend: float | None) -> str:
    """``35% slower``, ``20% faster``, ``steady``, or '' when there is nothing to compare."""
    if trend is None:
        return ""
    change = trend - 1.0
    if abs(change) < TREND_SHOWN:
        return "steady"
    return f"{abs(change) * 100:.0f}% {'slower' if change > 0 else 'faster'}"


def _runs(count: int) -> str:
    return f"{count} run{'s' if count != 1 else ''}"


def run_link(name: str) -> Link | None:
    """The console link of the run ``name`` (a checked resource name), labelled with its host."""
    try:
        url = console_url(parse_job_name(name, "recorded run's name"))
    except NameRejectedError:
        return None
    return Link(host_label(url), url)


def _name(text: str) -> Piece:
    return Piece(clean(text, NAME_KEEP) or "(unnamed)", NAME)


def _pipeline_line(figures: PipelineFigures) -> Line:
    parts: list[Piece | Link] = [_name(figures.pipeline), Piece(f": {_runs(figures.runs)}")]
    if figures.success_rate is not None:
        rate = f", {percent(figures.success_rate)} succeeded"
        if figures.rate_change is not None:
            rate += f" ({points(figures.rate_change)})"
        parts.append(Piece(rate))
    if figures.failed:
        parts.append(Piece(f", {figures.failed} failed"))
    if figures.cancelled:
        parts.append(Piece(f", {figures.cancelled} cancelled"))
    if figures.p50 is not None and figures.p95 is not None:
        timing = f" · p50 {short_duration(figures.p50)}, p95 {short_duration(figures.p95)}"
        trend = trend_text(figures.trend)
        if trend:
            timing += f" ({trend})"
        parts.append(Piece(timing))
    if figures.cached:
        parts.append(Piece(f" · {figures.cached} fully cached"))
    if not figures.previous_runs:
        parts.append(Piece(" · new this period"))
    return tuple(parts)


def _flaky_line(task: FlakyTask) -> Line:
    parts: list[Piece | Link] = [
        _name(task.task),
        Piece(" in "),
        _name(task.pipeline),
        Piece(f": failed in {task.failures} of {_runs(task.runs)} ({percent(task.fail_rate)})"),
    ]
    error = clean(task.last_error, ERROR_SHOWN)
    if error:
        parts += [Piece(", last: "), Piece(error, CODE)]
    return tuple(parts)


def _streak_line(streak: OpenStreak) -> Line:
    count = f"{streak.failures} failed run{'s' if streak.failures != 1 else ''} in a row"
    at_least = "at least " if streak.since_before else ""
    parts: list[Piece | Link] = [
        _name(streak.pipeline),
        Piece(f": {count}, since {_date(streak.since)} ({at_least}{short_duration(streak.age)})"),
    ]
    link = run_link(streak.latest_run)
    if link is not None:
        parts += [Piece(" · latest: "), link]
    return tuple(parts)


def _stopped_line(stopped: StoppedPipeline) -> Line:
    return (
        _name(stopped.pipeline),
        Piece(
            f": {_runs(stopped.previous_runs)} in the previous period, none in this one "
            f"(last ended {_date(stopped.last_run)})"
        ),
    )


def _schedule_line(trouble: ScheduleTrouble) -> Line:
    one, many = _SCHEDULE_WORDS.get(trouble.kind, ("warning", "warnings"))
    return (
        _name(trouble.pipeline),
        Piece(f": {trouble.count} {one if trouble.count == 1 else many} (latest {_date(trouble.last)})"),
    )


def digest_content(digest: Digest) -> DigestContent:
    """What ``digest`` says, for every renderer."""
    period = digest.period
    days = period.length / timedelta(days=1)
    span = "Weekly digest" if round(days, 3) == 7 else f"Digest of {days:g} days"
    title = f"{span}: {_day(period.start)} \u2013 {_day(period.end)}"
    summary: list[Piece | Link] = [
        Piece(f"{_runs(digest.runs)} of {len(digest.pipelines) + digest.more_pipelines} pipeline(s)")
    ]
    if digest.success_rate is not None:
        summary.append(Piece(f", {percent(digest.success_rate)} succeeded"))
    summary.append(Piece(f" ({_runs(digest.previous_runs)} in the previous period)"))
    if digest.streaks:
        summary.append(Piece(f"; {len(digest.streaks)} failing now"))
    sections: list[DigestSection] = []
    pipelines = [_pipeline_line(f) for f in digest.pipelines]
    if digest.more_pipelines:
        pipelines.append((Piece(f"… and {digest.more_pipelines} more pipeline(s), not listed"),))
    for key, title_text, lines in (
        ("pipelines", "Pipelines", pipelines),
        ("streaks", "Failing now", [_streak_line(s) for s in digest.streaks]),
        ("flaky", "Flakiest tasks", [_flaky_line(t) for t in digest.flaky]),
        ("stopped", "Stopped running", [_stopped_line(s) for s in digest.stopped]),
        ("schedules", "Schedules", [_schedule_line(t) for t in digest.schedules]),
    ):
        if lines:
            sections.append(DigestSection(key, title_text, tuple(lines)))
    return DigestContent(title=title, summary=tuple(summary), sections=tuple(sections))
