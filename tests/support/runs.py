"""New runs of the golden pipelines, registered with the Vertex stand-in, and their final statuses.

The function checks every status against Vertex AI (``notifier.verify``) and routes by the
exit handler's settings in the pipeline's compiled spec, so a test that needs a fresh run
makes one here: the run as Vertex returns it (``vertex_standin.run_like``) and the status
its exit handler would publish.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.vertex_standin import VertexStandin, run_like
from tests.support.paths import DATA

PREFIX = "projects/271009669852/locations/us-central1/pipelineJobs/"


def template(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The golden case's status and job documents."""
    return (
        json.loads((DATA / f"{case}.status.json").read_text()),
        json.loads((DATA / f"{case}.job.json").read_text()),
    )


def new_run(
    vertex: VertexStandin,
    job_id: str,
    *,
    case: str = "failed-with-tasks",
    channel: str = "",
    pipeline: str = "",
    **status: Any,
) -> bytes:
    """Register run ``job_id`` of ``case``'s pipeline (or one named ``pipeline``), its stub posting
    to ``channel``; returns its status bytes. ``status`` overrides fields of the final status.
    """
    base_status, base_job = template(case)
    resource = PREFIX + job_id
    vertex.add_job(run_like(base_job, resource, channel=channel, pipeline=pipeline))
    return json.dumps({**base_status, "pipelineJobResourceName": resource, **status}).encode()
