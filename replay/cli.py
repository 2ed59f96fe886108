"""The ``replay`` console command: argument parsing, output and exit codes.

Exit codes: 0 done; 1 a runtime failure (Pub/Sub or the function unreachable, a publish
failed, a dry run the function would reject); 2 bad input or usage (nothing was sent);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import NoReturn

from notifier.names import is_region
from replay import invoke
from replay.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BadInputError, ReplayError, RuntimeFailure
from replay.inputs import Message, load_files
from replay.progress import Progress
from replay.publishing import check_subscription, check_topic, publish_all, resolve
from replay.redrive import redrive

EPILOG = """\
exit codes: 0 done; 1 runtime failure (Pub/Sub or the function unreachable, a publish
failed); 2 bad input or usage, nothing sent; 130 interrupted.
Set PUBSUB_EMULATOR_HOST=host:port to use the Pub/Sub emulator instead of Pub/Sub."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, like every other replay error."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` and exit with the usage code."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _wrap(text: str) -> str:
    # The raw formatter keeps the epilog's lines; descriptions are wrapped here instead.
    return textwrap.fill(text, width=88)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _checked(check: Callable[[str], bool], what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        # argparse runs string defaults through here too; "" means "not set".
        if text and not check(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    return parse


def _add_routing(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "attributes for raw statuses (a saved Pub/Sub message keeps its own); where a message "
        "goes is the pipeline's own setting as Vertex AI runs it, never an attribute",
    )
    group.add_argument(
        "--region",
        default="",
        type=_checked(is_region, "a GCP region such as us-central1"),
        help="gcp_region attribute: the Vertex AI region of the run",
    )


def _add_timeout(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help=f"give up on {what} after this long, retries included (default: 30)",
    )


FILES_HELP = (
    "a saved final status (FinalStatusStr JSON), or messages saved with "
    "`gcloud pubsub subscriptions pull --format=json`"
)


def _subcommand(
    commands: argparse._SubParsersAction, name: str, summary: str, description: str, run: Callable
) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        name,
        help=summary,
        description=_wrap(description),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.set_defaults(run=run)
    return sub


def build_parser() -> Parser:
    """The argument parser with its three subcommands."""
    parser = Parser(
        prog="replay",
        description="Replay pipeline final statuses through the Slack notifier.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    publish_cmd = _subcommand(
        commands,
        "publish",
        "publish saved statuses to a topic through the exit-handler stub",
        "Publish saved statuses through tfx_exit_stub.publish_final_status, exactly as a "
        "pipeline does. Every file is checked before the first is published.",
        run_publish,
    )
    publish_cmd.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    publish_cmd.add_argument("--topic", required=True, help="projects/PROJECT/topics/TOPIC")
    _add_routing(publish_cmd)
    _add_timeout(publish_cmd, "a publish")

    invoke_cmd = _subcommand(
        commands,
        "invoke",
        "post statuses to a running function as Pub/Sub push bodies, or --dry-run them",
        "Post each message to the function as the body a Pub/Sub push subscription sends, "
        "bypassing Pub/Sub. An https URL that is not loopback gets an identity token from "
        "your Google credentials. --dry-run instead runs the function's own parse, enrich "
        "and render here and prints the Slack payload (stdout) and a Block Kit Builder "
        "preview link (stderr), sending nothing to Slack.",
        run_invoke,
    )
    invoke_cmd.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    target = invoke_cmd.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="the function's URL, e.g. http://127.0.0.1:8080/")
    target.add_argument("--dry-run", action="store_true", help="render in process; send nothing")
    _add_routing(invoke_cmd)
    _add_timeout(invoke_cmd, "a request")

    redrive_cmd = _subcommand(
        commands,
        "redrive",
        "move dead-lettered messages back to their topic",
        "Pull messages from a dead-letter subscription and publish them to TOPIC with their "
        "data and attributes (less Pub/Sub's CloudPubSubDeadLetterSource* ones). Each is "
        "acknowledged only after its publish succeeded, so a stopped run can be run again.",
        run_redrive,
    )
    redrive_cmd.add_argument(
        "--subscription", required=True, help="projects/PROJECT/subscriptions/DEAD_LETTER_SUB"
    )
    redrive_cmd.add_argument(
        "--topic", required=True, help="projects/PROJECT/topics/TOPIC to publish back to"
    )
    redrive_cmd.add_argument(
        "--max", type=_positive_int, default=None, metavar="N", help="stop after N messages"
    )
    redrive_cmd.add_argument(
        "--batch", type=_positive_int, default=100, metavar="N", help="messages per pull (default: 100)"
    )
    _add_timeout(redrive_cmd, "a pull or publish")
    return parser


def _reject_flags_for_saved(messages: list[Message], args: argparse.Namespace) -> None:
    saved = next((m for m in messages if not m.is_raw_status), None)
    if saved is not None and args.region:
        raise BadInputError(
            f"{saved.source}: a saved Pub/Sub message is replayed with its own attributes; "
            "--region applies to raw statuses only"
        )


def run_publish(args: argparse.Namespace) -> int:
    """``replay publish``: validate every file and the topic, then publish each through the stub."""
    topic = check_topic(args.topic)
    messages = load_files(args.files)
    _reject_flags_for_saved(messages, args)

    def report(message: Message, message_id: str) -> None:
        print(f"{message.source}: published to {topic} as message {message_id}", flush=True)

    ids = publish_all(
        messages,
        topic,
        region=args.region,
        timeout=args.timeout,
        report=report,
    )
    print(f"published {len(ids)} message(s) to {topic}")
    return EXIT_OK


def run_invoke(args: argparse.Namespace) -> int:
    """``replay invoke``: post push bodies to a function, or dry-run them in process."""
    url = invoke.check_url(args.url) if args.url else ""
    messages = load_files(args.files)
    _reject_flags_for_saved(messages, args)
    bodies = []
    for message in messages:
        data, attributes = resolve(message, region=args.region)
        bodies.append((message, invoke.push_request(message, data, attributes)))

    if args.dry_run:
        return _dry_run(bodies)

    token = invoke.identity_token(url) if invoke.needs_identity_token(url) else None
    failed = []
    for message, body in bodies:
        status, text = invoke.post(url, body, token=token, timeout=args.timeout)
        print(f"{message.source}: HTTP {status} from {url}", flush=True)
        if not 200 <= status < 300:
            failed.append(f"{message.source} got HTTP {status} ({' '.join(text.split())[:200] or 'no body'})")
    if failed:
        raise RuntimeFailure(
            f"{len(failed)} of {len(bodies)} rejected, Pub/Sub would redeliver them: {failed[0]}"
        )
    return EXIT_OK


def _dry_run(bodies: list) -> int:

    notifier, keeper, notes = invoke.make_dry_run_notifier(os.environ, [body for _, body in bodies])
    for note in notes:
        print(f"replay invoke: note: {note}", file=sys.stderr)
    rejected = []
    for message, body in bodies:
        result = invoke.dry_run(notifier, keeper, body)
        print(f"{message.source}: the function would say: {result.outcome}", file=sys.stderr)
        for note in result.notes:
            print(f"  {note}", file=sys.stderr)
        if result.payloads:
            # One JSON object per message: what each destination and address would get.
            print(json.dumps(result.payloads, indent=2, ensure_ascii=False), flush=True)
        if result.payload is not None:
            print(f"  Slack preview: {invoke.block_kit_builder_url(result.payload)}", file=sys.stderr)
        if result.outcome == "rejected":
            rejected.append(message.source)
    if rejected:
        raise RuntimeFailure(f"the function would reject {', '.join(rejected)} (see the notes above)")
    return EXIT_OK


def run_redrive(args: argparse.Namespace) -> int:
    """``replay redrive``: dead-letter subscription back to the topic, with a summary."""
    subscription = check_subscription(args.subscription)
    topic = check_topic(args.topic)
    result = redrive(
        subscription,
        topic,
        max_messages=args.max,
        batch=args.batch,
        timeout=args.timeout,
        progress=Progress("redrive", args.max),
    )
    print(f"redrive: {result.summary()} ({subscription} -> {topic})", flush=True)
    if result.interrupted:
        print("replay redrive: interrupted; run it again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.failed:
        raise RuntimeFailure(f"{result.errors[0]}; {result.failed} message(s) left on {subscription}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``replay``; returns the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ReplayError as exc:
        print(f"replay {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"replay {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
