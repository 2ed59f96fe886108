"""Evaluate the root module's own expressions in `terraform console`, without the provider.

variables.tf and scope.tf hold no resource or data source, so `terraform console` evaluates
them as they are: each call copies both into a scratch module, stands in for the project
numbers projects.tf would read through data.google_project, and evaluates expressions copied
verbatim from the module's files: an environment variable's value from main.tf, a
precondition of the function from function.tf.
"""

from __future__ import annotations

import json
import re

from tests.terraform import tf_console
from tests.terraform.hcl_model import TERRAFORM_DIR, Module, block, blocks

TOPOLOGY_FILE = TERRAFORM_DIR / "topology.json"
PROJECT = "my-ml-project"
# What data.google_project would read: every project's number.
NUMBERS = {"my-ml-project": "123456789012", "team-b-ml": "210987654321", "my-ml-staging": "555000555000"}


def attribute(text: str, name: str) -> str:
    """The expression of the one-line attribute `name = ...` in a .tf file's text."""
    found = re.findall(rf"^\s*{name}\s*=\s*(.+?)\s*$", text, flags=re.M)
    assert len(found) == 1, f"{name}: expected one attribute line, found {len(found)}"
    return found[0]


def scope_module(tf: Module, numbers: dict[str, str], local_names: tuple[str, ...] = ()) -> dict[str, str]:
    """variables.tf, scope.tf and topology.json verbatim, a stand-in for project_numbers, and
    main.tf's locals ``local_names`` (one-line ones)."""
    entries = "\n".join(f"    {json.dumps(p)} = {json.dumps(n)}" for p, n in numbers.items())
    copied = "\n".join(f"  {name} = {attribute(tf.texts['main.tf'], name)}" for name in local_names)
    return {
        "variables.tf": tf.texts["variables.tf"],
        "scope.tf": tf.texts["scope.tf"],
        "topology.json": TOPOLOGY_FILE.read_text(encoding="utf-8"),
        "numbers.tf": f"locals {{\n  project_numbers = {{\n{entries}\n  }}\n}}\n",
        "copied.tf": f"locals {{\n{copied}\n}}\n",
    }


def evaluate(tf: Module, values: dict, expression: str, local_names: tuple[str, ...] = ()):
    """``expression`` evaluated with these variable values (project_id defaults to PROJECT)."""
    module = scope_module(tf, NUMBERS, local_names)
    verdict = tf_console.console(module, {"project_id": PROJECT, **values}, expression)
    assert verdict.accepted, verdict.message
    return json.loads(verdict.rendered)


def function_env(tf: Module, values: dict, names: tuple[str, ...], local_names: tuple[str, ...] = ()) -> dict:
    """These environment variables as main.tf writes them, for these variable values."""
    main = tf.texts["main.tf"]
    expression = "{" + ", ".join(f"{n} = {attribute(main, n)}" for n in names) + "}"
    return evaluate(tf, values, expression, local_names)


def function_preconditions(tf: Module) -> list[tuple[str, str]]:
    """(condition, error_message) of the function's preconditions, as written in function.tf."""
    found = re.findall(
        r"precondition \{\n(?:[ \t]*#.*\n)*[ \t]*condition\s*=\s*(.+)\n[ \t]*error_message\s*=\s*(.+)\n[ \t]*\}",
        tf.texts["function.tf"],
    )
    parsed = blocks(
        block(tf.resource("google_cloudfunctions2_function", "notifier"), "lifecycle")["precondition"]
    )
    assert len(found) == len(parsed), "a precondition is not in the two-line form this test reads"
    return found


def check(tf: Module, values: dict, mentions: str, local_names: tuple[str, ...] = ()) -> tuple[bool, str]:
    """Whether the function's one precondition mentioning ``mentions`` holds, and its message."""
    (found,) = [p for p in function_preconditions(tf) if mentions in p[0]]
    condition, message = found
    result = evaluate(tf, values, f"{{ok = {condition}, message = {message}}}", local_names)
    return result["ok"], result["message"]


def expect(tf: Module, values: dict, mentions: str, holds: bool) -> str:
    """Assert that the precondition mentioning ``mentions`` holds (or not) for these values; its message."""
    ok, message = check(tf, values, mentions)
    assert ok == holds, message
    return message
