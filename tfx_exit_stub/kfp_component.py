"""The Kubeflow Pipelines v2 twin of the TFX exit handler; imports KFP, so it loads on demand.

A KFP lightweight component ships only its function's source to the container, so the
container must be able to ``import tfx_exit_stub``. The component pip-installs this very
release of the ``tfx-exit-stub`` distribution when the task starts (``STUB_REQUIREMENT``,
pinned to ``==`` this version) from the indexes given as ``pip_index_urls``; the
distribution brings google-cloud-pubsub with it. ``stub`` may name any other pip
requirement instead, such as a wheel's URL. With ``stub=None`` nothing of the stub is
installed: the ``base_image`` must already have it (pass ``install_kfp_package=False``
too if the image has kfp, and the task installs nothing at all).

Installing by name needs ``pip_index_urls``: this project does not publish
``tfx-exit-stub`` on PyPI, so pip's default index would install whatever someone else
published under that name, with the pipeline's service account. There is therefore no
ready-made component: build one with ``make_kfp_exit_handler`` and say where the stub
comes from.
"""

from collections.abc import Sequence
from typing import Any

from kfp import dsl

from tfx_exit_stub._version import __version__

DISTRIBUTION = "tfx-exit-stub"
STUB_REQUIREMENT = f"{DISTRIBUTION}=={__version__}"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
CHOOSE_A_SOURCE = (
    f"say where the task gets the stub: {DISTRIBUTION} is not published on PyPI by this project, so "
    "installing it by name from pip's default index could install someone else's package. Use "
    "make_kfp_exit_handler(pip_index_urls=['<your index holding the wheel>']), "
    "make_kfp_exit_handler(stub='<URL of the wheel built by make stub-wheel>'), or "
    "make_kfp_exit_handler(stub=None, base_image='<an image with tfx-exit-stub installed>')"
)


def _by_name(requirement: str) -> bool:
    """True for ``name==version`` (an index decides what it is), False for a URL or a file."""
    text = requirement.strip()
    return "://" not in text and not text.startswith(("/", ".")) and not text.endswith((".whl", ".tar.gz"))


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
    stub: str | None = STUB_REQUIREMENT,
    packages_to_install: Sequence[str] = (),
    **component_options: Any,
) -> Any:
    """Build the KFP exit-handler component.

    ``stub`` is what the task pip-installs to get ``tfx_exit_stub`` (default: this
    release, pinned), or None when ``base_image`` already has it. ``packages_to_install``
    are installed beside it; ``component_options`` (``pip_index_urls``,
    ``install_kfp_package``, ...) go to ``dsl.component``.
    """
    if stub is not None and (not isinstance(stub, str) or not stub.strip()):
        raise ValueError(
            f"stub must be a pip requirement (e.g. {STUB_REQUIREMENT!r} or a wheel's URL) "
            f"or None for an image that already has tfx_exit_stub, got {stub!r}"
        )
    if stub is not None and _by_name(stub) and not component_options.get("pip_index_urls"):
        raise ValueError(CHOOSE_A_SOURCE)
    packages = ([stub] if stub else []) + list(packages_to_install)
    return dsl.component(
        pubsub_exit_handler, base_image=base_image, packages_to_install=packages, **component_options
    )


def __getattr__(name: str) -> Any:
    if name == "KfpPubSubExitHandler":
        # The ready-made component of 0.1 installed the stub from pip's default index.
        raise ValueError(f"KfpPubSubExitHandler is gone: {CHOOSE_A_SOURCE}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
