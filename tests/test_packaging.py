"""How each part installs: one version for the stub and the function, every package of the
operator tools in their wheel, and ``uv tool install .`` giving working commands."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import tomllib
from packaging.version import Version

from sandbox import topology

REPO = Path(__file__).resolve().parent.parent
FUNCTION_VERSION = REPO / "function" / "notifier" / "version.py"
STUB_VERSION = REPO / "packages" / "tfx-exit-stub" / "src" / "tfx_exit_stub" / "_version.py"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
TOOL = "vertex-pipeline-slack-notifier"


def _version_in(path: Path) -> str:
    """The ``__version__ = "..."`` literal of a module, read without importing it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == [
            "__version__"
        ]:
            assert isinstance(node.value, ast.Constant)
            return node.value.value
    raise AssertionError(f"no __version__ in {path}")


def test_the_stub_and_the_function_share_one_version() -> None:
    version = _version_in(FUNCTION_VERSION)
    Version(version)  # a valid PEP 440 version
    assert _version_in(STUB_VERSION) == version, "bump both, or neither"
    # The operator tools run the stub of the same release.
    assert f"tfx-exit-stub=={version}" in PYPROJECT["project"]["dependencies"]


def test_the_changelog_knows_the_version() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    released = [Version(v) for v in re.findall(r"^## \[(\d[^\]]*)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)]
    assert released, "no release headings like '## [0.1.0] - 2026-11-26'"
    assert released == sorted(released, reverse=True), "newest release first"
    version = Version(_version_in(FUNCTION_VERSION))
    if version.is_prerelease or version.is_devrelease:
        assert released[0] < version, f"{version} is a pre-release of a version already released"
    else:
        assert released[0] == version, f"release {version} has no '## [{version}] - DATE' section"


def test_every_package_is_in_the_operator_tools_wheel() -> None:
    """A subpackage left out of pyproject's list would be missing from the installed commands."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = set()
    for root, name in ((REPO / "function", "notifier"), (REPO, "replay"), (REPO, "sandbox")):
        # Every folder with Python files, __init__.py or not (a namespace package counts too).
        for module in (root / name).rglob("*.py"):
            if "__pycache__" not in module.parts:
                on_disk.add(".".join(module.parent.relative_to(root).parts))
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    samples = {f"sandbox._samples.{d.name}" for d in (REPO / "samples").iterdir() if d.is_dir()}
    assert samples <= listed, (
        f"add to [tool.setuptools] packages and package-data: {sorted(samples - listed)}"
    )


def test_the_installed_commands_run(operator_tools: Path) -> None:
    out = subprocess.run(
        [operator_tools / "replay", "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "publish" in out.stdout and "redrive" in out.stdout
    out = subprocess.run(
        [operator_tools / "notifier-sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "--no-emulator" in out.stdout


def test_the_installed_tools_carry_the_function_and_the_stub_as_its_own_distribution(
    operator_tools: Path, tmp_path: Path
) -> None:
    python = operator_tools.parent / "tools" / TOOL / "bin" / "python"
    code = (
        "import importlib.metadata as m, json, pkgutil, notifier, replay, sandbox, sandbox.paths as p\n"
        "import sandbox.topology as t\n"
        "mods = [i.name for pkg in (notifier, replay, sandbox)"
        " for i in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.')]\n"
        "for name in mods:\n"
        "    if not name.endswith('__main__'):\n"
        "        __import__(name)\n"
        "print(json.dumps({'in_checkout': p.IN_CHECKOUT, 'function': str(p.FUNCTION_DIR),"
        " 'samples': sorted(f.name for f in p.SAMPLES_DIR.glob('*.status.json')),"
        " 'stub': m.version('tfx-exit-stub'), 'modules': len(mods), 'topology': t.load().__dict__}))"
    )
    run = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout)
    assert found["in_checkout"] is False
    assert (Path(found["function"]) / "main.py").read_text() == (REPO / "function" / "main.py").read_text()
    assert found["samples"] == sorted(f.name for f in (REPO / "samples").glob("*.status.json"))
    assert found["stub"] == _version_in(STUB_VERSION)
    assert found["modules"] > 20
    # The installed sandbox starts the function with the topology Terraform deploys.
    assert found["topology"] == topology.load().__dict__
