"""Helpers of the separate-venv tiers: skip where their package is missing (never inside the
tier), and check that the stub under test is the installed wheel."""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest


def require_or_skip(exc: ImportError, *, package: str, required_var: str, tier: str) -> None:
    """Re-raise ``exc`` when ``required_var`` is "1" (the tier's own run), else skip the module.

    The main venv collects every test file, so a tier's tests skip there with a reason;
    the tier script sets ``required_var`` so that a broken install fails instead.
    """
    if os.environ.get(required_var) == "1":
        raise exc
    pytest.skip(
        f"{package} is not importable ({exc}); this tier runs in {tier} via .ci/tfx-tier.sh",
        allow_module_level=True,
    )


def stub_wheel() -> Path:
    """The stub's wheel that the tier script built and installed (STUB_WHEEL)."""
    value = os.environ.get("STUB_WHEEL", "")
    if not value or not Path(value).is_file():
        pytest.fail(f"STUB_WHEEL={value!r} is not the built wheel; run this tier through .ci/tfx-tier.sh")
    return Path(value)


def assert_installed_from_wheel(module: ModuleType) -> None:
    """``module`` was imported from an installed wheel in this environment, not from a checkout."""
    path = Path(module.__file__ or "").resolve()
    assert Path(sys.prefix).resolve() in path.parents, f"{module.__name__} imported from {path}"
    direct_url = json.loads(
        importlib.metadata.distribution("tfx-exit-stub").read_text("direct_url.json") or "{}"
    )
    assert direct_url.get("url", "").endswith(".whl"), direct_url
