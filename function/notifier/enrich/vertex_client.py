"""Import ``aiplatform_v1.PipelineServiceClient`` (and ``ScheduleServiceClient``) without
importing all of Vertex AI.

``google/cloud/aiplatform_v1/__init__.py`` (and its ``types`` package) import every
service and message of the API: 2.9 s and ~60 MB here, of which the notifier needs two
clients. Both packages are lazy shells (``notifier.lazy_imports``): the client's own
imports of submodules (``…types.pipeline_job``) load just those files, and its asyncio
REST transport (with aiohttp) is left out, as without the library's ``async_rest`` extra.
Anything else asked of a shell (``aiplatform_v1.PipelineJob``) runs the real
``__init__`` into it, so other code in the same process still sees the complete package.
"""

from __future__ import annotations

from notifier.lazy_imports import import_from

_PACKAGES = ("google.cloud.aiplatform_v1", "google.cloud.aiplatform_v1.types")


def pipeline_service_client_class() -> type:
    """The ``PipelineServiceClient`` class, imported as cheaply as the installed package allows."""
    return import_from(
        "google.cloud.aiplatform_v1.services.pipeline_service", "PipelineServiceClient", shells=_PACKAGES
    )


def schedule_service_client_class() -> type:
    """The ``ScheduleServiceClient`` class, imported the same way (the sweep's schedule check)."""
    return import_from(
        "google.cloud.aiplatform_v1.services.schedule_service", "ScheduleServiceClient", shells=_PACKAGES
    )
