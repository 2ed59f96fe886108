"""Benchmark the exit-handler stub as the pipeline runs it: a fresh process that imports
``tfx_exit_stub`` and publishes one final status to the Pub/Sub emulator.

    .venv/bin/python bench/stub_bench.py [--runs 15] [--out bench/results/stub_bench.json]

Prints median and p90 of the import, the publish and the whole process, the peak RSS
of the child processes and the machine's core count, and writes the figures as JSON.
Printed, not asserted: timings on a shared 2-core machine are too noisy for a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox.procs import wait_until  # noqa: E402
from sandbox.pubsub_emulator import INSTALL_HINT, PubSubEmulator, gcloud_path  # noqa: E402

# Runs in each child: the clock starts before the import, as in the exit-handler task.
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import tfx_exit_stub
t1 = time.perf_counter()
message_id = tfx_exit_stub.publish_final_status(sys.argv[1], sys.argv[2], gcp_region="us-central1")
t2 = time.perf_counter()
print(json.dumps({
    "import_s": t1 - t0,
    "publish_s": t2 - t1,
    "message_id": message_id,
    "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""

STATUS = json.dumps(
    {
        "state": "FAILED",
        "pipelineJobResourceName": "projects/1/locations/us-central1/pipelineJobs/bench-1",
        "error": {"code": 9, "message": "The DAG failed because some tasks failed."},
    }
)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: with few samples, report a value that was measured."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise(values: list[float]) -> dict[str, float]:
    """Median, p90, min and max of one measure, in milliseconds."""
    ms = [v * 1000 for v in values]
    return {
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def run(runs: int, out: Path) -> dict:
    """Start the emulator, time ``runs`` fresh processes, check every message arrived."""
    if gcloud_path() is None:
        raise SystemExit(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="stub-bench-") as workdir:
        emulator = PubSubEmulator.start(Path(workdir))
        try:
            topic = emulator.create_topic("bench-status")
            sub = emulator.create_subscription("bench-status-sub", topic)
            # The checkout's stub: tfx_exit_stub/ at the root is the package itself, the same
            # modules its wheel ships (run from workdir, the child finds it through PYTHONPATH).
            env = {**os.environ, **emulator.env, "PYTHONPATH": str(REPO)}
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, STATUS, topic],
                    env=env,
                    cwd=workdir,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=True,
                )
                sample = json.loads(done.stdout.strip().splitlines()[-1])
                sample["process_s"] = time.perf_counter() - started
                samples.append(sample)
            received: set[str] = set()

            def all_received() -> bool:
                batch = emulator.pull(sub)
                emulator.acknowledge(sub, [m["ackId"] for m in batch])
                received.update(m["message"]["messageId"] for m in batch)
                return received >= {s["message_id"] for s in samples}

            wait_until(all_received, timeout=30, message="every benchmark message in the subscription")
        finally:
            emulator.stop()

    result = {
        "what": "fresh process: import tfx_exit_stub + one publish_final_status to the Pub/Sub emulator",
        "runs": runs,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "import": summarise([s["import_s"] for s in samples]),
        "publish": summarise([s["publish_s"] for s in samples]),
        "import_plus_publish": summarise([s["import_s"] + s["publish_s"] for s in samples]),
        "process_wall": summarise([s["process_s"] for s in samples]),
        "peak_rss_mib": round(max(s["maxrss_kib"] for s in samples) / 1024, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    """Parse arguments, run the benchmark and print a short report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes to time (at least 10)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "stub_bench.json")
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs must be at least 10 for a meaningful p90")
    result = run(args.runs, args.out)
    print(f"cores: {result['cpu_count']} (usable {result['usable_cores']}), Python {result['python']}")
    print(f"{result['runs']} fresh processes, each: import tfx_exit_stub + one publish to the emulator")
    for key in ("import", "publish", "import_plus_publish", "process_wall"):
        figures = result[key]
        print(f"  {key:<20} median {figures['median_ms']:>8.1f} ms   p90 {figures['p90_ms']:>8.1f} ms")
    print(f"  peak RSS {result['peak_rss_mib']} MiB")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
