"""Import ``aiplatform_v1.PipelineServiceClient`` (and ``ScheduleServiceClient``) without
importing all of Vertex AI.

``google/cloud/aiplatform_v1/__init__.py`` (and its ``types`` package) import every
service and message of the API: 2.9 s and ~60 MB here, of which the notifier needs two
clients. Both packages are put in ``sys.modules`` as lazy shells first; the client's own
imports of submodules (``…types.pipeline_job``) then load just those files. Anything
else asked of a shell (``aiplatform_v1.PipelineJob``) runs the real ``__init__`` into
it, so other code in the same process still sees the complete package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_PACKAGES = ("google.cloud.aiplatform_v1", "google.cloud.aiplatform_v1.types")
_lock = threading.RLock()


class _LazyPackage(types.ModuleType):
    """A package whose ``__init__`` runs only when something other than a submodule is asked for."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        submodule = f"{self.__name__}.{name}"
        with _lock:
            if importlib.util.find_spec(submodule) is not None:
                return importlib.import_module(submodule)
            if not self.__dict__.get("_notifier_materialized"):
                self.__dict__["_notifier_materialized"] = True
                self.__spec__.loader.exec_module(self)  # the package's real __init__
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def _install_shells() -> None:
    for name in _PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError(f"{name} is not an installed package")
        shell = _LazyPackage(name)
        shell.__spec__ = spec
        shell.__loader__ = spec.loader
        shell.__file__ = spec.origin
        shell.__path__ = list(spec.submodule_search_locations)
        shell.__package__ = name
        sys.modules[name] = shell
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, shell)


def _lazily() -> None:
    """Put the lazy shells in place, once (a layout we do not know: the ordinary import)."""
    if "google.cloud.aiplatform_v1" not in sys.modules:
        try:
            _install_shells()
        except Exception:  # noqa: BLE001 - a layout we do not know: import it the ordinary way
            for name in _PACKAGES:
                if isinstance(sys.modules.get(name), _LazyPackage):
                    del sys.modules[name]


def pipeline_service_client_class() -> type:
    """The ``PipelineServiceClient`` class, imported as cheaply as the installed package allows."""
    with _lock:
        _lazily()
        from google.cloud.aiplatform_v1.services.pipeline_service import (  # noqa: PLC0415
            PipelineServiceClient,
        )

    return PipelineServiceClient


def schedule_service_client_class() -> type:
    """The ``ScheduleServiceClient`` class, imported the same way (the sweep's schedule check)."""
    with _lock:
        _lazily()
        from google.cloud.aiplatform_v1.services.schedule_service import (  # noqa: PLC0415
            ScheduleServiceClient,
        )

    return ScheduleServiceClient
