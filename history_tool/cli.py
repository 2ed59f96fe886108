"""The ``notifier-history`` console command: argument parsing, output and exit codes.

Settings come from the environment, the function's own variables: ``ALLOWED_PROJECTS`` and
``ALLOWED_REGIONS`` (or ``GOOGLE_CLOUD_PROJECT`` / ``GCP_REGION``), ``FIRESTORE_DATABASE``,
``RUNS_COLLECTION``, ``RUN_HISTORY_DAYS``, ``VERTEX_API_ENDPOINT``, and the routing settings
(``ROUTES``, ``SLACK_CHANNEL_ID``, ``GOOGLE_CHAT_SPACES``, …) so that each run is recorded
with the channels the function would route it to. ``FIRESTORE_EMULATOR_HOST`` points it at
the emulator.

Exit codes: 0 done; 1 a runtime failure (Vertex AI or Firestore; the cursor keeps the
place, run again with the same arguments); 2 bad usage or settings; 130 interrupted
(the cursor keeps the place).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from history_tool.backfill import (
    Backfill,
    BackfillError,
    Cursor,
    history_store,
    scopes,
    vertex_lister,
)
from notifier.config import Config
from notifier.errors import ConfigError
from notifier.names import is_project, is_region

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_CURSOR = ".notifier-history-backfill.json"
EPILOG = """\
exit codes: 0 done; 1 runtime failure (run again with the same arguments to resume);
2 bad usage or settings; 130 interrupted (resumable).
Settings come from the function's environment variables (see docs/history.md);
FIRESTORE_EMULATOR_HOST=host:port uses the Firestore emulator."""


class Parser(argparse.ArgumentParser):
    """Usage errors in one line, with the usage exit code."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` and exit with the usage code."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 3650:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 and at most 3650")
    return value


def _checked(check: Any, what: str) -> Any:
    def parse(text: str) -> str:
        if not check(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    return parse


def build_parser() -> Parser:
    """The argument parser with its subcommand."""
    parser = Parser(
        prog="notifier-history",
        description="Operator commands for the notifier's run history.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    backfill = commands.add_parser(
        "backfill",
        help="fill the run history from Vertex AI's ListPipelineJobs",
        description=textwrap.fill(
            "Record the runs that ended in the last DAYS days in each allowed project and region, as "
            "the function records them; runs already there are left as they are. The cursor file "
            "keeps the place after every page: run the same command again to resume.",
            width=88,
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backfill.add_argument("--days", type=_days, default=30.0, help="how far back (default: 30)")
    backfill.add_argument(
        "--project",
        action="append",
        default=[],
        type=_checked(is_project, "a project id or number"),
        help="only this allowed project (repeatable; default: every allowed project id)",
    )
    backfill.add_argument(
        "--region",
        action="append",
        default=[],
        type=_checked(is_region, "a region such as us-central1"),
        help="only this allowed region (repeatable; default: every allowed region)",
    )
    backfill.add_argument(
        "--cursor",
        type=Path,
        default=Path(DEFAULT_CURSOR),
        help=f"the cursor file (default: {DEFAULT_CURSOR})",
    )
    backfill.add_argument(
        "--restart", action="store_true", help="forget an unfinished backfill in the cursor and start anew"
    )
    backfill.add_argument("--no-progress", action="store_true", help="no progress bar")
    backfill.set_defaults(run=run_backfill)
    return parser


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm  # noqa: PLC0415 - only with a bar

    return lambda scope: tqdm(desc=scope, unit=" runs", file=sys.stderr, dynamic_ncols=True)


def run_backfill(args: argparse.Namespace, env: dict[str, str]) -> int:
    """``notifier-history backfill``."""
    try:
        config = Config.from_env(env, check=False)
        config.scope.validate()
    except ConfigError as exc:
        print(f"notifier-history backfill: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        pairs = scopes(config, args.project, args.region)
        cursor = Cursor.open(args.cursor, args.days, datetime.now(timezone.utc), restart=args.restart)
    except BackfillError as exc:
        print(f"notifier-history backfill: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    backfill = Backfill(
        config,
        history_store(config, env),
        vertex_lister(config),
        cursor,
        progress=_progress_bar(not args.no_progress),
    )
    print(
        f"{'Resuming the backfill of' if cursor.resumed else 'Backfilling'} runs that ended since "
        f"{cursor.since:%Y-%m-%d %H:%M} UTC in {len(pairs)} project/region(s) into {config.history.collection}",
        file=sys.stderr,
    )
    try:
        tally = backfill.run(pairs)
    except BackfillError as exc:
        print(f"notifier-history backfill: error: {exc}; {backfill.tally.summary()}", file=sys.stderr)
        print(f"run the same command again to resume from {args.cursor}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(
            f"notifier-history backfill: interrupted; resume with the same command ({args.cursor})",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(tally.summary())
    return EXIT_OK


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    """Run ``notifier-history``; returns the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return args.run(args, dict(os.environ) if env is None else env)


if __name__ == "__main__":
    sys.exit(main())
