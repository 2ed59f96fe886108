"""What a PipelineJob's compiled spec says about the exit-handler stub.

A job event (``sources.job_event``) must not pre-empt the stub's own message, and when
the stub's task failed, the event should still go where the stub would have sent it.
Both answers are in ``pipelineSpec``: a root-DAG task whose executor runs
``tfx_exit_stub`` (TFX: ``--executor_class_path tfx_exit_stub.tfx_component…``; KFP:
the component's source imports ``tfx_exit_stub``) is the stub, and its
``runtimeValue.constant`` inputs are the settings the pipeline gave it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

STUB_MARK = "tfx_exit_stub"
# The stub's parameters that route a notification (the message attributes it sets).
STUB_SETTINGS = ("slack_channel_id", "on_failure_only", "gcp_region")


def plain(value: Any) -> Any:
    """A proto-plus Struct/ListValue composite (or anything JSON-like) as plain dicts and lists.

    Whole floats become ints (Struct numbers are doubles: ``123.0`` was ``123``).
    Iterative, so a deep spec costs no recursion.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, value)]
    while stack:
        parent, key, item = stack.pop()
        if isinstance(item, float) and item.is_integer() and abs(item) < 2**53:
            parent[key] = int(item)
        elif isinstance(item, (str, bytes, int, float, bool)) or item is None:
            parent[key] = item
        elif isinstance(item, Mapping) or hasattr(item, "items"):
            target: dict[str, Any] = {}
            parent[key] = target
            stack.extend((target, str(k), v) for k, v in item.items())
        elif isinstance(item, Iterable):
            items = list(item)
            target_list: list[Any] = [None] * len(items)
            parent[key] = target_list
            stack.extend((target_list, i, v) for i, v in enumerate(items))
        else:
            parent[key] = str(item)
    return root[0]


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


@dataclass(frozen=True)
class StubTask:
    """The exit-handler stub in a compiled spec: its task, its settings, and what it reports on.

    ``settings`` are the values the pipeline gave the stub's routing parameters, as the
    job Vertex AI runs says: constants, or pipeline parameters resolved from the job's
    runtime config (else their defaults). ``reports_on`` is the task whose final status
    the stub is handed (``taskFinalStatus.producerTask``: ``tfx-dag`` in TFX,
    ``exit-handler-1`` in KFP).
    """

    name: str
    settings: tuple[tuple[str, str], ...] = ()
    reports_on: str = ""


def stub_exit_task(spec: Any, parameters: Mapping[str, str] | None = None) -> StubTask | None:
    """The stub's task in ``spec``, or None when the pipeline has no stub.

    ``parameters``: the job's runtime parameters (name -> text), for settings the
    pipeline passes to the stub from a pipeline parameter.
    """
    spec = plain(spec) if spec else {}
    tasks = _get(spec, "root", "dag", "tasks")
    if not isinstance(tasks, Mapping):
        return None
    for key, task in tasks.items():
        component = _get(spec, "components", _get(task, "componentRef", "name") or "")
        executor = _get(spec, "deploymentSpec", "executors", _get(component, "executorLabel") or "")
        if executor is None or STUB_MARK not in json.dumps(executor):
            continue
        inputs = _get(task, "inputs", "parameters") or {}
        settings = []
        for name in STUB_SETTINGS:
            value = _setting(_get(inputs, name), spec, parameters or {})
            if value:
                settings.append((name, value))
        reports_on = ""
        if isinstance(inputs, Mapping):
            for value in inputs.values():
                producer = _get(value, "taskFinalStatus", "producerTask")
                if isinstance(producer, str):
                    reports_on = producer
                    break
        return StubTask(str(_get(task, "taskInfo", "name") or key), tuple(settings), reports_on)
    return None


def _setting(spec_input: Any, spec: Mapping[str, Any], parameters: Mapping[str, str]) -> str:
    """One stub input as text: its constant, or the pipeline parameter it is bound to."""
    constant = _constant(_get(spec_input, "runtimeValue"))
    if constant:
        return constant
    parameter = _get(spec_input, "componentInputParameter")
    if not isinstance(parameter, str):
        return ""
    if parameter in parameters:
        return parameters[parameter]
    default = _get(spec, "root", "inputDefinitions", "parameters", parameter, "defaultValue")
    if isinstance(default, bool):
        return "true" if default else "false"
    return default if isinstance(default, str) else ""


def _constant(runtime_value: Any) -> str:
    """A task input's constant as text: KFP 2 writes ``constant``, TFX 1.16 ``constantValue``.

    TFX passes a bool parameter as ``{"intValue": "1"}`` (int64 as a string), KFP as ``true``.
    """
    if not isinstance(runtime_value, Mapping):
        return ""
    constant = runtime_value.get("constant")
    if constant is None:
        typed = runtime_value.get("constantValue")
        if isinstance(typed, Mapping):
            constant = next(
                (typed[k] for k in ("stringValue", "intValue", "doubleValue") if k in typed), None
            )
            if "intValue" in typed and str(constant) in {"0", "1"}:
                constant = constant == "1" or constant == 1
    if isinstance(constant, bool):
        return "true" if constant else "false"
    return constant if isinstance(constant, str) else ""
