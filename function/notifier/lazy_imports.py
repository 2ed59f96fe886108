"""Import one piece of a Google client library without the rest of the library.

Google's generated packages import everything from their ``__init__``: asking for
``google.cloud.aiplatform_v1.services.pipeline_service`` first runs
``google/cloud/aiplatform_v1/__init__.py``, which imports every service and message of
the API (2.9 s here). A cold start pays for every module imported before the first
Slack message, so the function takes only the files it uses:

- ``lazy_packages``: the named packages go into ``sys.modules`` as shells whose
  ``__init__`` has not run. Importing a submodule through a shell loads just that file
  (and what it imports); ``__version__`` comes from the package's own ``gapic_version``
  module, as its ``__init__`` takes it; anything else asked of a shell runs the real
  ``__init__`` into it, so other code in the same process still sees the whole package.
- ``async_rest_held_back``: while a client module is imported, in the importing thread
  only, ``aiohttp`` looks absent, as it is when a library is installed without its
  ``async_rest`` extra. The libraries then skip their asyncio REST transports (aiohttp
  and one large module per service, ~0.1 s and more), which a synchronous function never
  uses. aiohttp itself stays importable for any other code and thread.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

_lock = threading.RLock()
_MATERIALIZED = "_notifier_materialized"


class LazyPackage(types.ModuleType):
    """A package whose ``__init__`` runs only when something other than a submodule is asked for."""

    def __getattr__(self, name: str) -> Any:
        if name == "__version__":
            version = _gapic_version(self.__name__)
            if version is not None:
                return version
        elif name.startswith("__"):
            raise AttributeError(name)
        submodule = f"{self.__name__}.{name}"
        with _lock:
            if importlib.util.find_spec(submodule) is not None:
                return importlib.import_module(submodule)
            _materialize(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def _gapic_version(package: str) -> str | None:
    """``<package>.gapic_version.__version__``, which a generated package's ``__init__`` re-exports."""
    if importlib.util.find_spec(f"{package}.gapic_version") is None:
        return None
    return getattr(importlib.import_module(f"{package}.gapic_version"), "__version__", None)


def _materialize(shell: LazyPackage) -> None:
    """Run the package's real ``__init__`` into the shell, once.

    Attributes set on the shell before (submodules already imported, a flag the caller
    seeded) are kept: the ``__init__`` of a generated package only re-binds its
    submodules and resets module-level state, which must not be reset twice.
    """
    if shell.__dict__.get(_MATERIALIZED):
        return
    shell.__dict__[_MATERIALIZED] = True
    earlier = {k: v for k, v in shell.__dict__.items() if not k.startswith("__")}
    shell.__spec__.loader.exec_module(shell)  # the package's real __init__
    shell.__dict__.update(earlier)


def lazy_packages(*names: str) -> None:
    """Put shells for ``names`` (parents first) in ``sys.modules``, unless already imported.

    A package already imported is used as it is; a layout this does not know (not a
    package, not installed) leaves everything to the ordinary import.
    """
    with _lock:
        installed: list[str] = []
        try:
            for name in names:
                if name not in sys.modules:
                    _install_shell(name)
                    installed.append(name)
        except Exception:  # noqa: BLE001 - a layout we do not know: import it the ordinary way
            for name in installed:
                if isinstance(sys.modules.get(name), LazyPackage):
                    del sys.modules[name]


def _install_shell(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an installed package")
    shell = LazyPackage(name)
    shell.__spec__ = spec
    shell.__loader__ = spec.loader
    shell.__file__ = spec.origin
    shell.__path__ = list(spec.submodule_search_locations)
    shell.__package__ = name
    sys.modules[name] = shell
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, shell)


class _HeldBack(importlib.abc.MetaPathFinder):
    """Finds nothing for the modules a thread holds back: importing one there raises ImportError.

    Installed once, when this module is imported (at cold start, before any request
    thread exists): adding or removing a finder later could make a concurrent import in
    another thread skip one.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def held(self) -> frozenset[str]:
        """The top-level modules this thread holds back now."""
        return getattr(self._local, "modules", frozenset())

    def hold(self, modules: frozenset[str]) -> None:
        """Hold ``modules`` back in this thread (an empty set releases them)."""
        self._local.modules = modules

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        """Refuse a module this thread holds back; no opinion on anything else."""
        if fullname.partition(".")[0] in self.held():
            raise ImportError(f"{fullname} is held back while a synchronous client is imported")


_held_back = _HeldBack()
sys.meta_path.insert(0, _held_back)


@contextlib.contextmanager
def async_rest_held_back() -> Iterator[None]:
    """Within the block, in this thread, ``import aiohttp`` fails unless it is imported already."""
    before = _held_back.held()
    _held_back.hold(before | {"aiohttp"})
    try:
        yield
    finally:
        _held_back.hold(before)


def import_from(module: str, name: str, *, shells: tuple[str, ...] = ()) -> Any:
    """``from module import name``, with ``shells`` lazy and the async REST transports held back."""
    with _lock:
        lazy_packages(*shells)
        with async_rest_held_back():
            return getattr(importlib.import_module(module), name)
