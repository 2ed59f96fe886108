"""The Kubeflow Pipelines v2 twin of the TFX exit handler; imports KFP, so it loads on demand.

KFP lightweight components ship only their function's source to the container, so by
default the stub's publishing code travels with it: a copy of this package is embedded
in the compiled component (``embedded_artifact_path``, put on ``sys.path`` at run
time). The container then needs only google-cloud-pubsub, installed by
``packages_to_install``. Pipelines whose image already has ``tfx_exit_stub`` and the
client can pass ``embed_stub=False`` and their own ``base_image``.
"""

import shutil
import tempfile
from pathlib import Path
from typing import Any

from kfp import dsl

DEFAULT_BASE_IMAGE = "python:3.11-slim"
DEFAULT_PACKAGES = ("google-cloud-pubsub>=2.18,<3",)

_PACKAGE_DIR = Path(__file__).resolve().parent
# Only the publishing half is needed in the container; the wrappers import TFX or KFP.
_EMBEDDED_MODULES = ("__init__.py", "publish.py")


def pubsub_exit_handler(
    status: dsl.PipelineTaskFinalStatus,
    topic: str,
    gcp_region: str = "",
    slack_channel_id: str = "",
    on_failure_only: bool = False,
):
    """Publish the pipeline's final status to the Pub/Sub ``topic`` (runs in the container)."""
    # KFP ships only this function's source to the container, so it imports there.
    from tfx_exit_stub import final_status_json, publish_final_status  # noqa: PLC0415

    publish_final_status(
        final_status_json(
            state=status.state,
            pipeline_job_resource_name=status.pipeline_job_resource_name,
            pipeline_task_name=status.pipeline_task_name,
            error_code=status.error_code,
            error_message=status.error_message,
        ),
        topic,
        gcp_region=gcp_region,
        slack_channel_id=slack_channel_id,
        on_failure_only=on_failure_only,
    )


def make_kfp_exit_handler(
    *,
    base_image: str = DEFAULT_BASE_IMAGE,
    packages_to_install: tuple[str, ...] | list[str] | None = DEFAULT_PACKAGES,
    embed_stub: bool = True,
    **component_options: Any,
) -> Any:
    """Build the KFP exit-handler component; ``component_options`` go to ``dsl.component``.

    With ``embed_stub`` a copy of the stub's publishing modules is compiled into the
    component, so no image needs to contain this package.
    """
    options: dict[str, Any] = {
        "base_image": base_image,
        "packages_to_install": list(packages_to_install or []),
        **component_options,
    }
    if not embed_stub:
        return dsl.component(pubsub_exit_handler, **options)
    # The archive is built while the component is created, so the staging copy can go
    # straight afterwards. It holds the package directory itself so that the extracted
    # root, which KFP prepends to sys.path, makes ``import tfx_exit_stub`` work.
    with tempfile.TemporaryDirectory(prefix="tfx_exit_stub-") as staging:
        target = Path(staging) / _PACKAGE_DIR.name
        target.mkdir()
        for name in _EMBEDDED_MODULES:
            shutil.copy2(_PACKAGE_DIR / name, target / name)
        return dsl.component(pubsub_exit_handler, embedded_artifact_path=staging, **options)


def __getattr__(name: str) -> Any:
    # Built on first use: compiling the component reads files and tars them, which
    # importing this module for make_kfp_exit_handler alone should not pay for.
    if name == "KfpPubSubExitHandler":
        component = make_kfp_exit_handler()
        globals()[name] = component
        return component
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
