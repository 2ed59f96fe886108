"""The demo command itself (``python -m sandbox``), run as a user runs it.

Every process the demo starts inherits a marker variable, so after the demo has exited a
scan of /proc finds anything it left behind, grandchildren (the emulator's JVM) included.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from notifier.version import __version__
from sandbox.procs import port_open, wait_until
from sandbox.pubsub_emulator import INSTALL_HINT, gcloud_path
from tests.support.paths import REPO
from tests.support.tools import require_tool

MARKER = "SANDBOX_DEMO_TEST_MARKER"
SAMPLES = sorted((REPO / "samples").glob("*.status.json"))
STREAK = sorted((REPO / "samples" / "streak").glob("*.status.json"))
JOB_IDS = [
    "churn-training-20261127061500",
    "churn-training-20261126061500",
    "kfp-eval-20261127",
    "nightly-features-20261127010000",
]


def marked_pids(token: str) -> list[int]:
    """Processes whose environment carries this run's marker."""
    needle = f"{MARKER}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # exited meanwhile, or not ours to read
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@dataclass
class DemoRun:
    """A running ``python -m sandbox`` and the lines it has printed so far."""

    proc: subprocess.Popen[str]
    token: str
    workdir: Path
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return "".join(self.lines)

    def finish(self, timeout: float = 180.0) -> int:
        """Wait for the demo to exit and for its output to be read."""
        code = self.proc.wait(timeout=timeout)
        wait_until(
            lambda: self.proc.stdout is None or self.proc.stdout.closed, timeout=10, message="demo output"
        )
        return code

    def ports(self) -> list[int]:
        """The loopback ports the demo said it was serving on."""
        return [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", self.output)]


@pytest.fixture
def run_demo(tmp_path: Path) -> Iterator:
    """Start the demo in its own process group; whatever happens, nothing of it outlives the test."""
    runs: list[DemoRun] = []

    def start(*args: str, command: list[str] | None = None) -> DemoRun:
        """``python -m sandbox`` in the checkout, or ``command`` (an installed one) elsewhere."""
        token = uuid.uuid4().hex
        env = {**os.environ, MARKER: token, "PYTHONUNBUFFERED": "1"}
        cwd = REPO
        if command is None:
            command = [sys.executable, "-m", "sandbox"]
            env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "function")])
        else:  # nothing of the checkout on the path
            env.pop("PYTHONPATH", None)
            cwd = tmp_path
        workdir = tmp_path / f"sandbox-{len(runs)}"
        proc = subprocess.Popen(
            [*command, "--workdir", str(workdir), "--timeout", "90", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        run = DemoRun(proc, token, workdir)

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                run.lines.append(line)
            proc.stdout.close()

        threading.Thread(target=read, daemon=True).start()
        runs.append(run)
        return run

    yield start

    for run in runs:
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait(timeout=30)
        for pid in marked_pids(run.token):  # only processes this test started carry its token
            os.kill(pid, signal.SIGKILL)


def _check_delivered(run: DemoRun) -> None:
    posted = [json.loads(p.read_text()) for p in sorted((run.workdir / "slack").glob("*.json"))]
    # The notifications (the worker's replies about a click carry no run metadata).
    payloads = [p for p in posted if "metadata" in p]
    # Four statuses, one job event, and one pipeline's three nights.
    assert len(payloads) == len(SAMPLES) + 1 + len(STREAK) == 8
    digests = [p for p in posted if p["text"].startswith("Weekly digest")]
    _check_click(run, [p for p in posted if "metadata" not in p and p not in digests])
    chat_cards = _check_digest(run, digests)
    texts = " ".join(p["text"] for p in payloads)
    for job_id in JOB_IDS:
        assert f"*{job_id}*" in texts
    out = run.output
    # The readable printout: the lead line, the failed task with its traceback tail, links.
    assert "churn-training failed after" in out
    assert "Trainer: The replica workerpool0-0 exited with a non-zero status of 1." in out
    assert "  ┆ Traceback (most recent call last):" in out
    assert "  ┆ ValueError: Tensor 'label' has dtype float32, expected int64." in out
    assert "Open in Vertex AI: https://console.cloud.google.com/" in out
    assert "View logs (https://console.cloud.google.com/logs/query;" in out
    assert re.search(
        rf"all 8 messages reached Slack, {chat_cards} Google Chat cards, 4 SMS, \d+ PagerDuty events and 7 Teams cards",
        out,
    )
    # Google Chat: a card per run, threaded by pipeline; the event's team rule adds its own space.
    assert "Google Chat: 7 card(s) in space ml-alerts, 1 card(s) in space data-eng" in out
    assert "demand-forecast (3)" in out
    # PagerDuty: the failing streak is one incident, updated by its second failure, resolved by the recovery.
    assert re.search(
        r"PagerDuty: demand-forecast's failing streak is one incident "
        r"\(vertex-pipeline/demand-forecast/[0-9a-f]{32}, severity error\): opened, updated, resolved",
        out,
    )
    assert "Microsoft Teams: 7 Adaptive Cards in channel ML alerts" in out
    texts = [line for line in out.splitlines() if line.startswith("» SMS to +15551230001")]
    assert len(texts) == 4  # the failures only
    assert all(int(line.split("(")[1].split(" ")[0]) <= 320 for line in texts)
    # The run without the exit handler, reported from its job event in its team's channel.
    [event_post] = [p for p in payloads if "feature-backfill-20261127020000" in p["text"]]
    assert event_post["channel"] == "C0DATAENG"
    # Every message carries its metadata.
    assert all(p["metadata"]["event_type"] == "vertex_pipeline_run" for p in payloads)
    _check_streak(run, payloads)


def _check_streak(run: DemoRun, payloads: list[dict]) -> None:
    """demand-forecast failed, failed, succeeded: one thread, its root rewritten twice."""
    night = [p for p in payloads if p["metadata"]["event_payload"]["pipeline"] == "demand-forecast"]
    if "started Firestore emulator" not in run.output:
        # No Firestore, no threads: each night on its own, as before.
        assert "without Firestore, no threads" in run.output
        assert len(night) == 3 and not any("thread_ts" in p for p in night)
        assert not (run.workdir / "slack" / "updates").exists()
        return
    [root] = [p for p in night if "thread_ts" not in p]
    replies = [p for p in night if "thread_ts" in p]
    assert [p.get("reply_broadcast", False) for p in replies] == [False, True]
    assert replies[1]["text"].startswith(":white_check_mark: Recovered after 2 failed runs")
    updates = [json.loads(p.read_text()) for p in sorted((run.workdir / "slack" / "updates").glob("*.json"))]
    updates = [u for u in updates if u["ts"] == replies[0]["thread_ts"]]  # not the acknowledged failure's
    assert len(updates) == 2
    out = run.output
    assert (
        "which now leads with:\n  🚨 Failing for 2 runs since 2026-11-24 06:00 UTC, last: demand-forecast-20261125060001"
        in out
    )
    assert "which now leads with:\n  ✅ Recovered after 2 failed runs" in out
    assert "↳ in the thread of" in out and "(also sent to the channel)" in out
    assert "the streak is 1 thread: a root, 2 replies" in out
    assert root["metadata"]["event_payload"]["post"] == "root"


def _check_click(run: DemoRun, replies: list[dict]) -> None:
    """With both emulators, a signed click acknowledges a failure and a replay of it is refused."""
    out = run.output
    if "started Firestore emulator" not in out or "started Pub/Sub emulator" not in out:
        assert "no buttons to click" in out and not replies
        return
    assert "U0DEMO001 clicks Acknowledge on the failure of churn-training-20261127061500" in out
    assert "answered HTTP 200 by slack_actions" in out
    assert "the failure now says: 👀 Acknowledged by @U0DEMO001 at " in out
    assert "the same signed request again: HTTP 401, refused as a replay" in out
    [reply] = replies
    assert reply["text"].startswith(":eyes: <@U0DEMO001> acknowledged this failure")
    assert "[Acknowledge] [Mute 24 h]" in out  # the buttons, as the printout shows them


def _check_digest(run: DemoRun, digests: list[dict]) -> int:
    """With both emulators, the weekly digest of the samples' week: one per channel and Chat space
    that was sent runs, none for SMS, PagerDuty or Teams. Returns the Google Chat cards expected."""
    out = run.output
    if "started Firestore emulator" not in out or "started Pub/Sub emulator" not in out:
        assert "no weekly digest" in out and not digests
        return 8
    assert (
        "weekly digest of 2026-11-20 03:00 to 2026-11-27 03:00 UTC, asked for on the sweep topic: "
        "2 Slack message(s) (channels C0DATAENG, C0DEFAULT1) and 2 Google Chat card(s)" in out
    )
    by_channel = {p["channel"]: json.dumps(p["blocks"], ensure_ascii=False) for p in digests}
    assert "*demand-forecast*: 3 runs, 33.3% succeeded, 2 failed" in by_channel["C0DEFAULT1"]
    assert "*feature-backfill*: 1 failed run in a row" in by_channel["C0DATAENG"]
    return 10


def _check_nothing_left(run: DemoRun) -> None:
    assert marked_pids(run.token) == []
    ports = run.ports()
    assert ports, "the demo did not say where it served"
    assert [p for p in ports if port_open(p)] == []


def test_demo_with_the_emulator_delivers_every_sample_and_leaves_nothing(run_demo) -> None:
    require_tool(gcloud_path() is not None, INSTALL_HINT)
    run = run_demo()
    assert run.finish() == 0, run.output
    assert "started Pub/Sub emulator" in run.output
    for sample in SAMPLES:
        assert f"published {sample.name}" in run.output
    assert (
        "published events/feature-backfill-failed.logentry.json as Vertex AI's log sink would" in run.output
    )
    _check_delivered(run)
    _check_nothing_left(run)


def test_demo_without_the_emulator_pushes_straight_to_the_function(run_demo) -> None:
    run = run_demo("--no-emulator")
    assert run.finish() == 0, run.output
    assert "Pub/Sub emulator" not in run.output
    assert run.output.count("the function answered HTTP 200") == 8
    _check_delivered(run)
    _check_nothing_left(run)


def test_the_installed_command_runs_outside_the_checkout(run_demo, operator_tools: Path) -> None:
    """``notifier-sandbox`` from ``uv tool install .``: the function and samples it carries."""
    run = run_demo("--no-emulator", "--no-dedup", command=[str(operator_tools / "notifier-sandbox")])
    assert run.finish() == 0, run.output
    _check_delivered(run)
    _check_nothing_left(run)
    [log] = run.workdir.glob("function-*.log")
    assert f"notifier {__version__} starting" in log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_stops_everything(run_demo, signum: int) -> None:
    with_emulator = gcloud_path() is not None
    run = run_demo() if with_emulator else run_demo("--no-emulator")
    wait_until(lambda: "started functions-framework" in run.output, timeout=90, message=lambda: run.output)
    assert len(marked_pids(run.token)) >= (3 if with_emulator else 2)  # demo, function (and emulator)
    os.kill(run.proc.pid, signum)
    assert run.finish(timeout=60) == 130, run.output
    assert f"{signal.Signals(signum).name}: stopping everything" in run.output
    assert "stopped everything" in run.output
    _check_nothing_left(run)


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [("/repo/sandbox/__main__.py", "python -m sandbox"), ("/venv/bin/notifier-sandbox", "notifier-sandbox")],
)
def test_the_help_names_the_command_as_it_was_started(
    argv0: str, prog: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sandbox.demo import parse_args

    monkeypatch.setattr(sys, "argv", [argv0, "--help"])
    with pytest.raises(SystemExit):
        parse_args(None)
    assert capsys.readouterr().out.startswith(f"usage: {prog} ")
