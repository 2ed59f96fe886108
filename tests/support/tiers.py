"""Helpers of the separate-venv tiers: skip where their package is missing (never inside the
tier), check that the stub under test is the installed wheel, and that the model-results
test data is still what the tier's TFX or KFP produces."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
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


RESULTS_DATA = Path(__file__).resolve().parents[1] / "data" / "results"


def assert_results_data_reproduced(script: str, out: Path, names: tuple[str, ...], **env: str) -> None:
    """Run ``tools/<script>`` into ``out``; each of ``names`` must equal the saved tests/data/results file.

    The tools write the model-results test data from a real TFX or KFP (see that folder's
    README), so a difference means TFX, KFP or the stub changed what they produce.
    """
    root = RESULTS_DATA.parents[2]
    run_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | env
    run = subprocess.run(
        [sys.executable, f"tools/{script}", str(out)],
        cwd=root,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for name in names:
        assert (out / name).read_text() == (RESULTS_DATA / name).read_text(), (
            f"{name} differs from what tools/{script} produces now; regenerate and review "
            "(tests/data/results/README.md)"
        )
