"""A tiny exit handler that publishes a Vertex AI pipeline's final status to Pub/Sub.

``publish_final_status`` is the whole job; ``PubSubExitHandler`` wraps it as a TFX exit
handler component and ``KfpPubSubExitHandler`` as a Kubeflow Pipelines v2 component.
Both wrappers load on first access only, so importing this package needs neither TFX
nor KFP and stays cheap inside the pipeline's container.
"""

from __future__ import annotations

import importlib
from typing import Any

from tfx_exit_stub.publish import (
    PublishError,
    final_status_json,
    publish_final_status,
    validate_topic,
)

__all__ = [
    "KfpPubSubExitHandler",
    "PubSubExitHandler",
    "PublishError",
    "final_status_json",
    "make_kfp_exit_handler",
    "publish_final_status",
    "set_exit_handler",
    "validate_topic",
]

# Attribute name -> submodule that defines it, imported on first access (PEP 562).
_LAZY = {
    "PubSubExitHandler": "tfx_exit_stub.tfx_component",
    "set_exit_handler": "tfx_exit_stub.tfx_component",
    "KfpPubSubExitHandler": "tfx_exit_stub.kfp_component",
    "make_kfp_exit_handler": "tfx_exit_stub.kfp_component",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
