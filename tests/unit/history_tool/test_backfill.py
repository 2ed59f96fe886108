"""``notifier-history backfill`` against the Vertex stand-in (the real PipelineServiceClient over
REST: paging, filters, readMask) and the Firestore emulator: what it records, idempotent,
resumable, and what it does with runs it cannot read."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

import history_tool.backfill as backfill_module
from bench.history_data import runs
from history_tool.backfill import Backfill, BackfillError, Cursor, ended_filter, scopes, vertex_lister
from history_tool.cli import main
from notifier.config import Config
from notifier.history_rules import first_line
from notifier.names import Region
from notifier.state.history import FirestoreHistory
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.vertex_standin import VertexStandin
from tests.support.historydata import job_document, stamp

pytestmark = pytest.mark.emulator

NOW = datetime.now(timezone.utc).replace(microsecond=0)
PROJECTS = {"acme-ml-prod": "271009669852", "acme-ml-staging": "271009669853"}
ROUTES = [{"match": {"labels": {"team": "geo"}}, "channel": "C0GEOTEAM"}]
_collections = iter(range(1, 1000))


def env_for(vertex: VertexStandin, firestore: FirestoreEmulator, collection: str) -> dict[str, str]:
    return {
        **firestore.env,
        "ALLOWED_PROJECTS": ",".join([*PROJECTS, *PROJECTS.values()]),
        "ALLOWED_REGIONS": "us-central1,europe-west4",
        "VERTEX_API_ENDPOINT": vertex.url,
        "SLACK_CHANNEL_ID": "C0DEFAULT1",
        "ROUTES": json.dumps(ROUTES),
        "RUNS_COLLECTION": collection,
    }


@pytest.fixture(scope="module")
def history_runs() -> list[dict]:
    """Six pipelines, eight days, four runs a day, ending now (some in regions not allowed)."""
    return list(runs(6, 8, 4, end=NOW))


@pytest.fixture(scope="module")
def vertex(history_runs: list[dict]) -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        standin.project_numbers.update(PROJECTS)
        for run in history_runs:
            standin.add_job(job_document(run))
        yield standin


@pytest.fixture
def setup(
    vertex: VertexStandin, firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    env = env_for(vertex, firestore, f"backfill-{next(_collections)}")
    for key, value in firestore.env.items():
        monkeypatch.setenv(key, value)
    from google.cloud import firestore as fs

    config = Config.from_env(env, check=False)
    store = FirestoreHistory(fs.Client(project=firestore.project), config.history.collection)
    return SimpleNamespace(env=env, config=config, store=store, path=tmp_path / "cursor.json")


def expected(history_runs: list[dict], since: datetime) -> list[dict]:
    return [
        r
        for r in history_runs
        if r["end_time"] >= since and r["region"] in ("us-central1", "europe-west4") and r["end_time"] <= NOW
    ]


def stored(store: FirestoreHistory) -> list[dict]:
    return [s.to_dict() for s in store.collection.stream()]


def test_it_records_the_runs_that_ended_in_the_window_as_the_function_would(
    setup, history_runs, vertex
) -> None:
    _env, config, store, path = setup.env, setup.config, setup.store, setup.path
    cursor = Cursor.open(path, 5, NOW)
    vertex.list_requests.clear()
    tally = Backfill(config, store, vertex_lister(config), cursor).run(scopes(config))
    want = expected(history_runs, cursor.since)
    documents = {d["job_id"]: d for d in stored(store)}
    assert set(documents) == {r["job_id"] for r in want} and tally.written == len(want) == tally.listed
    for run in want:
        document = documents[run["job_id"]]
        assert document["pipeline_key"] == f"{run['project_number']}/{run['pipeline']}"
        assert document["fully_cached"] is run["cached"] and document["state"] == run["state"]
        assert document["failed_tasks"] == run["failed_tasks"]
        assert document["errors"] == ([first_line(run["error"])] if run["failed_tasks"] else [])
        assert document["duration_s"] == pytest.approx(run["duration_s"], abs=1e-3)
        assert document["source"] == "backfill" and document["end_estimated"] is False
        # Routed as the function routes: the geo team's rule, else the default channel.
        channel = "C0GEOTEAM" if run["labels"]["team"] == "geo" else "C0DEFAULT1"
        assert document["targets"] == [f"slack:{channel}"] and document["labels"] == {
            "team": run["labels"]["team"]
        }
    assert any(d["fully_cached"] for d in documents.values())
    # The project ids only (numbers name the same projects), each allowed region; the filter,
    # order and read mask the function's lister sends; pages of 100.
    assert sorted({r.parent for r in vertex.list_requests}) == sorted(
        f"projects/{p}/locations/{r}" for p in PROJECTS for r in ("us-central1", "europe-west4")
    )
    first = vertex.list_requests[0]
    assert (
        first.filter == ended_filter(cursor.since) and first.order_by == "end_time" and first.page_size == 100
    )
    assert "jobDetail" in first.read_mask and "pipelineSpec" in first.read_mask
    assert json.loads(path.read_text())["finished"] is True


def test_a_second_backfill_changes_nothing(setup, history_runs) -> None:
    _env, config, store, path = setup.env, setup.config, setup.store, setup.path
    Backfill(config, store, vertex_lister(config), Cursor.open(path, 5, NOW)).run(scopes(config))
    before = {s.id: s.update_time for s in store.collection.stream()}
    again = Backfill(config, store, vertex_lister(config), Cursor.open(path, 5, NOW)).run(scopes(config))
    assert again.written == 0 and again.there == len(before)
    assert {s.id: s.update_time for s in store.collection.stream()} == before


def test_a_backfill_that_stops_resumes_where_it_was(setup, history_runs, vertex, monkeypatch) -> None:
    _env, config, store, path = setup.env, setup.config, setup.store, setup.path
    real = vertex_lister(config)
    failed: list[str] = []

    def failing(project: str, region: Region, filter_: str, token: str):
        if (project, region) == ("acme-ml-prod", "europe-west4") and token and not failed:
            failed.append(token)
            raise ConnectionError("the network went away")
        return real(project, region, filter_, token)

    cursor = Cursor.open(path, 7, NOW)
    monkeypatch.setattr(backfill_module, "PAGE_SIZE", 10)
    # The first page of europe-west4 goes through; its second fails.
    with pytest.raises(BackfillError, match="listing runs in acme-ml-prod/europe-west4 failed"):
        Backfill(config, store, failing, cursor).run(scopes(config))
    saved = json.loads(path.read_text())
    assert saved["finished"] is False and "acme-ml-prod/us-central1" in saved["done"]
    assert "acme-ml-prod/europe-west4" in saved["reached"]
    resumed = Cursor.open(path, 7, NOW + timedelta(hours=1))  # the same command, an hour later
    assert resumed.resumed and resumed.since == cursor.since
    vertex.list_requests.clear()
    Backfill(config, store, real, resumed).run(scopes(config))
    # The scope done is not listed again; the one that stopped restarts from its end time.
    assert not any(
        r.parent.endswith("us-central1") and "acme-ml-prod" in r.parent for r in vertex.list_requests
    )
    want = {r["job_id"] for r in expected(history_runs, cursor.since)}
    assert Counter(d["job_id"] for d in stored(store)) == Counter(want)


def test_runs_it_cannot_read_are_counted_and_said(setup, vertex, firestore) -> None:
    _env, config, store, path = setup.env, setup.config, setup.store, setup.path
    bad = copy.deepcopy(next(iter(vertex.jobs.values())))
    base = bad["name"].rsplit("/", 1)[0]
    skewed = {
        **bad,
        "name": f"{base}/skewed-1",
        "endTime": stamp(NOW - timedelta(days=1)),
        "startTime": stamp(NOW),
    }
    garbage = {
        **bad,
        "name": f"{base}/garbage-1",
        "startTime": "2150-01-01T00:00:00Z",
        "createTime": "2150-01-01T00:00:00Z",
    }
    garbage["endTime"] = stamp(NOW - timedelta(hours=1))
    for job in (skewed, garbage):
        vertex.add_job(job)
    try:
        tally = Backfill(config, store, vertex_lister(config), Cursor.open(path, 5, NOW)).run(scopes(config))
    finally:
        for job in (skewed, garbage):
            vertex.jobs.pop(job["name"])
    assert tally.no_duration == 2
    summary = tally.summary()
    assert "2 without a duration" in summary and "1 x its start time is not believed" in summary
    assert "1 x no duration: it ends before it starts (clock skew or a garbage time)" in summary
    documents = {d["job_id"]: d for d in stored(store)}
    assert documents["skewed-1"]["duration_s"] is None and documents["garbage-1"]["counts"] is False


def test_a_project_or_region_outside_the_scope_is_refused(setup) -> None:
    _env, config, _store, _path = setup.env, setup.config, setup.store, setup.path
    with pytest.raises(BackfillError, match="outside ALLOWED_PROJECTS"):
        scopes(config, ["evil-project"])
    with pytest.raises(BackfillError, match="outside ALLOWED_REGIONS"):
        scopes(config, [], ["asia-northeast1"])


def test_the_command_with_its_progress_bar(setup, capsys: pytest.CaptureFixture[str]) -> None:
    env, _config, store, path = setup.env, setup.config, setup.store, setup.path
    code = main(["backfill", "--days", "2", "--cursor", str(path), "--region", "us-central1"], env=env)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Backfilling runs that ended since" in err and " runs" in err  # tqdm's bar, on stderr
    assert "recorded" in out and len(stored(store)) > 0
    assert main(["backfill", "--days", "2", "--project", "evil-project"], env=env) == 2


def test_ten_thousand_pipelines_in_one_project(
    firestore: FirestoreEmulator, monkeypatch, tmp_path: Path
) -> None:
    start = NOW - timedelta(days=1)
    with VertexStandin() as vertex:
        for n in range(10_000):
            job_id = f"pipeline-{n:05d}-20261201000000"
            vertex.add_job(
                {
                    "name": f"projects/271009669852/locations/us-central1/pipelineJobs/{job_id}",
                    "displayName": job_id,
                    "state": 4,
                    "createTime": stamp(start),
                    "startTime": stamp(start),
                    "endTime": stamp(start + timedelta(seconds=60 + n % 600)),
                    "pipelineSpec": {"pipelineInfo": {"name": f"pipeline-{n:05d}"}},
                }
            )
        env = env_for(vertex, firestore, "backfill-10k")
        env["ALLOWED_PROJECTS"] = "271009669852"
        env["ALLOWED_REGIONS"] = "us-central1"
        for key, value in firestore.env.items():
            monkeypatch.setenv(key, value)
        code = main(
            ["backfill", "--days", "3", "--cursor", str(tmp_path / "c.json"), "--no-progress"], env=env
        )
        assert code == 0
        assert len(vertex.list_requests) == 100
    from google.cloud import firestore as fs

    count = fs.Client(project=firestore.project).collection("backfill-10k").count().get()[0][0].value
    assert count == 10_000
