"""Skip a separate-venv tier's tests where its package is missing, but never inside that tier."""

from __future__ import annotations

import os

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
