"""Ask the real Terraform binary whether a variable's validations accept a value.

`terraform console` needs no provider and no `terraform init` for a module that
declares only variables and locals, and it runs the variables' validation
blocks. Each check copies `variable` blocks (or whole provider-free files such as
scope.tf) verbatim from the module into a scratch directory, passes the
candidate values through a .tfvars.json file, and reads back
`jsonencode(EXPRESSION)`: the exact JSON Terraform would hand on (for example as
an environment variable), so the function's own parser can be run on it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REJECTED = "Invalid value for variable"


class RawJson(str):
    """A value given as JSON text, for numbers json.dumps cannot write (e.g. 120 digits)."""


@dataclass(frozen=True)
class Verdict:
    """What Terraform made of one value: accepted (and its JSON) or rejected (and why)."""

    accepted: bool
    rendered: str | None  # jsonencode(var.NAME), when accepted
    message: str  # Terraform's error text, when rejected


def terraform_binary() -> str | None:
    """Path of the terraform binary, or None."""
    return shutil.which("terraform")


def variable_block(tf_text: str, name: str) -> str:
    """The `variable "name" { ... }` block of a formatted .tf file, verbatim."""
    # terraform fmt puts a top-level block's closing brace alone at column 0.
    match = re.search(rf'^variable "{re.escape(name)}" \{{\n.*?^\}}\n', tf_text, flags=re.M | re.S)
    assert match, f"variable {name!r} not found"
    return match.group(0)


def console(
    files: Mapping[str, str], values: Mapping[str, object], expression: str, timeout: float = 60
) -> Verdict:
    """Evaluate jsonencode(expression) in a scratch module made of `files`, with these variable values.

    Rejected means a variable's validation refused a value; any other error fails the caller.
    """
    binary = terraform_binary()
    assert binary, "terraform is not on PATH"
    with tempfile.TemporaryDirectory(prefix="tf-console-") as scratch:
        for name, text in files.items():
            Path(scratch, name).write_text(text, encoding="utf-8")
        tfvars = ", ".join(
            f"{json.dumps(name)}: {value if isinstance(value, RawJson) else json.dumps(value)}"
            for name, value in values.items()
        )
        Path(scratch, "case.tfvars.json").write_text(f"{{{tfvars}}}", encoding="utf-8")
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": os.devnull,
            "TF_DATA_DIR": str(Path(scratch, ".terraform")),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        }
        proc = subprocess.run(
            [binary, "console", "-var-file=case.tfvars.json"],
            input=f"jsonencode({expression})\n",
            capture_output=True,
            text=True,
            cwd=scratch,
            env=env,
            timeout=timeout,
            check=False,
        )
    err = _ANSI.sub("", proc.stderr)
    if _REJECTED in err:
        return Verdict(False, None, err)
    assert proc.returncode == 0 and "Error" not in err, f"terraform console failed:\n{err}"
    # The console prints the string result as an HCL string literal, which for
    # jsonencode output is also a JSON string literal.
    return Verdict(True, json.loads(proc.stdout.strip()), "")


def evaluate(block: str, name: str, value: object, timeout: float = 60) -> Verdict:
    """Run `terraform console` on `block` with var.name = value."""
    return console({"variable.tf": block}, {name: value}, f"var.{name}", timeout)


def evaluate_many(block: str, name: str, values: list[object]) -> list[Verdict]:
    """evaluate() for each value, a few at a time (each is a separate process)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda v: evaluate(block, name, v), values))
