"""The house in order: tests mirror the code, the tools import one way, the module map is the code.

- Every unit test module mirrors a module: ``tests/unit/<root>/<path>/test_<name>.py`` (or
  ``test_<name>_<aspect>.py``) tests ``<code root>/<path>/<name>.py`` (or the package
  ``<path>/<name>/``), where the roots are
  ``MIRRORS``. The few test modules that test no one module sit at the top of ``tests/``,
  each in ``CROSS_CUTTING`` with the reason; nothing else does.
- Imports run one way, read with ``ast`` (nothing imported): the function imports nothing
  of the tools (it is deployed alone), the sandbox (stand-ins and the local stack) nothing
  of ``replay`` (the operator tool that may use it), the stub nothing of anyone.
- ``function/notifier/__init__.py`` and ``docs/how-it-works.md`` name modules that exist,
  and between them every module of ``function/notifier/``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO

TESTS = REPO / "tests"
NOTIFIER = REPO / "function" / "notifier"

# tests/unit/<key>/… mirrors <value>/…
MIRRORS = {
    "notifier": REPO / "function" / "notifier",
    "replay": REPO / "replay",
    "sandbox": REPO / "sandbox",
    "bench": REPO / "bench",
    "history_tool": REPO / "history_tool",
}

# What lives at the top of tests/, besides conftest.py and __init__.py.
FOLDERS = {
    "unit": "unit tests, mirroring the code (MIRRORS)",
    "e2e": "end to end, on the emulators and the stand-ins",
    "terraform": "the Terraform module",
    "stub": "the tfx_exit_stub distribution",
    "tfx": "the TFX tier, in its own venv (.ci/tfx-tier.sh)",
    "support": "helpers the tests share (no tests, no fixtures)",
    "data": "golden files and test data",
}
CROSS_CUTTING = {
    "test_docs.py": "the README and every page of docs/, as GitHub resolves their links",
    "test_packaging.py": "how each part installs: pyproject.toml, both distributions' versions, the lock",
    "test_layout.py": "the tests' layout, the tools' import direction and the module map (this file)",
    "test_results_data.py": "tests/data/results against Vertex AI's real types: test data, no module",
    "test_schedules_data.py": "tests/data/schedules against the real client: test data, no module",
    "test_trust_data.py": "tests/data/trust against its derivation in tests/support/trustdata.py",
}
# A conftest.py holds fixtures only its own folder uses; every shared one is in tests/conftest.py.
CONFTESTS = {
    "tests/conftest.py": "every shared fixture",
    "tests/e2e/conftest.py": "the fresh stack, over each end-to-end module's own stack",
    "tests/terraform/conftest.py": "the parsed Terraform module, for the structural tests (.venv-tf)",
}


def python_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def mirrored_module(test: Path) -> Path | None:
    """The code module ``test`` mirrors (a file, or a package's folder), or None when there is none."""
    parts = test.relative_to(TESTS / "unit").parts
    if parts[0] not in MIRRORS or not test.name.startswith("test_"):
        return None
    name = test.name.removeprefix("test_").removesuffix(".py")
    # test_<module>.py, or test_<module>_<aspect>.py for one aspect of a large module's tests
    # (test_handler_schedules.py): the longest prefix that names a module wins.
    words = name.split("_")
    for end in range(len(words), 0, -1):
        base = MIRRORS[parts[0]].joinpath(*parts[1:-1], "_".join(words[:end]))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def test_every_unit_test_module_mirrors_a_module() -> None:
    tests = [p for p in python_files(TESTS / "unit") if p.name.startswith("test_")]
    assert len(tests) > 40, "the unit tests were not found"
    orphans = [rel(p) for p in tests if mirrored_module(p) is None]
    assert not orphans, (
        f"these test modules mirror no module (tests/unit/<root>/<path>/test_<module>.py tests "
        f"<root>/<path>/<module>.py; roots: {sorted(MIRRORS)}): {orphans}"
    )


def test_the_mirror_check_can_fail() -> None:
    assert (
        mirrored_module(TESTS / "unit" / "notifier" / "state" / "test_streaks.py")
        == NOTIFIER / "state" / "streaks.py"
    )
    assert mirrored_module(TESTS / "unit" / "notifier" / "test_destinations.py") == (
        NOTIFIER / "destinations" / "__init__.py"
    )
    assert mirrored_module(TESTS / "unit" / "notifier" / "foo" / "test_bar.py") is None
    assert mirrored_module(TESTS / "unit" / "elsewhere" / "test_config.py") is None


def test_unit_folders_hold_only_tests_and_are_packages() -> None:
    # Helpers go to tests/support, fixtures to tests/conftest.py; each folder is a package so
    # that test modules of the same name (three test_render.py) can live side by side.
    strays = [
        rel(p)
        for p in python_files(TESTS / "unit")
        if p.name != "__init__.py" and not p.name.startswith("test_")
    ]
    assert not strays, f"only test modules belong in tests/unit (helpers: tests/support): {strays}"
    folders = {p.parent for p in python_files(TESTS / "unit")}
    missing = [rel(f) for f in sorted(folders) if not (f / "__init__.py").is_file()]
    assert not missing, f"these folders need an __init__.py: {missing}"


def test_the_top_of_tests_holds_only_known_folders_and_the_cross_cutting_modules() -> None:
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders == set(FOLDERS), f"unknown folders in tests/: {sorted(folders - set(FOLDERS))}"
    modules = {p.name for p in TESTS.glob("test_*.py")}
    assert modules == set(CROSS_CUTTING), (
        f"a test of one module goes to tests/unit/ (mirroring it); cross-cutting ones are listed in "
        f"CROSS_CUTTING with the reason: not listed {sorted(modules - set(CROSS_CUTTING))}, "
        f"gone {sorted(set(CROSS_CUTTING) - modules)}"
    )
    others = {p.name for p in TESTS.glob("*.py")} - modules - {"__init__.py", "conftest.py"}
    assert not others, f"helpers go to tests/support: {sorted(others)}"
    assert not list((TESTS / "support").glob("test_*.py")), "tests/support holds helpers only"


def test_fixtures_live_in_one_place() -> None:
    found = {rel(p) for p in TESTS.rglob("conftest.py") if "__pycache__" not in p.parts}
    assert found == set(CONFTESTS), (
        "shared fixtures go to tests/conftest.py; a folder's own conftest.py is listed in CONFTESTS "
        f"with the reason: not listed {sorted(found - set(CONFTESTS))}, gone {sorted(set(CONFTESTS) - found)}"
    )


# --- imports run one way ------------------------------------------------------------------

OURS = {"notifier", "sandbox", "replay", "tfx_exit_stub", "tests", "bench", "tools", "main"}
# What each part may import of ours (itself included).
MAY_IMPORT = {
    # Deployed alone (function/ is zipped as is): nothing of the tools, the stub or the tests.
    "function/notifier": {"notifier"},
    # Installed alone in pipeline images.
    "tfx_exit_stub": {"tfx_exit_stub"},
    # The lower layer: stand-ins, the local stack, what goes over the wire. Never replay.
    "sandbox": {"sandbox", "notifier", "tfx_exit_stub"},
    # The operator tool: it may use the sandbox's pieces, the sandbox never uses it.
    "replay": {"replay", "notifier", "sandbox", "tfx_exit_stub"},
}


def imported(source: str) -> set[str]:
    """The top-level names ``source`` imports absolutely, by ``import``, ``from`` or ``importlib``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def test_imports_run_one_way() -> None:
    wrong = []
    for part, allowed in MAY_IMPORT.items():
        files = list(python_files(REPO / part))
        assert files, f"nothing found in {part}"
        for path in files:
            for name in sorted((imported(path.read_text()) & OURS) - allowed):
                wrong.append(f"{rel(path)} imports {name}")
    assert not wrong, (
        "imports must run one way (see MAY_IMPORT: replay may use sandbox, never the reverse; "
        f"the function and the stub use nothing of the tools): {wrong}"
    )


@pytest.mark.parametrize(
    "source",
    [
        "import replay.publishing",
        "from replay.publishing import as_pipeline_message",
        "def f():\n    from replay import invoke",
        "import importlib\nimportlib.import_module('replay.cli')",
    ],
)
def test_the_import_check_sees_every_spelling(source: str) -> None:
    assert "replay" in imported(source)
    assert "replay" not in imported("from . import replay\nx = 'import replay'")


# --- the module map: notifier/__init__.py and docs/how-it-works.md ------------------------

INIT_NAME = re.compile(r"^- ``([a-z_][a-z0-9_.]*)``", re.M)
DOC_PATH = re.compile(r"`((?:function/)?notifier/[a-z0-9_/]*(?:\.py|/)|function/[a-z0-9_/]+\.py)`")


def named_in_init() -> dict[str, Path]:
    """Each module ``notifier/__init__.py``'s map names, and the file it names."""
    doc = ast.get_docstring(ast.parse((NOTIFIER / "__init__.py").read_text())) or ""
    named = {}
    for name in INIT_NAME.findall(doc):
        base = NOTIFIER.joinpath(*name.split("."))
        named[name] = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    return named


def named_in_docs() -> dict[str, Path]:
    """Each module or folder docs/how-it-works.md names, and the path it names."""
    page = (REPO / "docs" / "how-it-works.md").read_text()
    named = {}
    for text in DOC_PATH.findall(page):
        path = REPO / text if text.startswith("function/") else REPO / "function" / text
        named[text] = path
    return named


def modules_of_the_notifier() -> set[Path]:
    """Every module of function/notifier: each file, and each package whose __init__ holds code."""
    modules = set()
    for path in python_files(NOTIFIER):
        if path.name == "__init__.py":
            body = ast.parse(path.read_text()).body
            if path.parent == NOTIFIER or all(
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body
            ):
                continue  # the map itself, or a package that only says what it holds
        modules.add(path)
    return modules


def test_the_map_and_the_page_name_only_modules_that_exist() -> None:
    init, docs = named_in_init(), named_in_docs()
    assert len(init) > 30 and len(docs) > 30, "the map's lines were not found"
    gone = [f"notifier/__init__.py names {name}" for name, path in init.items() if not path.is_file()]
    gone += [f"docs/how-it-works.md names {text}" for text, path in docs.items() if not path.exists()]
    assert not gone, f"gone (update the map and the page): {gone}"


def test_every_module_is_named_in_the_map_or_the_page() -> None:
    named = set(named_in_init().values()) | set(named_in_docs().values())
    unnamed = sorted(rel(p) for p in modules_of_the_notifier() - named)
    assert not unnamed, (
        "say what these modules do, in one line, in function/notifier/__init__.py's map or "
        f"docs/how-it-works.md: {unnamed}"
    )
