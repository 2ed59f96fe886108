"""The Vertex stand-in's Schedules API and ListPipelineJobs read masks, driven by the real clients.

``ScheduleServiceClient`` and ``PipelineServiceClient`` over the REST transport, pointed
at the stand-in as the notifier points them (``ClientOptions(api_endpoint=…)``, anonymous
credentials for a plain-http endpoint); the data is tests/data/schedules (see its README).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.aiplatform_v1 import PipelineServiceClient, ScheduleServiceClient
from google.cloud.aiplatform_v1.types import PipelineJob, PipelineState, Schedule
from google.protobuf import field_mask_pb2

from sandbox.vertex_standin import JOB_FIELDS, VertexStandin
from tests.support.paths import DATA

FOLDER = DATA / "schedules"
NUMBER = "271009669852"
PARENT = "projects/acme-ml-prod/locations/us-central1"  # by id, as a sweep names it
SCHEDULES = f"projects/{NUMBER}/locations/us-central1/schedules/"
ON_TIME = SCHEDULES + "1480612300150562816"
QUEUED = SCHEDULES + "4167329904621649920"
# Sweep at 2026-11-27T12:00:00Z with a 30-minute grace.
GRACE_CUTOFF = "2026-11-27T11:30:00Z"
ALL = [
    "ab-test-readout-weekly",
    "churn-scoring-nightly",
    "clickstream-sessionize-hourly",
    "eval-report-hourly",
    "feature-backfill-daily",
    "fraud-retrain-4h",
    "holiday-forecast-daily",
    "ltv-refresh-new-york",
]


@pytest.fixture(scope="module")
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        standin.load_schedules(FOLDER)
        standin.load_jobs(FOLDER)
        standin.load_jobs(DATA / "events")  # runs no schedule created
        standin.project_numbers["acme-ml-prod"] = NUMBER
        yield standin


@pytest.fixture(autouse=True)
def _fresh(vertex: VertexStandin) -> None:
    vertex.reset()


def schedules_client(vertex: VertexStandin) -> ScheduleServiceClient:
    return ScheduleServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=vertex.url),
    )


def pipelines_client(vertex: VertexStandin) -> PipelineServiceClient:
    return PipelineServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=vertex.url),
    )


def listed(vertex: VertexStandin, **request: object) -> list[Schedule]:
    return list(schedules_client(vertex).list_schedules(request={"parent": PARENT, **request}))


def names(vertex: VertexStandin, **request: object) -> list[str]:
    return [item.display_name for item in listed(vertex, **request)]


def test_list_pages_through_every_schedule_newest_first(vertex: VertexStandin) -> None:
    found = listed(vertex, page_size=3)
    assert sorted(item.display_name for item in found) == sorted(ALL)
    assert len({item.name for item in found}) == 8
    assert all(item.name.startswith(SCHEDULES) for item in found)  # the number, asked by id
    pages = [(r.parent, r.page_size, r.page_token, r.order_by) for r in vertex.schedule_list_requests]
    assert pages == [(PARENT, 3, "", ""), (PARENT, 3, "3", ""), (PARENT, 3, "6", "")]
    assert vertex.list_requests == []  # no ListPipelineJobs call


def test_default_order_is_create_time_descending(vertex: VertexStandin) -> None:
    found = listed(vertex)
    created = [item.create_time for item in found]
    assert created == sorted(created, reverse=True)
    assert found[0].display_name == "fraud-retrain-4h"  # created 2026-11-01
    assert found[-1].display_name == "ltv-refresh-new-york"  # created 2026-05-29


def test_what_the_wire_carries_is_what_the_client_reads(vertex: VertexStandin) -> None:
    by_name = {item.display_name: item for item in listed(vertex)}
    assert by_name["eval-report-hourly"].state == Schedule.State.PAUSED
    assert (
        by_name["ab-test-readout-weekly"].started_run_count
        == by_name["ab-test-readout-weekly"].max_run_count
        == 6
    )
    failed = by_name["fraud-retrain-4h"].last_scheduled_run_response
    assert failed.run_response.startswith("PERMISSION_DENIED") and failed.scheduled_run_time.hour == 8
    assert by_name["churn-scoring-nightly"].last_scheduled_run_response.run_response == "OK"
    assert (
        by_name["churn-scoring-nightly"].create_pipeline_job_request.pipeline_job.labels["team"]
        == "growth-ml"
    )
    # The client asks for integer enums, which is why the files hold integers.
    assert parse_qs(urlsplit(vertex.requests[0]).query)["$alt"] == ["json;enum-encoding=int"]


def test_the_sweep_filter_finds_only_the_missed_slot(vertex: VertexStandin) -> None:
    # ACTIVE and due more than the grace ago: the paused one (past nextRunTime) and the one
    # 20 minutes behind (within the grace) stay out.
    sweep = f'state="ACTIVE" AND next_run_time<"{GRACE_CUTOFF}"'
    assert names(vertex, filter=sweep) == ["feature-backfill-daily"]
    assert [r.filter for r in vertex.schedule_list_requests] == [sweep]
    # Without the state, the paused schedule's stale nextRunTime would count as missed.
    assert sorted(names(vertex, filter=f'next_run_time<"{GRACE_CUTOFF}"')) == [
        "eval-report-hourly",
        "feature-backfill-daily",
    ]
    assert names(
        vertex, filter='state="ACTIVE" AND next_run_time<"2026-11-27T12:00:00Z"', order_by="next_run_time"
    ) == [
        "feature-backfill-daily",
        "clickstream-sessionize-hourly",
    ]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ('state="COMPLETED"', ["ab-test-readout-weekly", "holiday-forecast-daily"]),
        ("state=PAUSED", ["eval-report-hourly"]),  # a bare word is a value too
        ('state!="ACTIVE"', ["ab-test-readout-weekly", "eval-report-hourly", "holiday-forecast-daily"]),
        ('NOT state="ACTIVE"', ["ab-test-readout-weekly", "eval-report-hourly", "holiday-forecast-daily"]),
        ('-state="ACTIVE"', ["ab-test-readout-weekly", "eval-report-hourly", "holiday-forecast-daily"]),
        ("end_time:*", ["holiday-forecast-daily"]),
        (
            'end_time>"2026-11-27T00:00:00Z" OR NOT end_time:*',
            [n for n in ALL if n != "holiday-forecast-daily"],
        ),
        ('display_name:"churn-*"', ["churn-scoring-nightly"]),
        ('display_name:"*-hourly"', ["clickstream-sessionize-hourly", "eval-report-hourly"]),
        ('display_name="fraud-retrain-4h"', ["fraud-retrain-4h"]),
        ("create_pipeline_job_request:*", ALL),
        ("create_notebook_execution_job_request:*", []),
        (
            'nextRunTime>="2026-11-28T00:00:00Z"',
            ["churn-scoring-nightly", "ltv-refresh-new-york"],
        ),  # camelCase
        ('create_time<="2026-08-31T15:42:10.512894Z"', ["churn-scoring-nightly", "ltv-refresh-new-york"]),
        ('start_time="2026-11-01T00:00:00Z"', ["clickstream-sessionize-hourly", "holiday-forecast-daily"]),
        (
            'next_run_time>"2026-11-27T07:00:00-05:00"',
            ["churn-scoring-nightly", "fraud-retrain-4h", "ltv-refresh-new-york"],
        ),  # an offset: 12:00Z
        # OR binds tighter than AND (AIP-160): COMPLETED AND (one OR other).
        (
            'state="COMPLETED" AND display_name="ab-test-readout-weekly" OR display_name="churn-scoring-nightly"',
            ["ab-test-readout-weekly"],
        ),
        (
            '(state="PAUSED" OR state="COMPLETED") AND NOT (end_time:*)',
            ["ab-test-readout-weekly", "eval-report-hourly"],
        ),
    ],
)
def test_documented_filters(vertex: VertexStandin, filter_: str, expected: list[str]) -> None:
    assert sorted(names(vertex, filter=filter_)) == sorted(expected)


@pytest.mark.parametrize(
    ("filter_", "words"),
    [
        ('cron="0 7 * * *"', "unsupported field"),  # not a documented filter field
        ('state<"ACTIVE"', "does not support"),
        ('state="RUNNING"', "invalid value"),  # a PipelineJob state, not a Schedule's
        ('next_run_time<"yesterday"', "RFC 3339"),
        ("next_run_time:*", "presence"),  # only end_time has the :* check
        ('state="ACTIVE" display_name="x"', "implicit AND"),
        ('(state="ACTIVE"', "parentheses"),
        ('state="ACTIVE" AND', "end of filter"),
        ("churn", "unsupported syntax"),  # a bare global restriction
    ],
)
def test_filters_the_api_refuses_are_400(vertex: VertexStandin, filter_: str, words: str) -> None:
    with pytest.raises(exceptions.BadRequest) as caught:
        listed(vertex, filter=filter_)
    assert words in caught.value.message
    assert [r.filter for r in vertex.schedule_list_requests] == [filter_]


def test_order_by_supported_fields_and_refuses_others(vertex: VertexStandin) -> None:
    ascending = listed(vertex, filter='state="ACTIVE"', order_by="next_run_time")
    times = [item.next_run_time for item in ascending]
    assert times == sorted(times) and len(times) == 5
    descending = listed(vertex, filter='state="ACTIVE"', order_by="next_run_time desc, create_time")
    assert [item.name for item in descending] == [item.name for item in reversed(ascending)]
    assert names(vertex, filter="end_time:* OR state=COMPLETED", order_by="end_time desc")[-1] == (
        "ab-test-readout-weekly"  # no end time: sorts as the earliest
    )
    for bad in ("display_name", "update_time", "create_time sideways", "create_time desc desc"):
        with pytest.raises(exceptions.BadRequest):
            listed(vertex, order_by=bad)


def test_get_by_id_or_number_and_404(vertex: VertexStandin) -> None:
    client = schedules_client(vertex)
    by_id = client.get_schedule(name=ON_TIME.replace(NUMBER, "acme-ml-prod"))
    assert by_id.name == ON_TIME and by_id.display_name == "churn-scoring-nightly"
    assert by_id.cron == "0 7 * * *" and by_id.state == Schedule.State.ACTIVE
    assert client.get_schedule(name=QUEUED).allow_queueing is True
    with pytest.raises(exceptions.NotFound):
        client.get_schedule(name=SCHEDULES + "1")
    assert [path.split("?")[0] for path in vertex.requests] == [
        "/v1/" + ON_TIME.replace(NUMBER, "acme-ml-prod"),
        "/v1/" + QUEUED,
        "/v1/" + SCHEDULES + "1",
    ]


def test_scripted_errors_reach_the_client(vertex: VertexStandin) -> None:
    vertex.fail_all = 403
    with pytest.raises(exceptions.Forbidden):
        listed(vertex)
    with pytest.raises(exceptions.Forbidden):
        schedules_client(vertex).get_schedule(name=ON_TIME)
    vertex.fail_all = None
    vertex.fail_next(404)
    with pytest.raises(exceptions.NotFound):
        listed(vertex)
    assert len(listed(vertex)) == 8


def test_an_empty_location_answers_an_empty_list(vertex: VertexStandin) -> None:
    client = schedules_client(vertex)
    assert list(client.list_schedules(parent="projects/acme-ml-prod/locations/europe-west4")) == []
    assert listed(vertex, filter='display_name="nothing-by-this-name"') == []


# ListPipelineJobs: the runs a schedule created, and read masks.


def jobs(vertex: VertexStandin, **request: object) -> list[PipelineJob]:
    return list(pipelines_client(vertex).list_pipeline_jobs(request={"parent": PARENT, **request}))


def test_jobs_created_by_a_schedule_as_the_sdk_asks_for_them(vertex: VertexStandin) -> None:
    # PipelineJobSchedule.list_jobs sends f"schedule_name={name}": unquoted.
    found = jobs(vertex, filter=f"schedule_name={ON_TIME}", order_by="create_time desc")
    assert [job.display_name for job in found] == [
        "churn-scoring-20261127070002",
        "churn-scoring-20261126070002",
    ]
    assert all(job.schedule_name == ON_TIME for job in found)
    quoted = f'schedule_name="{ON_TIME}" AND create_time>="2026-11-27T07:00:00Z"'
    assert [job.display_name for job in jobs(vertex, filter=quoted)] == ["churn-scoring-20261127070002"]
    assert [job.display_name for job in jobs(vertex, filter=f'schedule_name="{QUEUED}"')] == [
        "clickstream-sessionize-20261127104002"
    ]
    # Runs started by hand have no schedule name.
    unscheduled = jobs(vertex, filter='schedule_name=""')
    assert unscheduled and not any(job.schedule_name for job in unscheduled)
    assert vertex.list_requests[0].order_by == "create_time desc"


def test_more_documented_job_filters(vertex: VertexStandin) -> None:
    assert {job.display_name for job in jobs(vertex, filter='pipeline_name="churn-scoring"')} == {
        "churn-scoring-20261126070002",
        "churn-scoring-20261127070002",
        "churn-scoring-20261127070000",
        "churn-scoring-20261128070000",
    }
    data_eng = {job.display_name for job in jobs(vertex, filter='labels.team="data-eng"')}
    assert data_eng == {"clickstream-sessionize-20261127104002", "feature-backfill-20261127020000"}
    billed = jobs(vertex, filter="labels.vertex-ai-pipelines-run-billing-id:*")
    assert len(billed) == len(jobs(vertex))
    ended = jobs(vertex, filter='end_time<"2026-11-27T03:00:00Z" AND state!="PIPELINE_STATE_SUCCEEDED"')
    assert [job.display_name for job in ended] == ["feature-backfill-20261127020000"]
    with pytest.raises(exceptions.BadRequest):
        jobs(vertex, filter='start_time>"2026-11-27T00:00:00Z"')  # not a documented filter field


def test_read_mask_answers_only_the_fields_named(vertex: VertexStandin) -> None:
    mask = field_mask_pb2.FieldMask(
        paths=["name", "state", "create_time", "pipeline_spec.pipeline_info", "schedule_name"]
    )
    found = jobs(vertex, filter=f"schedule_name={ON_TIME}", read_mask=mask)
    # The REST transport sends the mask camelCase, comma-separated.
    assert vertex.list_requests[0].read_mask == "name,state,createTime,pipelineSpec.pipelineInfo,scheduleName"
    assert len(found) == 2
    for job in found:
        assert job.name.startswith(f"projects/{NUMBER}/locations/us-central1/pipelineJobs/churn-scoring-")
        assert job.schedule_name == ON_TIME and job.state == PipelineState.PIPELINE_STATE_SUCCEEDED
        assert dict(job.pipeline_spec) == {"pipelineInfo": {"name": "churn-scoring"}}
        assert not job.display_name and not job.labels and not job.service_account
        assert not job.job_detail.task_details and not job.runtime_config.parameter_values
        assert job.create_time and not job.end_time


def test_read_mask_can_ask_for_the_job_detail(vertex: VertexStandin) -> None:
    mask = field_mask_pb2.FieldMask(paths=["name", "job_detail"])
    (job,) = jobs(vertex, filter=f'schedule_name="{QUEUED}"', read_mask=mask)
    assert [task.task_name for task in job.job_detail.task_details] == [
        "clickstream-sessionize-20261127104002",
        "sessionize",
    ]
    # Without a mask, the list leaves the job detail out (the existing list view).
    (plain,) = jobs(vertex, filter=f'schedule_name="{QUEUED}"')
    assert not plain.job_detail.task_details and plain.labels["team"] == "data-eng"


def test_read_mask_refuses_a_field_pipeline_jobs_do_not_have(vertex: VertexStandin) -> None:
    with pytest.raises(exceptions.BadRequest) as caught:
        jobs(vertex, read_mask=field_mask_pb2.FieldMask(paths=["name", "next_run_time"]))
    assert "nextRunTime" in caught.value.message


def test_the_stand_in_knows_every_pipeline_job_field() -> None:
    assert set(JOB_FIELDS) == {field.json_name for field in PipelineJob.pb().DESCRIPTOR.fields}
