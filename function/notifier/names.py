"""Strict grammars for every name the notifier builds a request from, and the scope it may act in.

Nothing a message, a log entry or a pipeline says reaches a host, a URL path or a client
cache until it has passed through here:

- ``parse_job_name`` accepts exactly ``projects/{project}/locations/{region}/pipelineJobs/{job}``
  (project an id or a number, region a Google Cloud region, job a Vertex job id) and
  returns a frozen ``JobName``; anything else raises ``NameRejectedError`` naming what was wrong;
- ``parse_schedule_name`` accepts exactly ``projects/{project}/locations/{region}/schedules/{id}``
  (the id a number, as Vertex AI makes them) and returns a frozen ``ScheduleName``;
- ``Region`` is a ``str`` that can only be made from a valid region, and the API endpoints
  are built here, in one place, from a ``Region`` only (``vertex_endpoint``);
- ``Scope`` holds ``ALLOWED_PROJECTS`` and ``ALLOWED_REGIONS``: a name outside it is
  rejected before any call is made for it.

The grammars are anchored, bounded and linear: a 10 KB name costs microseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notifier.errors import BadMessageError

# Project ids: 6-30 lowercase letters, digits and hyphens, starting with a letter, not
# ending with a hyphen. Numbers: what Vertex AI and the exit handler write in job names.
PROJECT_ID = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"
PROJECT_NUMBER = r"[1-9][0-9]{0,19}"
# Google Cloud regions: us-central1, europe-west4, northamerica-northeast1, me-central2 …
REGION = r"[a-z]{2,20}-[a-z]{2,20}[1-9][0-9]?"
# A PipelineJob id (Vertex AI: lowercase letters, digits and hyphens, at most 128).
JOB_ID = r"[a-z0-9][a-z0-9-]{0,127}"
# A Schedule id: Vertex AI makes them numbers (an int64, 19 digits in practice).
SCHEDULE_ID = r"[1-9][0-9]{0,19}"

_PROJECT_RE = re.compile(rf"(?:{PROJECT_ID}|{PROJECT_NUMBER})")
_PROJECT_ID_RE = re.compile(PROJECT_ID)
_REGION_RE = re.compile(REGION)
_JOB_RE = re.compile(JOB_ID)
_JOB_NAME_RE = re.compile(
    rf"projects/(?P<project>{PROJECT_ID}|{PROJECT_NUMBER})/locations/(?P<region>{REGION})"
    rf"/pipelineJobs/(?P<job>{JOB_ID})"
)
_SCHEDULE_NAME_RE = re.compile(
    rf"projects/(?P<project>{PROJECT_ID}|{PROJECT_NUMBER})/locations/(?P<region>{REGION})"
    rf"/schedules/(?P<schedule>{SCHEDULE_ID})"
)
# Longer than any valid name; a longer input is rejected before a regex sees it.
NAME_MAX = 256
_QUOTE_MAX = 80

# A Slack channel id (C…, G…, D…) or a plain channel name; a Slack mention as Slack writes it.
_CHANNEL_RE = re.compile(r"(?:[CDG][A-Z0-9]{2,40}|#?[a-z0-9][a-z0-9._-]{0,79})")
_MENTION_RE = re.compile(
    r"(?:<(?:!subteam\^[A-Z0-9]{1,40}|@[UW][A-Z0-9]{1,40}|!here|!channel)(?:\|[^<>]{0,80})?>\s{0,4}){1,10}"
)
# An E.164 phone number, and a destination's own name for one of its webhooks or keys.
_E164_RE = re.compile(r"\+[1-9]\d{6,14}")
_WEBHOOK_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# Slack's ids: a user (U…, W… on Enterprise Grid), a user group (S…), a channel id, a message ts.
_SLACK_USER_RE = re.compile(r"[UW][A-Z0-9]{2,20}")
_SLACK_GROUP_RE = re.compile(r"S[A-Z0-9]{2,20}")
_SLACK_CHANNEL_ID_RE = re.compile(r"[CDG][A-Z0-9]{2,20}")
_SLACK_TS_RE = re.compile(r"[0-9]{9,11}\.[0-9]{6}")
# A service account's email: a user-managed account, or a project's default compute account.
_SERVICE_ACCOUNT_RE = re.compile(
    rf"(?:[a-z][a-z0-9-]{{4,28}}[a-z0-9]@{PROJECT_ID}\.iam\.gserviceaccount\.com"
    rf"|{PROJECT_NUMBER}-compute@developer\.gserviceaccount\.com)"
)

VERTEX_HOST = "{region}-aiplatform.googleapis.com"
LOGGING_HOST = "logging.googleapis.com"


class NameRejectedError(BadMessageError):
    """A name from outside does not follow its grammar, or lies outside the allowed scope."""


def quoted(value: str) -> str:
    """A rejected value for a log line: short, and with control characters escaped."""
    text = value if len(value) <= _QUOTE_MAX else value[: _QUOTE_MAX - 1] + "…"
    return repr(text)


def is_project(value: str) -> bool:
    """True for a project id (``acme-ml-prod``) or number (``271009669852``)."""
    return len(value) <= 30 and _PROJECT_RE.fullmatch(value) is not None


def is_project_id(value: str) -> bool:
    """True for a project id, not a number."""
    return len(value) <= 30 and _PROJECT_ID_RE.fullmatch(value) is not None


def is_region(value: str) -> bool:
    """True for a Google Cloud region such as ``us-central1``."""
    return len(value) <= 45 and _REGION_RE.fullmatch(value) is not None


def is_valid_channel(channel: str) -> bool:
    """True for a Slack channel id (C…, G…, D…) or a plain channel name."""
    return _CHANNEL_RE.fullmatch(channel) is not None


def is_valid_mention(mention: str) -> bool:
    """True for Slack mention syntax such as ``<!subteam^S0123>`` or ``<@U0123>``."""
    return len(mention) <= 1000 and _MENTION_RE.fullmatch(mention) is not None


def is_e164(number: str) -> bool:
    """True for an E.164 phone number such as ``+15551234567``."""
    return _E164_RE.fullmatch(number) is not None


def is_webhook_name(name: str) -> bool:
    """True for a destination's name of one of its webhooks or keys (``ml-alerts``)."""
    return _WEBHOOK_NAME_RE.fullmatch(name) is not None


def is_slack_user(value: str) -> bool:
    """True for a Slack user id such as ``U0123ABCD`` (``W…`` on Enterprise Grid)."""
    return _SLACK_USER_RE.fullmatch(value) is not None


def is_slack_user_group(value: str) -> bool:
    """True for a Slack user-group id such as ``S0123ABCD``."""
    return _SLACK_GROUP_RE.fullmatch(value) is not None


def is_slack_channel_id(value: str) -> bool:
    """True for a Slack channel id (``C…``, ``G…``, ``D…``), never a name."""
    return _SLACK_CHANNEL_ID_RE.fullmatch(value) is not None


def is_slack_ts(value: str) -> bool:
    """True for a Slack message timestamp such as ``1795760109.000100``."""
    return _SLACK_TS_RE.fullmatch(value) is not None


def is_service_account(value: str) -> bool:
    """True for a service account's email (user-managed, or a project's default compute account)."""
    return len(value) <= 120 and _SERVICE_ACCOUNT_RE.fullmatch(value) is not None


class Region(str):
    """A region that passed ``is_region``: the only kind of value an endpoint is built from."""

    __slots__ = ()

    def __new__(cls, value: str) -> Region:
        if not isinstance(value, str) or not is_region(value):
            raise NameRejectedError(
                f"region {quoted(str(value))} is not a Google Cloud region such as us-central1"
            )
        return super().__new__(cls, value)


@dataclass(frozen=True)
class JobName:
    """A PipelineJob's resource name, every part checked."""

    project: str
    region: Region
    job: str

    @property
    def resource(self) -> str:
        """``projects/{project}/locations/{region}/pipelineJobs/{job}``."""
        return f"projects/{self.project}/locations/{self.region}/pipelineJobs/{self.job}"

    @property
    def parent(self) -> str:
        """``projects/{project}/locations/{region}``."""
        return f"projects/{self.project}/locations/{self.region}"


def _bounded(text: object, what: str) -> str:
    """``text`` when it is a string no longer than any valid name, else NameRejectedError."""
    if not isinstance(text, str) or not text:
        raise NameRejectedError(f"no {what}")
    if len(text) > NAME_MAX:
        raise NameRejectedError(f"{what} is {len(text):,} characters long (at most {NAME_MAX})")
    return text


def parse_job_name(text: object, what: str = "pipeline job resource name") -> JobName:
    """The checked name, or NameRejectedError saying which part is wrong."""
    text = _bounded(text, what)
    match = _JOB_NAME_RE.fullmatch(text)
    if match is None:
        raise NameRejectedError(f"{what} {quoted(text)} is malformed: {_what_is_wrong(text)}")
    return JobName(match["project"], Region(match["region"]), match["job"])


def _what_is_wrong(text: str) -> str:
    """Which part of a malformed name is wrong, for the log line."""
    parts = text.split("/")
    expected = "projects/{project}/locations/{region}/pipelineJobs/{job}"
    if len(parts) != 6 or parts[0::2] != ["projects", "locations", "pipelineJobs"]:
        return f"expected {expected}"
    project, region, job = parts[1::2]
    if not is_project(project):
        return f"the project {quoted(project)} is neither a project id nor a number"
    if not is_region(region):
        return f"the region {quoted(region)} is not a Google Cloud region"
    if _JOB_RE.fullmatch(job) is None:
        return f"the job id {quoted(job)} is not lowercase letters, digits and hyphens (at most 128)"
    return f"expected {expected}"  # pragma: no cover - every part passed


@dataclass(frozen=True)
class ScheduleName:
    """A Vertex AI Schedule's resource name, every part checked."""

    project: str
    region: Region
    schedule: str

    @property
    def resource(self) -> str:
        """``projects/{project}/locations/{region}/schedules/{schedule}``."""
        return f"projects/{self.project}/locations/{self.region}/schedules/{self.schedule}"


def parse_schedule_name(text: object, what: str = "schedule resource name") -> ScheduleName:
    """The checked Schedule name, or NameRejectedError saying what is wrong."""
    text = _bounded(text, what)
    match = _SCHEDULE_NAME_RE.fullmatch(text)
    if match is None:
        raise NameRejectedError(
            f"{what} {quoted(text)} is malformed: expected projects/{{project}}/locations/{{region}}"
            "/schedules/{numeric id}"
        )
    return ScheduleName(match["project"], Region(match["region"]), match["schedule"])


def job_name_from_parts(project: str, region: str, job: str) -> JobName:
    """A name from its parts (a job event's labels), checked like a whole name."""
    return parse_job_name(f"projects/{project}/locations/{region}/pipelineJobs/{job}")


def vertex_endpoint(region: Region, template: str = "") -> str:
    """The Vertex AI API endpoint serving ``region``: the one place an endpoint gets a region.

    ``template`` is ``VERTEX_API_ENDPOINT`` (checked at start-up; ``{region}`` is its only
    placeholder), else the production host.
    """
    if not isinstance(region, Region):
        raise TypeError("an endpoint is built from a checked Region only")
    return (template or VERTEX_HOST).replace("{region}", region)


@dataclass(frozen=True)
class Scope:
    """The projects (ids and numbers) and regions the notifier may act on."""

    projects: frozenset[str]
    regions: frozenset[str]

    def check(self, name: JobName | ScheduleName) -> None:
        """NameRejectedError unless ``name`` lies in this scope."""
        if name.project not in self.projects:
            raise NameRejectedError(
                f"project {name.project} is outside ALLOWED_PROJECTS ({', '.join(sorted(self.projects))}); "
                "list both the id and the number of each project (job names carry the number)"
            )
        if name.region not in self.regions:
            raise NameRejectedError(
                f"region {name.region} is outside ALLOWED_REGIONS ({', '.join(sorted(self.regions))})"
            )

    def admits(self, name: JobName | ScheduleName) -> bool:
        """True when ``name`` lies in this scope."""
        return name.project in self.projects and name.region in self.regions
