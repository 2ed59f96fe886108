"""A tiny exit handler that publishes a Vertex AI pipeline's final status to Pub/Sub.

``publish_final_status`` is the whole job; ``PubSubExitHandler`` wraps it as a TFX exit
handler component and ``make_kfp_exit_handler`` builds its Kubeflow Pipelines v2 twin.
Both wrappers load on first access only, so importing this package needs neither TFX
nor KFP and stays cheap inside the pipeline's container.

Installed as the ``tfx-exit-stub`` distribution (``pip install ./tfx_exit_stub`` from the
notifier's repository, or the wheel built from that folder), which depends on
google-cloud-pubsub only; the ``tfx`` and ``kfp`` extras add what the wrappers need where
the pipeline is compiled. The notifier's operator tools carry this package in their own
wheel.
"""

from __future__ import annotations

import importlib
from typing import Any

from tfx_exit_stub._version import __version__
from tfx_exit_stub.publish import (
    PublishError,
    final_status_json,
    publish_final_status,
    validate_topic,
)

__all__ = [
    "PubSubExitHandler",
    "PublishError",
    "__version__",
    "final_status_json",
    "make_kfp_exit_handler",
    "publish_final_status",
    "set_exit_handler",
    "validate_topic",
]

# Attribute name -> (submodule that defines it, package it needs), imported on first
# access (PEP 562).
_LAZY = {
    "PubSubExitHandler": ("tfx_exit_stub.tfx_component", "tfx"),
    "set_exit_handler": ("tfx_exit_stub.tfx_component", "tfx"),
    "KfpPubSubExitHandler": ("tfx_exit_stub.kfp_component", "kfp"),  # gone: says what to use instead
    "make_kfp_exit_handler": ("tfx_exit_stub.kfp_component", "kfp"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, needs = _LAZY[name]
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != needs:
            raise
        # Say which package is missing where a bare "No module named 'tfx'" would not.
        raise ImportError(
            f"tfx_exit_stub.{name} needs the {needs!r} package, which is not installed here; "
            "publish_final_status works without it"
        ) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
