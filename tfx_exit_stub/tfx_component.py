"""The TFX exit handler component (Vertex AI only); imports TFX, so it loads on demand.

The component's executor is this module's ``PubSubExitHandler`` function: TFX records
its import path, so the pipeline image must have the ``tfx-exit-stub`` distribution
installed (see docs/exit-handler.md in the notifier's repository).
"""

import inspect
import re
from typing import Any

from tfx import v1 as tfx

from tfx_exit_stub.publish import publish_final_status, validate_topic


# The function's name becomes the component class name, hence the CamelCase. No
# ``from __future__ import annotations`` in this module: TFX reads the annotations as
# objects to build the component spec.
@tfx.orchestration.experimental.exit_handler
def PubSubExitHandler(
    final_status: tfx.dsl.components.Parameter[str],
    topic: tfx.dsl.components.Parameter[str],
    gcp_region: tfx.dsl.components.Parameter[str] = "",
    slack_channel_id: tfx.dsl.components.Parameter[str] = "",
    on_failure_only: tfx.dsl.components.Parameter[bool] = False,
):
    """Publish the pipeline's final status (``FinalStatusStr``) to the Pub/Sub ``topic``."""
    publish_final_status(
        final_status,
        topic,
        gcp_region=gcp_region,
        slack_channel_id=slack_channel_id,
        on_failure_only=on_failure_only,
    )


def set_exit_handler(runner: Any, handler: Any) -> None:
    """Attach ``handler`` (one component or a list) to a KubeflowV2DagRunner of any TFX version.

    TFX 1.16 and earlier take one component, later releases a list; 1.16 accepts a
    list without complaint and only fails when compiling, so the runner's signature
    decides rather than trial and error.
    """
    handlers = list(handler) if isinstance(handler, (list, tuple)) else [handler]
    for node in handlers:
        topic = getattr(node, "exec_properties", {}).get("topic")
        # A topic given as a RuntimeParameter is checked when it is published instead.
        if isinstance(topic, str):
            validate_topic(topic)
    if takes_handler_list(runner):
        runner.set_exit_handler(handlers)
    elif len(handlers) == 1:
        runner.set_exit_handler(handlers[0])
    else:
        raise ValueError("this TFX version's KubeflowV2DagRunner takes exactly one exit handler")


def takes_handler_list(runner: Any) -> bool:
    """True when ``runner.set_exit_handler`` expects a list of components."""
    params = list(inspect.signature(runner.set_exit_handler).parameters.values())
    if not params:
        return False
    param = params[0]
    annotation = param.annotation
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return param.name.endswith("s") or bool(re.search(r"\b(List|list|Sequence|Iterable)\b", text))
