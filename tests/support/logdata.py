"""Log entries for golden cases: saved ``entries:list`` responses, or generated ones."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sandbox.logging_standin import LoggingStandin, ml_job_entries
from tests.support.paths import DATA

PROJECT_NUMBER = "271009669852"
PROJECT_ID = "acme-ml-prod"


def training_log(lines: int) -> list[tuple[str, str]]:
    """``lines`` lines of a Keras job that logs through Python's ``logging`` to stderr.

    On Vertex AI everything written to stderr is ERROR, so every line matches
    ``severity>=ERROR``; the traceback is at the very end.
    """
    body = [
        ("ERROR", f"INFO:absl:step {n:6d}: loss={0.9 / (1 + n / 500):.4f} auc={0.5 + n / (2 * lines):.4f}")
        for n in range(lines - 8)
    ]
    tail = [
        ("ERROR", "Traceback (most recent call last):"),
        ("ERROR", '  File "/pipeline/trainer.py", line 212, in run_fn'),
        ("ERROR", "    model.fit(train_set, epochs=fn_args.custom_config['epochs'], callbacks=callbacks)"),
        (
            "ERROR",
            '  File "/usr/local/lib/python3.10/site-packages/keras/src/utils/traceback_utils.py", line 70, in error_handler',
        ),
        ("ERROR", "    raise e.with_traceback(filtered_tb) from None"),
        (
            "ERROR",
            "tensorflow.python.framework.errors_impl.ResourceExhaustedError: Graph execution error: OOM when "
            "allocating tensor with shape[65536,4096] and type float on /job:localhost/replica:0/task:0/device:GPU:0 "
            "by allocator GPU_0_bfc",
        ),
        ("ERROR", "\t [[{{node model/dense_2/MatMul}}]]"),
        ("INFO", "Killed"),
    ]
    return body + tail


def load_case_logs(standin: LoggingStandin, case: str, options: dict[str, Any]) -> None:
    """Give the stand-in a case's log entries and scripted failures (``<case>.case.json``)."""
    standin.reset()
    standin.project_ids[PROJECT_NUMBER] = PROJECT_ID
    path = DATA / f"{case}.logs.json"
    if path.exists():
        standin.load(path)
    generated = options.get("generated_log")
    if generated:
        start = datetime.fromisoformat(generated["start"].replace("Z", "+00:00"))
        lines = training_log(generated["lines"])
        standin.add_entries(ml_job_entries(PROJECT_ID, generated["job_id"], lines, start=start, step_ms=800))
    scripted = options.get("logging", {})
    standin.fail_all = scripted.get("fail_all")
    standin.delay_seconds = scripted.get("delay_seconds", 0.0)


def case_options(case: str) -> dict[str, Any]:
    """The case's ``.case.json`` options, or none."""
    path = DATA / f"{case}.case.json"
    return json.loads(path.read_text()) if path.exists() else {}
