"""The weekly digest's cost: the pure rules over a large history, and the read on the Firestore emulator.

Two measures, in the same run:

- **rules**: ``bench.history_data``'s history (200 pipelines x 90 days x 24 runs a day, about
  430,000 runs, in a full run) held in memory as ``RunRecord`` values, every one of them
  through the digest's one pass (``DigestRun.builders``: each run to the builder of each of
  its targets, one Slack channel per team), then every channel's ``Digest`` decided, its
  content built and rendered for Slack. Timed alone (wall seconds), then once more under
  ``tracemalloc`` for the peak memory the digest itself holds (the records' own memory is not
  counted: in production they stream from Firestore, a page at a time). Only the runs that
  ended in the period and the previous one are kept by the builders; the function reads no
  others (``records_in_window``).
- **firestore**: a smaller history written to the emulator (``record_many``), then the same
  pass reading it with ``FirestoreHistory.runs_between``: seconds, and documents read per
  digest (one per run of the two periods, whatever the number of channels).

    python -m bench.digest            # the full size, printed
"""

from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from bench import history as history_bench
from bench.history_data import END, TEAMS, runs
from notifier.config import Config
from notifier.destinations.digest_content import digest_content
from notifier.destinations.slack.digest_render import render_digest
from notifier.digest import DigestRun
from notifier.digest_rules import Period
from notifier.history_rules import RunRecord

PERIOD = Period(END - timedelta(days=7), END)
CONFIG = Config.from_env(
    {"SLACK_BOT_TOKEN": "xoxb-bench", "ALLOWED_PROJECTS": "bench-project", "ALLOWED_REGIONS": "us-central1"},
    check=False,
)


def channel(team: str) -> str:
    """One Slack channel per team: ``slack:C0T03``."""
    return f"slack:C0T{TEAMS.index(team):02d}" if team in TEAMS else "slack:C0T99"


def record(run: dict[str, Any]) -> RunRecord:
    """A generated run as the function records it, sent to its team's channel."""
    return history_bench.record(run, (channel(run["labels"]["team"]),))


class _Slack:
    """What ``DigestRun`` asks of a destination before sending: its name, and the address is fine."""

    name = "slack"
    digests = True

    def takes_digest(self, address: str) -> bool:
        return True


def _digests(source: Any) -> dict[str, Any]:
    """One request's work without the posting: the pass, each channel's digest, content and Slack render."""
    runner = DigestRun(CONFIG, [_Slack()], source)  # type: ignore[list-item]
    builders, read, _ = runner.builders(PERIOD)
    messages = blocks = 0
    for target in sorted(builders):
        digest = builders[target].build()
        if digest is None:
            continue
        payloads = render_digest(digest_content(digest), channel=target.partition(":")[2])
        messages += len(payloads)
        blocks += sum(len(p["blocks"]) for p in payloads)
    return {"read": read, "channels": len(builders), "messages": messages, "blocks": blocks}


def rules(pipelines: int, days: int, per_day: int) -> dict[str, Any]:
    """The pure rules over the whole history held in memory: seconds, peak MB of the digest."""
    started = time.perf_counter()
    records = [record(run) for run in runs(pipelines, days, per_day, end=END)]
    generated = time.perf_counter() - started
    window = Period(PERIOD.previous.start, PERIOD.end)
    in_window = sum(1 for r in records if r.end_time is not None and r.end_time in window)
    gc.collect()
    started = time.perf_counter()
    figures = _digests(lambda period: records)
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    _digests(lambda period: records)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "runs": len(records),
        "records_in_window": in_window,
        "generate_s": generated,
        "seconds": seconds,
        "peak_mb": peak / 2**20,
        **figures,
    }


def firestore_read(firestore: Any, pipelines: int, days: int, per_day: int) -> dict[str, Any]:
    """The same pass reading the Firestore emulator (``runs_between``): seconds and documents read."""
    from google.cloud import firestore as fs

    from notifier.state.history import FirestoreHistory

    os.environ.update(firestore.env)
    store = FirestoreHistory(fs.Client(project=firestore.project), f"bench-digest-{int(time.time())}")
    started = time.perf_counter()
    batch: list[RunRecord] = []
    written = 0
    for run in runs(pipelines, days, per_day, end=END):
        batch.append(record(run))
        if len(batch) == 500:
            written += store.record_many(batch)[0]
            batch = []
    written += store.record_many(batch)[0] if batch else 0
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    figures = _digests(lambda period: store.runs_between(period.start, period.end))
    return {
        "stored": written,
        "seed_s": seeded,
        "seconds": time.perf_counter() - started,
        "reads": figures["read"],
        **figures,
    }


def measure(
    firestore: Any, rules_size: tuple[int, int, int], read_size: tuple[int, int, int]
) -> dict[str, Any]:
    """Both measures (see the module doc)."""
    return {"rules": rules(*rules_size), "firestore": firestore_read(firestore, *read_size)}


def main() -> None:
    """The rules at full size, printed (the Firestore part runs in ``bench/run.py``)."""
    figures = rules(200, 90, 24)
    print(
        f"digest rules: {figures['runs']:,} runs in memory ({figures['records_in_window']:,} in the two periods), "
        f"{figures['channels']} channels, {figures['messages']} messages: {figures['seconds']:.2f} s, "
        f"peak {figures['peak_mb']:.1f} MB",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
