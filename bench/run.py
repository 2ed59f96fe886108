"""Benchmarks for the notifier on its deployed topology: cold start, warm latency, an
organisation-sized burst (and the same with the instance killed part-way), memory at full
concurrency, the stub.

    python bench/run.py            # the full run behind docs/performance.md's table (~21 minutes here)
    python bench/run.py --quick    # CI (~2 minutes): checks it all still works; fails only if a
                                   # burst lost, duplicated or dead-lettered a message or a section broke

Prints a table (with this machine's core count) and writes JSON to bench/results/latest.json.
Targets are reported, never asserted: timings on a shared 2-core machine are too noisy to gate on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Runnable as ``python bench/run.py`` from anywhere, installed or not.
for path in (REPO, REPO / "function"):  # function/ holds the notifier package
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench import claim_cost, coldstart, memory, org_burst, pipeline, streak_cost, task_logs  # noqa: E402
from bench import digest as digest_bench  # noqa: E402
from bench import history as history_bench  # noqa: E402
from bench import render as render_bench  # noqa: E402
from sandbox import topology  # noqa: E402
from sandbox.firestore_emulator import FirestoreEmulator  # noqa: E402
from sandbox.pubsub_emulator import PubSubEmulator  # noqa: E402

STUB_BENCH = REPO / "bench" / "stub_bench.py"
Row = tuple[str, str, str]  # measure, value, target
DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"

TARGETS = {
    "cold_start_ratio": 0.15,  # issue 22
    "overhead_p50_s": 0.050,
    "org_ratio_to_bound": 1.2,
    "memory_fraction": 0.5,
    "render_hostile_s": render_bench.TARGET_S,
    "history_record_p50_s": 0.015,  # issue 23
    "digest_s": 60.0,  # issue 23: the digest of ~430k runs, on a 1 vCPU / 512 MiB function
    "digest_peak_mb": 256.0,
}

# The full organisation burst takes the busiest channel's count in seconds by nature
# (~386 s for 2,000 over 100 channels); the quick one keeps CI near two minutes.
FULL = {
    "cold_runs": 10,
    "profile_runs": 3,
    "latency_messages": 100,
    "org_messages": 2000,
    "org_channels": 100,
    "probe_every": 15,
    "log_messages": 50,
    "render_runs": 20,
    "history_messages": 100,
    "history_seed": (20, 30, 24),  # pipelines x days x runs a day of bench.history_data
    "digest_rules": (200, 90, 24),  # ~430k runs in memory through the digest's rules
    "digest_read": (20, 21, 24),  # runs written to the emulator, then read for one digest
}
QUICK = {
    "cold_runs": 1,
    "profile_runs": 1,
    "latency_messages": 10,
    "org_messages": 120,
    "org_channels": 20,
    "probe_every": 5,
    "log_messages": 10,
    "render_runs": 3,
    "history_messages": 10,
    "history_seed": (5, 5, 24),
    "digest_rules": (20, 21, 24),
    "digest_read": (5, 14, 24),
}


def _section(results: dict[str, Any], name: str, fn: Callable[[], Any]) -> None:
    print(f"… {name}", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        results[name] = fn()
    except Exception as exc:
        # One broken section must not hide the others' figures; the exit code still says so.
        results[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        print(f"  {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    print(f"  {name} took {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)


def run_stub_bench(workdir: Path, quick: bool) -> dict[str, Any]:
    """Run the stub benchmark (owned elsewhere, called as it is) and keep its JSON figures."""
    if not STUB_BENCH.exists():
        return {"skipped": f"{STUB_BENCH.relative_to(REPO)} is not in this checkout"}
    out = workdir / "stub_bench.json"
    # It refuses fewer than 10 runs; 10 is its cheapest meaningful run, so quick uses that.
    argv = [sys.executable, str(STUB_BENCH), "--out", str(out), *(["--runs", "10"] if quick else [])]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"stub_bench.py exited {done.returncode}:\n{done.stderr[-2000:]}")
    return json.loads(out.read_text())


def _ms(seconds: float) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def _s(seconds: float) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds:.2f} s"


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def _paging_rows(o: dict[str, Any], label: str) -> list[Row]:
    p = o.get("paging")
    if not p:
        return []
    ok = not (p["pages_lost"] or p["pages_duplicated"] or p["cards_lost"] or p["cards_duplicated"])
    return [
        (
            f"{label}: one pipeline in ten also pages PagerDuty and posts to Teams ({p['paged']} each):"
            " incidents lost / duplicated, cards lost / duplicated; PagerDuty / Teams 429s",
            f"{p['pages_lost']} / {p['pages_duplicated']}, {p['cards_lost']} / {p['cards_duplicated']};"
            f" {p['pagerduty_429s']} / {p['teams_429s']}",
            "0 / 0, 0 / 0 " + ("met" if ok else "MISSED"),
        )
    ]


def _org_rows(o: dict[str, Any], label: str) -> list[Row]:
    ok = o["lost"] == 0 and o["duplicated"] == 0 and o["dead_lettered"] == 0
    probes = o["probe_latency_s"]
    rows = [
        (
            f"{label}: {o['messages']:,} statuses over {o['channels']} channels (busiest {o['busiest']},"
            f" the quiet half {o['quiet_counts'][0]} to {o['quiet_counts'][1]} each), Slack"
            f" {o['rate_per_second']:g}/s per channel"
            f" (bursts of {o['standin_burst']}), de-duplication on: lost / duplicated / dead-lettered",
            f"{o['lost']} / {o['duplicated']} / {o['dead_lettered']}",
            "0 / 0 / 0 " + ("met" if ok else "MISSED"),
        ),
        (
            f"{label}: total time / bound (busiest ÷ rate)",
            f"{_s(o['total_s'])} / {_s(o['lower_bound_s'])} = {o['ratio_to_bound']:.2f}x",
            f"≤ {TARGETS['org_ratio_to_bound']}x {_verdict(o['ratio_to_bound'], TARGETS['org_ratio_to_bound'])}"
            if not o["killed"]
            else "",
        ),
        (
            f"{label}: Slack 429s / hand-backs (429 to Pub/Sub) / highest delivery attempt"
            f" of {o['topology']['max_delivery_attempts']}",
            f"{o['slack_429s']} / {o['handed_back']} / {o['relay']['highest_delivery_attempt']}",
            "no 429 storm " + ("met" if o["slack_429s"] <= o["channels"] else "MISSED"),
        ),
        *_paging_rows(o, label),
        (
            f"{label}: the instance takes in every status once (posted or handed back) in",
            _s(o["first_pass_s"]),
            "",
        ),
        (
            f"{label}: quiet half, first post of each channel after the publish, p50 / max",
            f"{_s(o['quiet_first_post_s']['p50'])} / {_s(o['quiet_first_post_s']['max'])}",
            "",
        ),
        (
            f"{label}: a quiet channel's status published after that, publish → post p50 / max"
            f" ({probes['n']} probes)",
            f"{_ms(probes['p50'])} / {_ms(probes['max'])}",
            "within seconds " + ("met" if probes["n"] and probes["max"] < 5 else "MISSED"),
        ),
    ]
    if o["killed"]:
        k = o["killed"]
        rows.append(
            (
                f"{label}: killed at / back after; redeliveries that met a pending claim / claims taken over",
                f"{_s(k['killed_at_s'])} / {_s(k['restart_s'])}; {o['claims_pending_redelivered']}"
                f" / {o['claims_taken_over']}",
                "",
            )
        )
    return rows


def _cold_rows(results: dict[str, Any]) -> list[Row]:
    cold = results.get("cold_start", {})
    if "ratio" not in cold:
        return []
    target = TARGETS["cold_start_ratio"]
    return [
        (
            "Cold start of the deployed configuration: spawn → answer to the first event, median"
            f" of {cold['runs']} (listening / first event)",
            f"{_s(cold['ours_s']['p50'])} ({_s(cold['ours_listening_p50_s'])} /"
            f" {_s(cold['ours_first_event_p50_s'])})",
            "",
        ),
        (
            "Cold start, baseline (naive imports only, until they are done), median",
            f"{_s(cold['baseline_s']['p50'])} (until its exit {_s(cold['baseline_to_exit_p50_s'])})",
            "",
        ),
        (
            "Cold start ratio ours / baseline (against the baseline until its exit)",
            f"{cold['ratio']:.2f} ({cold['ratio_to_exit']:.2f})",
            f"≤ {target} {_verdict(cold['ratio'], target)}",
        ),
        (
            "Cold start CPU seconds by the answer / by the end of the baseline's imports, median",
            f"{_s(cold['ours_cpu_s']['p50'])} / {_s(cold['baseline_cpu_s']['p50'])}"
            f" = {cold['cpu_ratio']:.2f}",
            "",
        ),
    ]


def _import_rows(results: dict[str, Any]) -> list[Row]:
    prof = results.get("import_profile", {})
    if "heavy_modules" not in prof:
        return []
    listed = ", ".join(
        f"{name} {cost['cumulative_s'] * 1000:.0f} / {cost['own_s'] * 1000:.0f}"
        + (f" ({cost['phase']})" if cost["phase"] != "start" else "")
        for name, cost in prof["heavy_modules"].items()
    )
    return [
        (
            f"Cold start imports over {prof['over_s'] * 1000:.0f} ms: cumulative (with what a package was first"
            f" to import) / own ms, python -X importtime, lowest of {prof['runs']}; import main"
            f" {_s(prof['import_main_s'])}, first event {_s(prof['first_event_s'])}",
            listed,
            "",
        )
    ]


def _latency_rows(results: dict[str, Any]) -> list[Row]:
    lat = results.get("latency", {})
    if "end_to_end_s" not in lat:
        return []
    e2e, floor = lat["end_to_end_s"], lat["push_only_s"]
    return [
        (f"End to end p50 / p95 ({lat['messages']} msgs)", f"{_ms(e2e['p50'])} / {_ms(e2e['p95'])}", ""),
        ("Emulator push alone p50 / p95", f"{_ms(floor['p50'])} / {_ms(floor['p95'])}", ""),
        (
            "  of which publish → Vertex GET / Vertex GET → Slack, p50",
            f"{_ms(lat['publish_to_vertex_get_s']['p50'])} / {_ms(lat['vertex_get_to_slack_s']['p50'])}",
            "",
        ),
        (
            "Overhead beyond push p50 / p95",
            f"{_ms(lat['overhead_p50_s'])} / {_ms(lat['overhead_p95_s'])}",
            f"p50 < 50 ms {_verdict(lat['overhead_p50_s'], TARGETS['overhead_p50_s'])}",
        ),
    ]


def _dedup_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    ld = results.get("latency_dedup", {})
    if "end_to_end_s" in ld:
        e2e = ld["end_to_end_s"]
        rows.append(
            (
                f"End to end p50 / p95 with de-duplication ({ld['messages']} msgs)",
                f"{_ms(e2e['p50'])} / {_ms(e2e['p95'])}",
                "",
            )
        )
    cc = results.get("claim_cost", {})
    if "claim_cost_p50_s" in cc:
        rows.append(
            (
                f"De-duplication claim, cost per message (Firestore emulator, p50 of {cc['messages']})",
                f"{_ms(cc['claim_cost_p50_s'])} (p95 {_ms(cc['post_once_s']['p95'])})",
                "",
            )
        )
    sc = results.get("streak_cost", {})
    if "root_s" in sc:
        rows.append(
            (
                f"Thread state per message (Firestore emulator, p50 of {sc['messages']}): root / reply",
                f"{_ms(sc['root_s']['p50'])} / {_ms(sc['reply_s']['p50'])}"
                f" (p95 {_ms(sc['root_s']['p95'])} / {_ms(sc['reply_s']['p95'])})",
                "",
            )
        )
    return rows


def _burst_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for name, label in (("org_burst", "Organisation burst"), ("org_burst_kill", "Same, instance SIGKILLed")):
        if "lost" in results.get(name, {}):
            rows += _org_rows(results[name], label)
    return rows


def _memory_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    mem = results.get("memory", {})
    if "peak_pss_mb" in mem:
        rows.append(
            (
                f"Instance memory (PSS, master + worker) with {mem['requests_in_flight']} requests in flight"
                f" (concurrency {mem['concurrency']}) / configured {mem['configured_memory']}",
                f"{mem['peak_pss_mb']:.0f} MB / {mem['configured_mb']:.0f} MB = {mem['fraction_of_configured']:.2f}"
                f" (idle {mem['idle_pss_mb']:.0f} MB)",
                f"< {TARGETS['memory_fraction']} {_verdict(mem['fraction_of_configured'], TARGETS['memory_fraction'])}",
            )
        )
    org = results.get("org_burst", {})
    if org.get("memory"):
        rows.append(
            (
                "  and at the peak of the organisation burst",
                f"{org['memory']['peak_group_pss_mb']:.0f} MB",
                "",
            )
        )
    return rows


def _task_log_rows(results: dict[str, Any]) -> list[Row]:
    tl = results.get("task_logs", {})
    rows: list[Row] = []
    for variant, label in (
        ("one_task", "1 failed task"),
        ("three_tasks", "3 failed tasks read in parallel (of 5)"),
        ("three_tasks_100ms_api", "3 in parallel, +100 ms per Logging request"),
    ):
        v = tl.get(variant)
        if not v:
            continue
        rows.append(
            (
                f"Log read per failed message, {label}: extra p50 / p95"
                f" (Vertex GET → Slack post, {tl['messages']} msgs each, with vs READ_TASK_LOGS=false)",
                f"{v['extra_p50_s'] * 1000:+.0f} ms / {v['extra_p95_s'] * 1000:+.0f} ms"
                f" (with {_ms(v['with_logs_s']['p50'])} / {_ms(v['with_logs_s']['p95'])},"
                f" without {_ms(v['without_logs_s']['p50'])} / {_ms(v['without_logs_s']['p95'])};"
                f" {v['logging_requests_per_message']['p50']:g} requests)",
                "",
            )
        )
    return rows


def _render_rows(results: dict[str, Any]) -> list[Row]:
    rb = results.get("render", {})
    if "hostile_worst_s" not in rb:
        return []
    worst, base = rb["hostile_worst_s"], rb["baseline_s"]
    target = TARGETS["render_hostile_s"]
    return [
        (
            f"Render a {rb['size_bytes'] // 1024} KB hostile error, task errors and log excerpts, worst of"
            f" {len(rb['hostile_s'])} kinds (median of {rb['runs']}): Slack / Google Chat / SMS",
            " / ".join(f"{worst[d] * 1000:.1f} ms" for d in render_bench.DESTINATIONS)
            + f" (worst: {', '.join(sorted(set(rb['hostile_worst_kind'].values())))})",
            f"< {target * 1000:.0f} ms {_verdict(max(worst.values()), target)}",
        ),
        (
            f"  baseline, same run: the ordinary {rb['baseline_case']} message, Slack / Google Chat / SMS",
            " / ".join(f"{base[d] * 1000:.1f} ms" for d in render_bench.DESTINATIONS),
            "",
        ),
        (
            "  largest hostile Google Chat message (as sent) / an excerpt from 512 KB of hostile log lines"
            " / scrubbing the whole 512 KB, worst kind",
            f"{rb['chat_bytes_max']:,} bytes / {rb['excerpt_worst_s'] * 1000:.1f} ms"
            f" / {rb['scrub_whole_worst_s'] * 1000:.1f} ms",
            "≤ 32,000 bytes " + ("met" if rb["chat_bytes_max"] <= 32_000 else "MISSED"),
        ),
    ]


def _cold_path_rows(results: dict[str, Any]) -> list[Row]:
    imp = results.get("task_logs_imports", {})
    if "succeeded" not in imp:
        return []
    ok, bad = imp["succeeded"], imp["failed"]
    return [
        (
            "Cold path (text logs): Cloud Logging modules imported handling a success / a failure",
            f"{ok['logging_modules_imported_by_handling']} / {bad['logging_modules_imported_by_handling']}"
            f" (first message handled in {_s(ok['handle_s']['p50'])} / {_s(bad['handle_s']['p50'])})",
            "0 for a success " + ("met" if ok["logging_modules_imported_by_handling"] == 0 else "MISSED"),
        )
    ]


def _stub_rows(results: dict[str, Any]) -> list[Row]:
    stub = results.get("stub", {})
    if "import_plus_publish" not in stub:
        return []
    figures = stub["import_plus_publish"]
    return [
        (
            f"Stub: fresh process, import + one publish (median / p90, {stub['runs']} runs)",
            f"{figures['median_ms']:.0f} ms / {figures['p90_ms']:.0f} ms"
            f" (import alone {stub['import']['median_ms']:.0f} ms)",
            "",
        )
    ]


def _failed_rows(results: dict[str, Any]) -> list[Row]:
    return [
        (f"{name}: FAILED", section["error"][:100], "")
        for name, section in results.items()
        if isinstance(section, dict) and "error" in section
    ]


# The table's rows, section by section, in the order docs/performance.md shows them.
def _history_rows(results: dict[str, Any]) -> list[Row]:
    hb = results.get("history", {})
    if "record_p50_s" not in hb:
        return []
    return [
        (
            f"Run history: recording a run (Firestore emulator, p50 of {hb['messages']},"
            f" {hb['seeded']['runs']:,} runs stored)",
            f"{_ms(hb['record_p50_s'])} (p95 {_ms(hb['record_s']['p95'])})",
            f"p50 < 15 ms {_verdict(hb['record_p50_s'], TARGETS['history_record_p50_s'])}",
        ),
        (
            "Run history: the baseline query before rendering, p50 / p95",
            f"{_ms(hb['baseline_s']['p50'])} / {_ms(hb['baseline_s']['p95'])}",
            f"{hb['reads_per_message']:.1f} reads, {hb['writes_per_message']} write per run",
        ),
        (
            "Posting path in process (Vertex stand-in, claim, threads, Slack stand-in) p50: history on / off",
            f"{_ms(hb['path_with_s']['p50'])} / {_ms(hb['path_without_s']['p50'])}",
            "",
        ),
    ]


def _digest_rows(results: dict[str, Any]) -> list[Row]:
    db = results.get("digest", {})
    if "rules" not in db:
        return []
    rules, read = db["rules"], db["firestore"]
    return [
        (
            f"Weekly digest: {rules['runs']:,} runs in memory through the rules ({rules['records_in_window']:,} in"
            f" the two periods), {rules['channels']} channels, rendered for Slack",
            f"{_s(rules['seconds'])}, peak {rules['peak_mb']:.0f} MB",
            f"< 60 s {_verdict(rules['seconds'], TARGETS['digest_s'])};"
            f" < 256 MB {_verdict(rules['peak_mb'], TARGETS['digest_peak_mb'])}",
        ),
        (
            f"Weekly digest read from the Firestore emulator ({read['stored']:,} runs stored, {read['channels']} channels)",
            _s(read["seconds"]),
            f"{read['reads']:,} documents read per digest (the two periods' runs, once)",
        ),
    ]


ROWS: tuple[Callable[[dict[str, Any]], list[Row]], ...] = (
    _cold_rows,
    _import_rows,
    _latency_rows,
    _dedup_rows,
    _history_rows,
    _digest_rows,
    _burst_rows,
    _memory_rows,
    _task_log_rows,
    _render_rows,
    _cold_path_rows,
    _stub_rows,
    _failed_rows,
)


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (what docs/performance.md shows)."""
    rows = [row for build in ROWS for row in build(results)]
    head = f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"
    lines = [head, "", "| measure | value | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def failures(results: dict[str, Any]) -> list[str]:
    """What makes the run fail: a broken section, or a burst that lost, duplicated or dead-lettered."""
    problems = [
        f"{name}: {s['error']}" for name, s in results.items() if isinstance(s, dict) and "error" in s
    ]
    for name in ("org_burst", "org_burst_kill"):
        b = results.get(name, {})
        if "lost" in b and (b["lost"] or b["duplicated"] or b["dead_lettered"]):
            problems.append(
                f"{name} lost {b['lost']}, duplicated {b['duplicated']} and dead-lettered"
                f" {b['dead_lettered']} message(s)"
            )
        p = b.get("paging") or {}
        if p and (p["pages_lost"] or p["pages_duplicated"] or p["cards_lost"] or p["cards_duplicated"]):
            problems.append(
                f"{name} lost {p['pages_lost']} and duplicated {p['pages_duplicated']} PagerDuty incident(s),"
                f" lost {p['cards_lost']} and duplicated {p['cards_duplicated']} Teams card(s)"
            )
    return problems


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


SECTIONS = [
    "cold_start", "latency", "dedup", "org_burst", "kill", "memory", "task_logs", "render", "stub", "history",
    "digest",
]  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for CI: a minute or two")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    parser.add_argument("--skip", action="append", default=[], choices=SECTIONS)
    parser.add_argument(
        "--kill",
        action="store_true",
        help="also run the burst with the instance killed part-way in --quick mode (always in a full run)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep emulator and function logs here (default: a temp dir)",
    )
    return parser


@dataclass
class Bench:
    """One run of the benchmarks: its options, where it works, and the results so far."""

    args: argparse.Namespace
    workdir: Path
    firestore: FirestoreEmulator
    results: dict[str, Any]

    @property
    def sizes(self) -> dict[str, int]:
        """The sizes of this run (QUICK or FULL)."""
        return QUICK if self.args.quick else FULL

    def wanted(self, section: str) -> bool:
        """Whether ``section`` was not skipped."""
        return section not in self.args.skip

    def run(self, name: str, fn: Callable[[], Any]) -> None:
        """Run one section into the results (a failure is recorded, not raised)."""
        _section(self.results, name, fn)

    def dedup_env(self, section: str) -> dict[str, str]:
        """De-duplication as deployed, in collections of ``section``'s own (claims and streaks)."""
        return {
            **self.firestore.env,
            "DEDUP_COLLECTION": f"bench-claims-{section}",
            "STREAKS_COLLECTION": f"bench-streaks-{section}",
        }


def _run_cold_start(bench: Bench) -> None:
    sizes, workdir = bench.sizes, bench.workdir
    bench.run(
        "cold_start", lambda: coldstart.measure(sizes["cold_runs"], workdir / "cold", bench.dedup_env("cold"))
    )
    bench.run(
        "import_profile",
        lambda: coldstart.profile_imports(bench.dedup_env("cold-profile"), runs=sizes["profile_runs"]),
    )


def _run_without_pubsub(bench: Bench) -> None:
    """The sections that need no Pub/Sub emulator: cold start, task logs, render, memory."""
    sizes, workdir = bench.sizes, bench.workdir
    if bench.wanted("cold_start"):
        _run_cold_start(bench)
    if bench.wanted("task_logs"):
        # No emulator needed: pushes go straight to the function, so push jitter stays out.
        bench.run("task_logs", lambda: task_logs.latency(workdir / "task-logs", sizes["log_messages"]))
        bench.run("task_logs_imports", lambda: task_logs.imports(1 if bench.args.quick else 3))
    if bench.wanted("render"):
        # Pure CPU in this process: no emulator, no function.
        bench.run("render", lambda: render_bench.measure(sizes["render_runs"]))
    if bench.wanted("memory"):
        bench.run("memory", lambda: memory.at_full_concurrency(workdir / "memory", bench.dedup_env("memory")))
    if bench.wanted("digest"):
        _run_digest(bench)


def _run_latency(bench: Bench, emulator: PubSubEmulator) -> None:
    messages, workdir = bench.sizes["latency_messages"], bench.workdir
    bench.run("latency", lambda: pipeline.latency(workdir / "latency", emulator, messages))
    if bench.wanted("dedup"):
        bench.run(
            "latency_dedup",
            lambda: pipeline.latency(
                workdir / "latency-dedup", emulator, messages, env=bench.dedup_env("latency")
            ),
        )


def _run_burst(bench: Bench, emulator: PubSubEmulator, name: str, kill_at: float | None) -> None:
    sizes = bench.sizes
    bench.run(
        name,
        lambda: org_burst.run(
            bench.workdir / name,
            emulator,
            bench.firestore,
            messages=sizes["org_messages"],
            channels=sizes["org_channels"],
            probe_every=sizes["probe_every"],
            kill_at=kill_at,
        ),
    )


def _run_history(bench: Bench) -> None:
    """Recording a run and the baseline query on the Firestore emulator, beside the posting path."""
    pipelines, days, per_day = bench.sizes["history_seed"]
    bench.run(
        "history",
        lambda: history_bench.measure(
            bench.firestore, bench.sizes["history_messages"], pipelines=pipelines, days=days, per_day=per_day
        ),
    )


def _run_digest(bench: Bench) -> None:
    """The digest's rules over a large history in memory, and its read on the Firestore emulator."""
    bench.run(
        "digest",
        lambda: digest_bench.measure(
            bench.firestore, bench.sizes["digest_rules"], bench.sizes["digest_read"]
        ),
    )


def _run_with_pubsub(bench: Bench) -> None:
    """The sections behind the Pub/Sub emulator: latency, de-duplication costs, the bursts."""
    emulator = PubSubEmulator.start(bench.workdir / "pubsub")
    try:
        if bench.wanted("latency"):
            _run_latency(bench, emulator)
        if bench.wanted("dedup"):
            messages = bench.sizes["latency_messages"]
            bench.run("claim_cost", lambda: claim_cost.measure(bench.firestore, messages))
            bench.run("streak_cost", lambda: streak_cost.measure(bench.firestore, messages))
        if bench.wanted("history"):
            _run_history(bench)
        if bench.wanted("org_burst"):
            _run_burst(bench, emulator, "org_burst", None)
        if bench.wanted("kill") and (bench.args.kill or not bench.args.quick):
            _run_burst(bench, emulator, "org_burst_kill", 0.5)
    finally:
        emulator.stop()


def _header(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "mode": "quick" if args.quick else "full",
        "sizes": QUICK if args.quick else FULL,
        "targets": TARGETS,
        "topology": topology.load().__dict__,
    }


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Every section not skipped, in a working directory of its own (or ``--workdir``)."""
    started = time.time()
    results = _header(args)
    with contextlib.ExitStack() as scope:
        if args.workdir is None:
            workdir = Path(scope.enter_context(tempfile.TemporaryDirectory(prefix="notifier-bench-")))
        else:
            workdir = args.workdir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        # De-duplication is on in the deployed configuration: every section but the plain
        # latency one runs with the Firestore emulator, a collection of its own each.
        firestore = FirestoreEmulator.start(workdir / "firestore")
        scope.callback(firestore.stop)
        bench = Bench(args, workdir, firestore, results)
        _run_without_pubsub(bench)
        _run_with_pubsub(bench)
        # After ours has stopped: the stub benchmark starts an emulator of its own.
        if bench.wanted("stub"):
            bench.run("stub", lambda: run_stub_bench(workdir, args.quick))
    results["elapsed_s"] = time.time() - started
    return results


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, write the JSON; non-zero if something broke."""
    args = _parser().parse_args(argv)
    # SIGTERM (CI's timeout, a kill) unwinds like Ctrl-C, so every finally block stops its processes.
    signal.signal(signal.SIGTERM, _interrupt)
    # A shell's background job inherits SIGINT ignored; Ctrl-C / kill -INT must still clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    results = run_all(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    print(f"\nJSON: {args.out}  ({results['elapsed_s']:.0f}s)")
    problems = failures(results)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
