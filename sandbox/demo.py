"""``python -m sandbox``: the whole notifier on this machine, with no cloud account.

It starts the Pub/Sub emulator (when installed) with a topic pushed to the function,
the function under functions-framework, and the Slack, Vertex AI and Cloud Logging
stand-ins, all through
``LocalStack`` (the wiring the end-to-end tests use). It publishes every
``samples/*.status.json`` through the exit-handler stub as a pipeline would, and every
``samples/events/*.logentry.json`` as Vertex AI's log sink would (a pipeline without the
stub, routed to its team's channel by its labels), prints each Slack message as it
arrives, and stops everything it started however it ends. Then it plays one pipeline's
nights in turn (``samples/streak/``: failed, failed, succeeded): with the Firestore
emulator, a thread per failing streak, its root rewritten and the recovery shown. Every
run also goes to a Google Chat space and a Teams channel, every failure by SMS, and the
failing streak pages PagerDuty once: the second failure updates the incident, the
recovery resolves it. With both emulators, the messages have buttons, and the demo ends
with a click: Acknowledge on a failure, sent to the interactivity function
(``slack_actions``) as Slack sends it, signed with the demo's own signing secret; the
failure is acknowledged, and the same request again is refused as a replay. Last, the
weekly digest of the sample runs (run history is kept with Firestore): one request on the
sweep topic, one digest per Slack channel and Chat space that was sent runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType

from notifier.actions.commands import STATUS_BLOCK
from notifier.model import FAILED
from notifier.sources.final_status import parse_status
from sandbox.console import Printer, plain
from sandbox.firestore_emulator import FirestoreEmulator, firestore_gcloud
from sandbox.paths import DEFAULT_WORKDIR, SAMPLES_DIR
from sandbox.procs import WaitTimeout, wait_until
from sandbox.pubsub_emulator import INSTALL_HINT, PubSubEmulator, gcloud_path
from sandbox.slack_standin import Posted, SlackStandin, Updated
from sandbox.stack import CHAT_SPACES, TEAMS_CHANNELS, LocalStack, Route, push_body
from sandbox.stub_message import as_pipeline_message
from tfx_exit_stub import publish_final_status

DEFAULT_REGION = "us-central1"
# The sample LogEntries name the project by id (as log names do), the sample jobs by number.
SAMPLE_PROJECTS = {"acme-ml-prod": "271009669852"}
# Runs without the stub are routed by their labels: the sample event's pipeline is team=data-eng.
DEMO_ROUTES = (
    '[{"match": {"labels": {"team": "data-*"}}, "channel": "C0DATAENG", "google_chat": ["data-eng"]}]'
)
# Every other run also goes to the Google Chat space "ml-alerts"; failures by SMS to this number.
DEMO_CHAT_SPACE = "ml-alerts"
DEMO_SMS_TO = "+15551230001"
# Failures page this PagerDuty service (one incident per failing streak); every run gets a Teams card.
DEMO_PAGERDUTY_SERVICE = "ml-oncall"
DEMO_TEAMS_CHANNEL = "ml-alerts"
# The demo's click: who clicks Acknowledge, and on which run's failure.
DEMO_USER = "U0DEMO001"
CLICK_JOB = "churn-training-20261127061500"
EXIT_INTERRUPTED = 130


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived: unwind through every ``finally`` and stop what was started.

    A BaseException, like KeyboardInterrupt, so no ``except Exception`` on the way swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options of the demo."""
    parser = argparse.ArgumentParser(
        # `notifier-sandbox` when installed; `python -m sandbox` (argv[0] its __main__.py) from a checkout.
        prog="python -m sandbox" if Path(sys.argv[0]).name == "__main__.py" else Path(sys.argv[0]).name,
        description="Run the pipeline-status notifier locally: emulator, function, Slack and Vertex stand-ins.",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="logs, emulator data and the Slack payloads (slack/) go here (default: .sandbox)",
    )
    parser.add_argument(
        "--samples",
        type=Path,
        default=SAMPLES_DIR,
        help="folder of *.status.json, jobs/ and logs/ (default: samples)",
    )
    parser.add_argument(
        "--no-emulator",
        action="store_true",
        help="post push bodies straight to the function, even with an emulator",
    )
    parser.add_argument(
        "--no-dedup",
        action="store_true",
        help="run without the Firestore emulator, i.e. without de-duplication",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for all messages (default: 120)"
    )
    return parser.parse_args(argv)


def _region(data: bytes) -> str:
    # A pipeline passes its own region to the exit handler; the sample's resource name says it.
    try:
        return parse_status(data).region or DEFAULT_REGION
    except ValueError:
        return DEFAULT_REGION


class Demo:
    """One run of the demo; ``run`` returns the exit code."""

    def __init__(self, args: argparse.Namespace, printer: Printer) -> None:
        self.args = args
        self.out = printer
        self.workdir: Path = args.workdir.resolve()
        self.payload_dir = self.workdir / "slack"
        self.statuses = sorted(args.samples.glob("*.status.json"))
        self.events = sorted(args.samples.glob("events/*.logentry.json"))
        self.streak = sorted(args.samples.glob("streak/*.status.json"))
        self.emulator: PubSubEmulator | None = None
        self.route: Route | None = None
        self._pushed = 0
        self.firestore: FirestoreEmulator | None = None
        self.stack: LocalStack | None = None
        # The demo's own Slack app: a signing secret made up for this run, and its actions topic.
        self.signing_secret = secrets.token_hex(16)
        self.actions_topic: str | None = None
        self.sweep_topic: str | None = None

    @property
    def expected(self) -> int:
        """How many Slack messages the samples make: one per status and per job event."""
        return len(self.statuses) + len(self.events) + len(self.streak)

    def _received(self, posted: Posted) -> None:
        self.out.show(posted.body)

    def _updated(self, updated: Updated) -> None:
        self.out.show_update(updated.body)

    def start(self) -> None:
        """Start the emulator (if any) and the local stack, and say where each runs."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Payloads of earlier runs would be counted as this run's messages.
        shutil.rmtree(self.payload_dir, ignore_errors=True)
        if not self.args.no_emulator and gcloud_path():
            self.emulator = PubSubEmulator.start(self.workdir)
            self.out.say(
                f"started Pub/Sub emulator at {self.emulator.host} (pid {self.emulator.process.pid})"
            )
        elif not self.args.no_emulator:
            self.out.say(f"no Pub/Sub emulator: {INSTALL_HINT}")
            self.out.say("posting push bodies straight to the function instead")
        env: dict[str, str] = {
            "ROUTES": DEMO_ROUTES,
            "GOOGLE_CHAT_SPACES": DEMO_CHAT_SPACE,
            "SMS_TO": DEMO_SMS_TO,
            "PAGERDUTY_SERVICES": DEMO_PAGERDUTY_SERVICE,
            "TEAMS_CHANNELS": DEMO_TEAMS_CHANNEL,
        }
        if not self.args.no_dedup and firestore_gcloud():
            self.firestore = FirestoreEmulator.start(self.workdir)
            # A collection per run: claims from an earlier demo must not suppress this one's posts.
            env.update(self.firestore.env, DEDUP_COLLECTION=f"demo-claims-{os.getpid()}-{int(time.time())}")
            self.out.say(
                f"started Firestore emulator at {self.firestore.host} (pid {self.firestore.process.pid}): "
                "one Slack message per run, however often it is delivered"
            )
        elif not self.args.no_dedup:
            self.out.say("no Firestore emulator: running without de-duplication")
        if self.emulator is not None and self.firestore is not None:
            # Buttons on the messages: clicks come back through the actions topic.
            self.actions_topic = self.emulator.create_topic(f"demo-actions-{os.getpid()}-{int(time.time())}")
            env.update(ACTIONS_TOPIC=self.actions_topic, SLACK_SIGNING_SECRET=self.signing_secret)
            # The weekly digest is asked for on the sweep topic, from the runs the history keeps.
            self.sweep_topic = self.emulator.create_topic(f"demo-sweep-{os.getpid()}-{int(time.time())}")
            env.update(
                SWEEP_TOPIC=self.sweep_topic,
                RUNS_COLLECTION=f"demo-runs-{os.getpid()}-{int(time.time())}",
                CHECK_SCHEDULES="false",
            )
        slack = SlackStandin(payload_dir=self.payload_dir, on_message=self._received, on_update=self._updated)
        self.stack = LocalStack.start(
            self.workdir,
            emulator=self.emulator,
            slack=slack,
            jobs_dir=self.args.samples / "jobs",
            logs=sorted((self.args.samples / "logs").glob("*.logs.json")),
            project_ids={number: name for name, number in SAMPLE_PROJECTS.items()},
            env=env,
        )
        self.stack.vertex.project_numbers.update(SAMPLE_PROJECTS)
        fn = self.stack.function
        self.out.say(f"started functions-framework (notify) at {fn.url} (pid {fn.process.pid})")
        if self.actions_topic is not None and self.firestore is not None:
            self.stack.add_route(topic=self.actions_topic)
            actions = self.stack.start_interactivity(
                {
                    **self.firestore.env,
                    "SLACK_SIGNING_SECRET": self.signing_secret,
                    "ACTIONS_TOPIC": self.actions_topic,
                    "DEDUP_COLLECTION": env["DEDUP_COLLECTION"],
                }
            )
            self.out.say(
                f"started functions-framework (slack_actions) at {actions.url} (pid {actions.process.pid}): "
                f"Slack's interactivity request URL; clicks go on to notify through {self.actions_topic}"
            )
        self.out.say(
            f"Slack stand-in at {self.stack.slack.url}, Vertex AI stand-in at {self.stack.vertex.url}, "
            f"Cloud Logging stand-in at {self.stack.logging.url}, Google Chat stand-in at "
            f"{self.stack.chat.url}, Twilio stand-in at {self.stack.twilio.url}, PagerDuty stand-in at "
            f"{self.stack.pagerduty.url}, Teams stand-in at {self.stack.teams.url}"
        )

    def send(self) -> None:
        """Publish every sample through the stub (or push it when there is no emulator)."""
        assert self.stack is not None
        if self.emulator is not None:
            self.route = self.stack.add_route()
            self.out.say(f"topic {self.route.topic} pushes to the function")
            # The stub's Pub/Sub client finds the emulator the way a developer's would.
            os.environ.update(self.emulator.env)
        for path in self.statuses:
            self._publish_status(path)
        for n, path in enumerate(self.events, 1):
            if self.emulator is not None:
                message_id = self.emulator.publish(self.route.topic, path.read_bytes())
                self.out.say(
                    f"published events/{path.name} as Vertex AI's log sink would: "
                    f"a run without the exit handler (message {message_id})"
                )
            else:
                status = self.stack.function.push(push_body(path.read_bytes(), message_id=f"demo-event-{n}"))
                self.out.say(f"pushed events/{path.name}: the function answered HTTP {status}")

    def _publish_status(self, path: Path) -> None:
        """One final status, as the pipeline's exit handler sends it."""
        assert self.stack is not None
        data = path.read_bytes()
        if self.emulator is not None:
            message_id = publish_final_status(data, self.route.topic, gcp_region=_region(data), timeout=30)
            self.out.say(f"published {path.name} (message {message_id})")
            return
        data, attributes = as_pipeline_message(data, gcp_region=_region(data))
        self._pushed += 1
        status = self.stack.function.push(push_body(data, attributes, message_id=f"demo-{self._pushed}"))
        self.out.say(f"pushed {path.name}: the function answered HTTP {status}")

    def show_streak(self) -> None:
        """One pipeline's nights in turn: a failing streak in one thread, then its recovery."""
        assert self.stack is not None
        if not self.streak:
            return
        threads = self.firestore is not None
        self.out.say(
            "one pipeline, night after night: "
            + (
                "one thread per failing streak"
                if threads
                else "without Firestore, no threads: each night on its own"
            )
        )
        for path in self.streak:
            before = len(self.stack.slack.messages()), len(self.stack.teams.posts)
            self._publish_status(path)
            # Teams is the last destination a run is sent to: once its card is there, the night is done.
            wait_until(
                lambda before=before: (
                    len(self.stack.slack.messages()) > before[0] and len(self.stack.teams.posts) > before[1]
                ),
                timeout=self.args.timeout,
                interval=0.05,
                message=f"the Slack message and the Teams card for {path.name}",
            )
        if threads:
            slack = self.stack.slack
            roots = [p for p in slack.top_level() if slack.replies(p.ts)]
            replies = sum(len(slack.replies(p.ts)) for p in roots)
            self.out.say(
                f"the streak is {len(roots)} thread: a root, {replies} replies "
                f"(the last one, the recovery, also shown in the channel) and {len(slack.updates)} root updates"
            )

    def wait(self) -> float:
        """Wait until Slack has a message for every sample sent at once; returns the seconds it took."""
        assert self.stack is not None
        slack, expected = self.stack.slack, len(self.statuses) + len(self.events)
        started = time.monotonic()
        wait_until(
            lambda: len(slack.messages()) >= expected,
            timeout=self.args.timeout,
            interval=0.05,
            message=lambda: (
                f"{expected} Slack messages (got {len(slack.messages())}); see {self.stack.function.process.log_path}"
                if self.stack
                else "Slack messages"
            ),
        )
        return time.monotonic() - started

    def show_other_destinations(self) -> None:
        """Google Chat got a card per run (threaded by pipeline), SMS a text per failure."""
        assert self.stack is not None
        chat, twilio = self.stack.chat, self.stack.twilio
        runs = [*self.statuses, *self.events, *self.streak]
        failures = sum(
            1 for path in [*self.statuses, *self.streak] if parse_status(path.read_bytes()).state == FAILED
        )
        wait_until(
            lambda: len(chat.messages) >= len(runs) and len(twilio.sent) >= failures,
            timeout=self.args.timeout,
            interval=0.05,
            message=lambda: (
                f"{len(runs)} Chat cards and {failures} SMS (got {len(chat.messages)}, {len(twilio.sent)})"
            ),
        )
        spaces = {name: len(chat.in_space(space)) for name, space in CHAT_SPACES.items()}
        threads: dict[str, int] = {}
        for message in chat.messages:
            key = message.body.get("thread", {}).get("threadKey", "?")
            threads[key] = threads.get(key, 0) + 1
        self.out.say(
            "Google Chat: "
            + ", ".join(f"{count} card(s) in space {name}" for name, count in spaces.items() if count)
            + "; threads by pipeline: "
            + ", ".join(f"{key} ({count})" for key, count in sorted(threads.items()))
        )
        for sms in twilio.sent:
            self.out.say(f"SMS to {sms.to} ({len(sms.body)} characters): {sms.body}")

    def show_paging(self) -> None:
        """PagerDuty: the failing streak is one incident, updated, then resolved; Teams: a card per run."""
        assert self.stack is not None
        pagerduty, teams = self.stack.pagerduty, self.stack.teams
        pipeline = "demand-forecast"
        if self.streak:
            incident = wait_until(
                lambda: next(
                    (
                        a
                        for a in pagerduty.alerts()
                        if a.summary.startswith(f"{pipeline} ") and a.status == "resolved"
                    ),
                    None,
                ),
                timeout=self.args.timeout,
                interval=0.05,
                message=lambda: (
                    f"the resolved PagerDuty incident of {pipeline} (events: {len(pagerduty.events)})"
                ),
            )
            trail = ", ".join("updated" if e.outcome == "added" else e.outcome for e in incident.events)
            self.out.say(
                f"PagerDuty: {pipeline}'s failing streak is one incident ({incident.dedup_key}, "
                f"severity {incident.severity}): {trail}"
            )
            self.out.say(f"  {incident.summary}")
        channel = TEAMS_CHANNELS[DEMO_TEAMS_CHANNEL]
        expected = len(self.statuses) + len(self.streak)  # the job events go where their rule says
        wait_until(
            lambda: len(teams.in_channel(channel)) >= expected,
            timeout=self.args.timeout,
            interval=0.05,
            message=lambda: f"{expected} Teams cards (got {len(teams.in_channel(channel))})",
        )
        self.out.say(
            f"Microsoft Teams: {len(teams.in_channel(channel))} Adaptive Cards in channel {channel}, "
            f"the largest {max(run.size for run in teams.runs):,} bytes of the 28 KB a card may have"
        )

    def show_dedup(self) -> None:
        """Deliver the first sample again, as a retried exit handler would: no second post."""
        if self.firestore is None or self.stack is None or not self.statuses:
            return
        path = self.statuses[0]
        data, attributes = as_pipeline_message(path.read_bytes(), gcp_region=_region(path.read_bytes()))
        status = self.stack.function.push(push_body(data, attributes, message_id="demo-redelivery"))
        posts = len(self.stack.slack.messages())
        function = self.stack.function
        try:
            # The worker writes its log line as it answers: wait for it, with a deadline.
            wait_until(lambda: "Duplicate delivery" in function.log_text(), timeout=10, interval=0.05)
        except WaitTimeout:
            raise RuntimeError(
                f"the redelivery (HTTP {status}) was not recognised as a duplicate; see {function.process.log_path}"
            ) from None
        self.out.say(
            f"delivered {path.name} again: HTTP {status}, recognised as a duplicate, "
            f"still {posts} Slack messages"
        )

    def show_click(self) -> None:
        """Click Acknowledge on a failure as Slack would: a request signed with the demo's signing secret."""
        if self.stack is None:
            return
        if self.actions_topic is None or self.stack.interactivity is None:
            self.out.say(
                "no buttons to click: acting from Slack needs both the Pub/Sub and the Firestore emulator"
            )
            return
        slack = self.stack.slack
        failure = next(
            (
                p
                for p in slack.top_level()
                if str(p.metadata.get("event_payload", {}).get("job", "")).endswith(CLICK_JOB)
            ),
            None,
        )
        if failure is None:
            raise RuntimeError(f"no message about {CLICK_JOB} to click on")
        body, headers = slack.click(
            failure.channel, failure.ts, "notifier_ack", user=DEMO_USER, signing_secret=self.signing_secret
        )
        stamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        status, _ = self.stack.interactivity.post(body, headers)
        self.out.say(
            f"{DEMO_USER} clicks Acknowledge on the failure of {CLICK_JOB}: Slack's request ({len(body)} bytes, "
            f"timestamp {stamp}, signature {signature[:15]}…: HMAC-SHA256 of v0:{stamp}:<body> under the "
            f"demo's signing secret) answered HTTP {status} by slack_actions"
        )

        def acknowledged() -> str:
            current = slack.current(failure.channel, failure.ts) or {}
            for block in current.get("blocks") or []:
                if block.get("block_id") == STATUS_BLOCK:
                    return " · ".join(e.get("text", "") for e in block.get("elements", []))
            return ""

        try:
            line = wait_until(acknowledged, timeout=30, interval=0.05)
        except WaitTimeout:
            raise RuntimeError(
                f"the click was not acknowledged; see {self.stack.function.process.log_path}"
            ) from None
        buttons = [
            e["text"]["text"]
            for b in (slack.current(failure.channel, failure.ts) or {}).get("blocks", [])
            if b.get("type") == "actions" and str(b.get("block_id", "")).startswith("notifier_")
            for e in b["elements"]
        ]
        self.out.say(f"the failure now says: {plain(line)}; its buttons: {', '.join(buttons)}")
        again, _ = self.stack.interactivity.post(body, headers)
        self.out.say(f"the same signed request again: HTTP {again}, refused as a replay")

    def digest_period(self) -> tuple[datetime, datetime]:
        """The week ending the hour after the samples' latest run ended (their runs are in the past)."""
        ends = []
        for path in (self.args.samples / "jobs").glob("*.json"):
            end = json.loads(path.read_text()).get("endTime")
            if isinstance(end, str):
                ends.append(datetime.fromisoformat(end.replace("Z", "+00:00")))
        last = max(ends, default=datetime.now(timezone.utc))
        end = last.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return end - timedelta(days=7), end

    def show_digest(self) -> None:
        """Ask for the weekly digest on the sweep topic, as Cloud Scheduler does; show what it posted."""
        if self.stack is None:
            return
        if self.sweep_topic is None:
            self.out.say(
                "no weekly digest: it reads run history (Firestore) and is asked for on the sweep topic "
                "(Pub/Sub): this run has not both emulators"
            )
            return
        slack, chat = self.stack.slack, self.stack.chat
        before_chat = len(chat.messages)
        start, end = self.digest_period()
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        route = self.stack.add_route(topic=self.sweep_topic)
        self.stack.publish(
            route,
            b"{}",
            {"action": "digest", "period_start": start.strftime(stamp), "period_end": end.strftime(stamp)},
        )
        function = self.stack.function
        try:
            wait_until(lambda: "Digest of" in function.log_text(), timeout=self.args.timeout, interval=0.05)
        except WaitTimeout:
            raise RuntimeError(f"the weekly digest did not run; see {function.process.log_path}") from None
        digests = [p for p in slack.messages() if p.body.get("text", "").startswith("Weekly digest")]
        channels = ", ".join(sorted(p.channel for p in digests))
        self.out.say(
            f"weekly digest of {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, asked for on the sweep "
            f"topic: {len(digests)} Slack message(s) (channels {channels}) and "
            f"{len(chat.messages) - before_chat} Google Chat card(s); SMS, PagerDuty and Teams get none"
        )

    def stop(self) -> None:
        """Stop the stack and the emulators, whatever state they are in."""
        try:
            if self.stack is not None:
                self.stack.stop()
        finally:
            try:
                if self.emulator is not None:
                    self.emulator.stop()
            finally:
                if self.firestore is not None:
                    self.firestore.stop()
        self.out.say("stopped everything: no processes left, ports freed")


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when every sample reached Slack, 1 on failure, 130 when stopped."""
    args = parse_args(argv)
    printer = Printer(sys.stdout)
    if importlib.util.find_spec("functions_framework") is None:
        printer.say("functions-framework is not installed here: run `make venv` (or `make demo`) first")
        return 2
    demo = Demo(args, printer)
    if not demo.statuses:
        printer.say(f"no *.status.json in {args.samples}")
        return 2
    began = time.monotonic()
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in _SIGNALS}
    try:
        demo.start()
        demo.send()
        demo.wait()
        demo.show_streak()
        demo.show_other_destinations()
        demo.show_paging()
        demo.show_dedup()
        demo.show_click()
        demo.show_digest()
        stack = demo.stack
        extra = (
            f", {len(stack.chat.messages)} Google Chat cards, {len(stack.twilio.sent)} SMS, "
            f"{len(stack.pagerduty.events)} PagerDuty events and {len(stack.teams.posts)} Teams cards"
            if stack
            else ""
        )
        printer.say(
            f"all {demo.expected} messages reached Slack{extra} in {time.monotonic() - began:.1f}s; "
            f"raw payloads in {demo.payload_dir}"
        )
        return 0
    except Stopped as stop:
        printer.say(f"{stop.args[0]}: stopping everything")
        return EXIT_INTERRUPTED
    except (WaitTimeout, RuntimeError, OSError, ValueError) as exc:
        printer.say(f"demo failed: {exc}")
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave processes behind.
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            demo.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
