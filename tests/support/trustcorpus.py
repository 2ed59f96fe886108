"""A generated corpus of what a hostile publisher can put on the status topic.

Every pipeline's service account can publish there, so each item is a message someone
could send: a final status whose resource name, or a job event whose labels, or whose
``gcp_region`` attribute, is aimed at the attacker's listener wherever it can be, or names
a project or region outside the function's scope, plus ``action=sweep`` on the wrong topic.
Nothing in it may cause a connection to the attacker, a redelivery loop, or a message.

The corpus is built, not listed: each hostile *part* (a host aimed at the attacker, URL
breakers after it, unicode look-alikes, whitespace, ``..``, ``%2F``, 10 KB) is put in each
*position* it can take (the region, the project and the job of a resource name, the
``gcp_region`` attribute, a job event's location, project and job labels and the resource
name in its payload). Well-formed names outside the scope go in as themselves.

Every item is one a correct function must reject outright: its name is malformed or out
of scope, so no Vertex AI call, nothing posted (an in-scope name would be enriched, and,
with Vertex AI unreachable here, posted as an unverified degraded message: not a corpus item).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.trustdata import NUMBER, PROJECT_ID, REGION, load

ATTACKER_CHANNEL = "C0ATTACKER"
JOB = "churn-scoring-20261127070000"
# URL breakers: what turns "<host><breaker>-aiplatform.googleapis.com" into a URL for <host>
# (the first two do, with today's requests; the rest are tried with the plain host only).
BREAKERS = ("#", "?x=")
MORE_BREAKERS = ("#@", "/", "%23", "\\", ";", "%2F")
OUT_OF_SCOPE_PROJECTS = ("other-team-prod", "999999999999", "acme-ml-prod-evil", "271009669853")
OUT_OF_SCOPE_REGIONS = ("asia-east1", "me-central2", "us-east4", "northamerica-northeast1")
# Look-alikes of an allowed region (fullwidth, a Cyrillic es, RTL override, zero-width space, case).
LOOKALIKES = (
    "\uff55\uff53\uff0d\uff43\uff45\uff4e\uff54\uff52\uff41\uff4c\uff11",  # us-central1, fullwidth
    "us-\u0441entral1",
    "\u202eus-central1",
    "us-cen\u200btral1",
    "US-CENTRAL1",
    "us-central1\u0301",
    "us\u2010central1",  # a Unicode hyphen
)
WHITESPACE = (
    "us-central1 ",
    " us-central1",
    "us-central1\n",
    "us-\tcentral1",
    "us-central1\r\nX-Injected: 1",
)


@dataclass(frozen=True)
class Item:
    """One hostile message: what it is, its data, its attributes."""

    label: str
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)


def attacker_hosts(port: int, *, ipv6: bool) -> list[str]:
    """Spellings of the attacker's loopback listener that a URL parser or resolver accepts."""
    hosts = [
        f"127.0.0.1:{port}",
        f"localhost:{port}",
        f"127.1:{port}",
        f"2130706433:{port}",  # 127.0.0.1 as one decimal number
        f"0x7f000001:{port}",
        f"0:{port}",  # 0.0.0.0, which Linux connects to loopback
        f"evil@127.0.0.1:{port}",
        f"user:pass@127.0.0.1:{port}",
        f"127\u30020\u30020\u30021:{port}",  # ideographic full stops, which IDNA maps to dots
    ]
    if ipv6:
        hosts += [f"[::1]:{port}", f"[::ffff:127.0.0.1]:{port}"]
    return hosts


def status(name: str | None, state: str = "FAILED") -> bytes:
    """A stub's final status naming ``name`` (no name at all when None)."""
    document: dict[str, Any] = {"state": state, "pipelineTaskName": "churn-scoring"}
    if name is not None:
        document["pipelineJobResourceName"] = name
    if state == "FAILED":
        document["error"] = {"code": 9, "message": "The DAG failed because some tasks failed."}
    return json.dumps(document, ensure_ascii=False).encode()


def resource(project: str = NUMBER, region: str = REGION, job: str = JOB) -> str:
    """A resource name from its parts, whatever they hold."""
    return f"projects/{project}/locations/{region}/pipelineJobs/{job}"


def job_event(
    *,
    location: str = REGION,
    job: str = JOB,
    project: str = "",
    log_project: str = PROJECT_ID,
    name: str = "",
) -> bytes:
    """A FAILED job event (the sink's LogEntry) with these labels; ``name`` in its payload."""
    entry = load("events/churn-scoring-stub-failed.logentry.json")
    entry["logName"] = f"projects/{log_project}/logs/aiplatform.googleapis.com%2Fpipeline_job_events"
    labels = entry["resource"]["labels"]
    labels.update(location=location, pipeline_job_id=job)
    if project:
        labels["resource_container"] = project
    if name:
        entry["jsonPayload"]["pipelineJob"] = name
    return json.dumps(entry, ensure_ascii=False).encode()


def corpus(port: int, *, ipv6: bool) -> list[Item]:
    """Every hostile item, for an attacker listening on loopback ``port``."""
    items: list[Item] = []
    hosts = attacker_hosts(port, ipv6=ipv6)
    attacker = [host + breaker for host in hosts for breaker in BREAKERS]
    aimed = [
        *attacker,
        *(hosts[0] + breaker for breaker in MORE_BREAKERS),
        f"127.0.0.1:{port}#{REGION}",
        f"{REGION}.127.0.0.1.nip.io#",
    ]
    odd = [*LOOKALIKES, *WHITESPACE, "..", ".", f"{REGION}%2F..", "%2e%2e", "a" * 10_000, ""]

    # Resource names: each hostile part in each position.
    for region in aimed + odd:
        items.append(Item(f"region {region[:60]!r}", status(resource(region=region))))
    for project in [*attacker[:: len(BREAKERS)], "..", "%2e%2e", "Acme-ML-Prod", "a", "-1", "a" * 10_000]:
        items.append(Item(f"project {project[:60]!r}", status(resource(project=project))))
    for job in [
        "..",
        f"{JOB}?alt=media",
        f"{JOB}#x",
        f"{JOB}%2F..%2F..",
        "Upper",
        "-lead",
        "a b",
        "j" * 10_000,
    ]:
        items.append(Item(f"job {job[:60]!r}", status(resource(job=job))))
    items += [
        Item("prefixed with a URL", status(f"https://127.0.0.1:{port}/v1/" + resource())),
        Item("prefixed with //service", status("//aiplatform.googleapis.com/" + resource())),
        Item("trailing slash", status(resource() + "/")),
        Item("extra segments", status(resource() + f"/../../locations/127.0.0.1:{port}#/pipelineJobs/x")),
        Item(
            "traversal", status(f"projects/{NUMBER}/locations/{REGION}/../127.0.0.1:{port}#/pipelineJobs/x")
        ),
        Item("a 10 KB name", status(resource(job="x" * 10_240))),
        Item("no name, FAILED", status(None)),
        Item("no name, SUCCEEDED", status(None, "SUCCEEDED")),
        Item("an empty name", status("")),
    ]

    # Well-formed, out of scope: other projects, other regions.
    for project in OUT_OF_SCOPE_PROJECTS:
        items.append(Item(f"out-of-scope project {project}", status(resource(project=project))))
        items.append(
            Item(f"out-of-scope project {project}, succeeded", status(resource(project=project), "SUCCEEDED"))
        )
    for region in OUT_OF_SCOPE_REGIONS:
        items.append(Item(f"out-of-scope region {region}", status(resource(region=region))))

    # gcp_region attributes aimed at the attacker or at an allowed region, with the
    # attacker's channel, on names the function must reject for themselves.
    outside = resource(region=OUT_OF_SCOPE_REGIONS[0])
    for value in [*attacker[:4], REGION, "europe-west4", *LOOKALIKES[:3], "us-central1\n"]:
        attributes = {"gcp_region": value[:1000], "slack_channel_id": ATTACKER_CHANNEL}
        items.append(Item(f"gcp_region {value[:60]!r} on an outside region", status(outside), attributes))
        items.append(Item(f"gcp_region {value[:60]!r} without a name", status(None), attributes))

    # Job events: hostile labels, outside projects and regions, a hostile name in the payload.
    for region in [*attacker[:: len(BREAKERS)], "127.0.0.1", *OUT_OF_SCOPE_REGIONS[:2], LOOKALIKES[0]]:
        items.append(Item(f"job event location {region[:60]!r}", job_event(location=region)))
    for project in [*OUT_OF_SCOPE_PROJECTS[:2], f"127.0.0.1:{port}#", "127.0.0.1"]:
        items.append(Item(f"job event project label {project!r}", job_event(project=project)))
        items.append(Item(f"job event log project {project!r}", job_event(log_project=project)))
    # A resource name in the payload, beside labels naming an outside region: refused whether
    # the function reads the payload's name or the labels.
    for name in [
        resource(region=attacker[0]),
        resource(region=attacker[1]),
        resource(project="other-team-prod"),
    ]:
        event = job_event(name=name, location=OUT_OF_SCOPE_REGIONS[0])
        items.append(Item(f"job event payload name {name[:80]!r}", event))
    items.append(Item("job event with a 10 KB job id", job_event(job="j" * 10_240)))

    # The sweep, asked for on the status topic.
    for action in ("sweep", "SWEEP", " sweep "):
        items.append(Item(f"action={action!r} on the status topic", b"{}", {"action": action}))
    items.append(
        Item(
            "action=sweep with a hostile region",
            b"{}",
            {"action": "sweep", "gcp_region": f"127.0.0.1:{port}#", "slack_channel_id": ATTACKER_CHANNEL},
        )
    )
    return items
