"""Read Vertex AI Schedules with ``aiplatform_v1.ScheduleServiceClient`` over REST, for the sweep's schedule check.

Like ``enrich.vertex``: one client per region, made on first use (imported through the
lazy shells of ``enrich.vertex_client``, so a cold start pays nothing for it), endpoints
only from ``endpoint_for(region)`` (``names.vertex_endpoint`` of a checked ``Region`` in
the allowed scope). ``ListSchedules`` has no read mask; its filter keeps the answer to
pipeline schedules in the states the check reads, and at most ``max_pages`` pages are read
per project and region (a WARNING says when more were left). A schedule that cannot be
read (a malformed name, a broken field) is skipped with a WARNING, never the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from notifier.enrich.vertex import VertexService, console_link, job_details, proto_time
from notifier.enrich.vertex_client import schedule_service_client_class
from notifier.model import JobDetails, ScheduleDetails
from notifier.names import Region, ScheduleName, parse_schedule_name

SCHEDULE_PAGES_MAX = 20
SCHEDULE_CONSOLE_URL = (
    "https://console.cloud.google.com/vertex-ai/pipelines/locations/{region}/schedules/{schedule}"
    "?project={project}"
)


def schedule_console_url(name: ScheduleName) -> str:
    """The Vertex AI console page of the schedule (every part checked by ``names``)."""
    return console_link(
        SCHEDULE_CONSOLE_URL, region=name.region, schedule=name.schedule, project=name.project
    )


def _state(value: Any) -> str:
    """A Schedule.State as its name (an integer the client does not know stays a number)."""
    return str(getattr(value, "name", value) or "STATE_UNSPECIFIED")


def schedule_details(schedule: Any) -> ScheduleDetails:
    """Reduce an ``aiplatform_v1.Schedule`` to ``ScheduleDetails``; NameRejectedError on a malformed name."""
    name = parse_schedule_name(schedule.name, "listed schedule's name")
    request = schedule.create_pipeline_job_request
    job = (
        job_details(request.pipeline_job, with_stub=True)
        if request and request.pipeline_job
        else JobDetails()
    )
    last = schedule.last_scheduled_run_response
    return ScheduleDetails(
        name=name,
        display_name=schedule.display_name,
        state=_state(schedule.state),
        cron=schedule.cron,
        next_run_time=proto_time(schedule.next_run_time),
        start_time=proto_time(schedule.start_time),
        end_time=proto_time(schedule.end_time),
        update_time=proto_time(schedule.update_time),
        max_run_count=max(int(schedule.max_run_count), 0),
        started_run_count=max(int(schedule.started_run_count), 0),
        allow_queueing=bool(schedule.allow_queueing),
        last_run_time=proto_time(last.scheduled_run_time) if last else None,
        last_run_response=last.run_response if last else "",
        # The run it creates, as far as the request says: what routing reads.
        pipeline=JobDetails(
            display_name=job.display_name or schedule.display_name,
            pipeline_name=job.pipeline_name,
            labels=job.labels,
            parameters=job.parameters,
            service_account=job.service_account,
            stub_settings=job.stub_settings,
        ),
    )


class ScheduleReader(VertexService):
    """Lists Schedules with ``aiplatform_v1.ScheduleServiceClient`` over REST (``VertexService``)."""

    client_class = staticmethod(schedule_service_client_class)
    pages_max = SCHEDULE_PAGES_MAX

    def list_schedules(self, project: str, region: Region, filter_: str) -> Iterator[ScheduleDetails]:
        """The schedules in ``projects/<project>/locations/<region>`` matching ``filter_``, page by page."""
        pager = self._clients.get(region).list_schedules(
            request={
                "parent": f"projects/{project}/locations/{region}",
                "filter": filter_,
                "page_size": self._page_size,
            },
            retry=self._retry(),
            timeout=min(self._timeout, 5.0),
        )
        yield from self._paged(
            pager, lambda page: page.schedules, schedule_details, "schedule", f"{project}/{region}"
        )
