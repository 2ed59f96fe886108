"""What a run produced: the model's blessing, its push and its metrics, from the job already fetched.

Pure and without a request of its own: it reads the ``aiplatform_v1.PipelineJob`` that
``enrich.vertex`` fetched (``jobDetail.taskDetails[].outputs``: each output's artifacts,
whose ``metadata`` is a ``Struct``, as proto-plus maps) and returns a ``ModelResults``.

- TFX: the Evaluator's ``tfx.ModelBlessing`` (``blessed`` 1/0), the InfraValidator's
  ``tfx.InfraBlessing`` (``blessed``; TFX 1.16 cannot compile one for Vertex AI, read all
  the same) and the Pusher's ``tfx.PushedModel`` (``pushed`` 1/0, ``pushed_version``,
  ``pushed_destination``). Artifacts are found by their type (``schemaTitle``), never by
  a task's name, which the pipeline chooses.
- KFP: the top-level scalars of ``system.Metrics`` and ``system.ClassificationMetrics``
  (and Google's ``google.*Metrics``) artifacts of the last task that logged any; up to
  ``METRICS_SHOWN`` of them, chosen by ``choose`` (well-known names first, in
  ``PREFERRED`` order, then alphabetically: a ``Struct`` keeps no order).

Every value is untrusted: a flag counts only as the number 1 or 0 (a Struct number is a
double), a metric only as a number or one of the spellings protobuf's JSON gives a
non-finite double ("NaN", "Infinity", "-Infinity"); strings, booleans, nulls, lists and
nested structs are skipped (never walked), and so are names that are empty, longer than
``METRIC_NAME_MAX`` or hold control or formatting characters (a newline, U+202E). A
version or destination is kept only when it matches a strict grammar, and is text: no
link is ever made of it. Work is bounded: ``KEYS_SCANNED_MAX`` keys per artifact,
``ARTIFACTS_PER_OUTPUT_MAX`` artifacts per output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from notifier.model import Metric, ModelResults

BLESSING = "tfx.ModelBlessing"
INFRA_BLESSING = "tfx.InfraBlessing"
PUSHED_MODEL = "tfx.PushedModel"
METRICS_SCHEMAS = frozenset(
    {
        "system.Metrics",
        "system.ClassificationMetrics",
        "google.ClassificationMetrics",
        "google.RegressionMetrics",
        "google.ForecastingMetrics",
    }
)
METRICS_SHOWN = 6
METRIC_NAME_MAX = 64
KEYS_SCANNED_MAX = 1000
ARTIFACTS_PER_OUTPUT_MAX = 20
# Well-known names, in the order a reader looks for them (matched case-insensitively).
PREFERRED = (
    "auc",
    "auroc",
    "roc_auc",
    "auprc",
    "accuracy",
    "f1",
    "f1_score",
    "precision",
    "recall",
    "loss",
    "logloss",
    "log_loss",
    "rmse",
    "mae",
    "mse",
    "r2",
    "mape",
)
_RANK = {name: rank for rank, name in enumerate(PREFERRED)}
# How protobuf's JSON printers spell a non-finite double (Value.number_value refuses them).
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A Cloud Storage folder or a Vertex AI resource name: what TFX's Pusher writes.
DESTINATION_RE = re.compile(
    r"gs://[a-z0-9][a-z0-9._-]{1,221}(?:/[A-Za-z0-9._=@+-]{1,200}){0,20}/?"
    r"|projects/[A-Za-z0-9-]{1,63}(?:/[A-Za-z0-9._-]{1,128}){1,8}"
)
DESTINATION_MAX = 300


def _flag(value: Any) -> bool | None:
    """A TFX flag: the number 1 or 0 (written as an int, read back as a double); else unknown."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value == 1:
        return True
    if value == 0:
        return False
    return None


def _number(value: Any) -> float | None:
    """A metric's value: a number, or protobuf's spelling of a non-finite one; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return NON_FINITE.get(value)
    return None


def metric_name(name: Any) -> str:
    """The name stripped, or '' when it is not one a message may show."""
    if not isinstance(name, str):
        return ""
    name = name.strip()
    if not name or len(name) > METRIC_NAME_MAX or not name.isprintable():
        return ""
    return name


def _text(value: Any, grammar: re.Pattern[str], limit: int) -> str:
    if isinstance(value, str) and len(value) <= limit and grammar.fullmatch(value):
        return value
    return ""


def _items(metadata: Any) -> Iterator[tuple[Any, Any]]:
    """At most ``KEYS_SCANNED_MAX`` (key, value) pairs of an artifact's metadata (None: none)."""
    if not isinstance(metadata, Mapping):
        return
    for count, item in enumerate(metadata.items()):
        if count >= KEYS_SCANNED_MAX:
            return
        yield item


def _artifacts(task: Any) -> Iterator[Any]:
    """Every output artifact of ``task`` (bounded per output)."""
    outputs = getattr(task, "outputs", None)
    if not outputs:
        return
    for listed in outputs.values():
        artifacts = getattr(listed, "artifacts", None) or ()
        for number, artifact in enumerate(artifacts):
            if number >= ARTIFACTS_PER_OUTPUT_MAX:
                break
            yield artifact


def choose(scalars: Mapping[str, float], limit: int = METRICS_SHOWN) -> tuple[Metric, ...]:
    """Up to ``limit`` metrics: names in ``PREFERRED`` first (in its order), then the rest
    alphabetically (case-insensitively)."""

    def order(name: str) -> tuple[int, str, str]:
        return (_RANK.get(name.lower(), len(PREFERRED)), name.lower(), name)

    return tuple(Metric(name, scalars[name]) for name in sorted(scalars, key=order)[:limit])


def _combined(flags: Iterable[bool | None]) -> bool | None:
    """False when any says no, True when one says yes and none no, else None."""
    known = [flag for flag in flags if flag is not None]
    if False in known:
        return False
    return True if known else None


def _ended(task: Any) -> datetime | None:
    end = getattr(task, "end_time", None)
    return end if isinstance(end, datetime) and end.year > 1970 else None


def parse_results(tasks: Iterable[Any]) -> ModelResults:
    """The ``ModelResults`` of a run, from its ``PipelineTaskDetail``s (proto-plus or alike)."""
    blessings: list[bool | None] = []
    infra: list[bool | None] = []
    pushes: list[tuple[bool | None, str, str]] = []
    # (ended, end time, task name, scalars) of every task that logged metrics.
    logged: list[tuple[bool, datetime, str, dict[str, float]]] = []
    for task in tasks:
        scalars: dict[str, float] = {}
        for artifact in _artifacts(task):
            schema = getattr(artifact, "schema_title", "")
            metadata = getattr(artifact, "metadata", None)
            if schema == BLESSING:
                blessings.append(_flag(dict(_items(metadata)).get("blessed")))
            elif schema == INFRA_BLESSING:
                infra.append(_flag(dict(_items(metadata)).get("blessed")))
            elif schema == PUSHED_MODEL:
                fields = dict(_items(metadata))
                pushes.append(
                    (
                        _flag(fields.get("pushed")),
                        _text(fields.get("pushed_version"), VERSION_RE, 64),
                        _text(fields.get("pushed_destination"), DESTINATION_RE, DESTINATION_MAX),
                    )
                )
            elif schema in METRICS_SCHEMAS:
                for key, value in _items(metadata):
                    name, number = metric_name(key), _number(value)
                    if name and number is not None:
                        scalars.setdefault(name, number)
        if scalars:
            end = _ended(task)
            logged.append(
                (end is not None, end or datetime.min, str(getattr(task, "task_name", "")), scalars)
            )

    pushed = _combined(flag for flag, _, _ in pushes)
    version, destination = next(((v, d) for flag, v, d in pushes if flag), ("", ""))
    metrics: tuple[Metric, ...] = ()
    task_name, total = "", 0
    if logged:
        # The last task to end is the final evaluation; one still running counts as last.
        _, _, task_name, scalars = max(logged, key=lambda item: (not item[0], item[1], item[2]))
        metrics, total = choose(scalars), len(scalars)
    return ModelResults(
        blessed=_combined(blessings),
        infra_blessed=_combined(infra),
        pushed=pushed,
        pushed_version=version,
        pushed_destination=destination,
        metrics=metrics,
        metrics_task=task_name,
        metrics_total=total,
    )
