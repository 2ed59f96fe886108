"""How each part installs: one version for the stub and the function, the function's lock in
step with its input, every package of the operator tools in their wheel (the stub's
included), and a plain ``pip install .`` giving working commands."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

from sandbox import topology

REPO = Path(__file__).resolve().parent.parent
FUNCTION_VERSION = REPO / "function" / "notifier" / "version.py"
STUB = REPO / "tfx_exit_stub"
STUB_VERSION = STUB / "_version.py"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
STUB_PYPROJECT = tomllib.loads((STUB / "pyproject.toml").read_text())
LOCK = REPO / "function" / "requirements.txt"
LOCK_INPUT = REPO / "function" / "requirements.in"


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
    # Both distributions take their version from those files, and from nowhere else.
    assert STUB_PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "tfx_exit_stub._version.__version__"
    }
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "notifier.version.__version__"}


def test_the_operator_tools_ship_the_stub_instead_of_depending_on_it() -> None:
    """tfx-exit-stub is on no index, so a dependency on it would fail a plain ``pip install .``;
    the tools' wheel carries the stub's package from the same folder instead."""
    assert STUB_PYPROJECT["project"]["name"] == "tfx-exit-stub"
    assert STUB_PYPROJECT["tool"]["setuptools"]["package-dir"] == {"tfx_exit_stub": "."}
    assert "tfx_exit_stub" in PYPROJECT["tool"]["setuptools"]["packages"]
    assert "tfx_exit_stub" not in PYPROJECT["tool"]["setuptools"].get("package-dir", {})  # the same folder
    depends_on = {
        re.split(r"[\s<>=!~;\[@]", r, maxsplit=1)[0].lower() for r in PYPROJECT["project"]["dependencies"]
    }
    assert "tfx-exit-stub" not in depends_on
    # What the stub needs at run time, the tools install too.
    assert set(STUB_PYPROJECT["project"]["dependencies"]) <= set(PYPROJECT["project"]["dependencies"])
    assert "uv" not in PYPROJECT.get("tool", {}), "no uv-only install paths: plain pip must do"


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
    for root, name in (
        (REPO / "function", "notifier"),
        (REPO, "replay"),
        (REPO, "history_tool"),
        (REPO, "sandbox"),
        (REPO, "tfx_exit_stub"),
    ):
        # Every folder with Python files, __init__.py or not (a namespace package counts too);
        # not what pip or build leave behind (``pip install ./tfx_exit_stub`` builds in place).
        for module in (root / name).rglob("*.py"):
            if not {"__pycache__", "build"} & set(module.relative_to(root).parts):
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
    out = subprocess.run(
        [operator_tools / "notifier-history", "backfill", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "--days" in out.stdout and "resume" in out.stdout


def test_the_installed_tools_carry_the_function_and_the_stub(operator_tools: Path, tmp_path: Path) -> None:
    code = (
        "import importlib.metadata as m, json, pkgutil, notifier, replay, sandbox, sandbox.paths as p\n"
        "import history_tool, tqdm\n"
        "import sandbox.topology as t, tfx_exit_stub\n"
        "mods = [i.name for pkg in (notifier, replay, history_tool, sandbox, tfx_exit_stub)"
        " for i in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.')]\n"
        "for name in mods:\n"
        "    if not name.endswith(('__main__', 'tfx_component', 'kfp_component')):  # those need TFX, KFP\n"
        "        __import__(name)\n"
        "print(json.dumps({'in_checkout': p.IN_CHECKOUT, 'function': str(p.FUNCTION_DIR),"
        " 'samples': sorted(f.name for f in p.SAMPLES_DIR.glob('*.status.json')),"
        " 'stub': tfx_exit_stub.__version__, 'stub_file': tfx_exit_stub.__file__,"
        " 'stub_from': m.packages_distributions()['tfx_exit_stub'],"
        " 'modules': sorted(mods), 'topology': t.load().__dict__}))"
    )
    run = subprocess.run(
        [operator_tools / "python", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout)
    assert found["in_checkout"] is False
    assert (Path(found["function"]) / "main.py").read_text() == (REPO / "function" / "main.py").read_text()
    assert found["samples"] == sorted(f.name for f in (REPO / "samples").glob("*.status.json"))
    assert len(found["modules"]) > 20
    # The installed sandbox starts the function with the topology Terraform deploys.
    assert found["topology"] == topology.load().__dict__
    # The stub's modules, installed from the tools' own wheel (no tfx-exit-stub distribution).
    assert found["stub"] == _version_in(STUB_VERSION)
    assert Path(found["stub_file"]).is_relative_to(operator_tools.parent)
    assert found["stub_from"] == ["vertex-pipeline-slack-notifier"]
    assert {m for m in found["modules"] if m.startswith("tfx_exit_stub.")} == {
        f"tfx_exit_stub.{module.stem}" for module in STUB.glob("*.py") if module.stem != "__init__"
    }


def _name(name: str) -> str:
    """A distribution name as PEP 503 normalises it (``slack_sdk`` is ``slack-sdk``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, set[str]]:
    """Each requirement line of a requirements file: normalised name -> the lines' ``==`` pins."""
    pins: dict[str, set[str]] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)(?:\s*;\s*\S.*)?", line)
        assert match, f"{path.name}: not pinned with ==: {line!r}"
        pins.setdefault(_name(match[1]), set()).add(match[2])
    return pins


def _via(path: Path) -> dict[str, set[str]]:
    """uv's annotations: package -> what asks for it (packages, or ``-r <input>``), from
    ``    # via NAME`` or ``    # via`` followed by ``    #   NAME`` lines."""
    via: dict[str, set[str]] = {}
    current = ""
    for line in path.read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", line):
            current = _name(match[1])
        elif asked := re.fullmatch(r" {4}# via ?(.*)| {4}# {3}(.+)", line):
            via.setdefault(current, set()).update(
                a if a.startswith("-r") else _name(a) for a in asked.groups() if a
            )
    return via


def test_the_function_lock_is_generated_from_its_input() -> None:
    """function/requirements.txt is ``make lock``'s output for function/requirements.in: every
    direct pin there, every package pinned, each one asked for by a locked package or the input.
    Checked without the network; an edit to either file without ``make lock`` fails here."""
    text = LOCK.read_text()
    assert text.startswith("# This file was autogenerated by uv via the following command:\n#    make lock\n")
    direct, locked, via = _pins(LOCK_INPUT), _pins(LOCK), _via(LOCK)
    source = "-r function/requirements.in"
    missing = {name: pins for name, pins in direct.items() if locked.get(name) != pins}
    assert missing == {}, "function/requirements.in changed: run `make lock`"
    marked = {name for name, asked in via.items() if source in asked}
    assert marked == set(direct), "the lock's direct dependencies are not the input's: run `make lock`"
    assert set(via) == set(locked), "a locked package has no '# via' (edited by hand?)"
    orphans = {
        name: asked - {source} - set(locked) for name, asked in via.items() if asked - {source} - set(locked)
    }
    assert orphans == {}, "asked for by packages no longer locked: run `make lock`"


def test_the_venv_runs_the_locked_versions() -> None:
    """What the tests run against is the lock: each package it pins for this Python is installed
    at that version (a venv built before the lock changed fails: `make venv`)."""
    wrong = {}
    for line in LOCK.read_text().splitlines():
        if not line or line[0] in " #":
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            installed = importlib.metadata.version(requirement.name)
            if not requirement.specifier.contains(installed, prereleases=True):
                wrong[requirement.name] = (str(requirement.specifier), installed)
    assert wrong == {}
