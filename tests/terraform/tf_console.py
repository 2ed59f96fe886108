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

import bisect
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
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


def _write_tfvars(scratch: str, values: Mapping[str, object]) -> None:
    """One value a line: Terraform quotes the line of a value it rejects, unless it is too long."""
    tfvars = ",\n".join(
        f"{json.dumps(name)}: {value if isinstance(value, RawJson) else json.dumps(value)}"
        for name, value in values.items()
    )
    Path(scratch, "case.tfvars.json").write_text(f"{{\n{tfvars}\n}}\n", encoding="utf-8")


def _run(scratch: str, line: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`terraform console` in ``scratch`` (no CLI config, no checkpoint), reading one line."""
    binary = terraform_binary()
    assert binary, "terraform is not on PATH"
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": os.devnull,
        "TF_DATA_DIR": str(Path(scratch, ".terraform")),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    return subprocess.run(
        [binary, "console", "-var-file=case.tfvars.json"],
        input=line + "\n",
        capture_output=True,
        text=True,
        cwd=scratch,
        env=env,
        timeout=timeout,
        check=False,
    )


def _result(stdout: str) -> str:
    """The console's answer: its last line (a warning about rejected values may come first)."""
    return _ANSI.sub("", stdout).strip().splitlines()[-1]


def console(
    files: Mapping[str, str], values: Mapping[str, object], expression: str, timeout: float = 60
) -> Verdict:
    """Evaluate jsonencode(expression) in a scratch module made of `files`, with these variable values.

    Rejected means a variable's validation refused a value; any other error fails the caller.
    """
    with tempfile.TemporaryDirectory(prefix="tf-console-") as scratch:
        for name, text in files.items():
            Path(scratch, name).write_text(text, encoding="utf-8")
        _write_tfvars(scratch, values)
        proc = _run(scratch, f"jsonencode({expression})", timeout)
    err = _ANSI.sub("", proc.stderr)
    if _REJECTED in err:
        return Verdict(False, None, err)
    assert proc.returncode == 0 and "Error" not in err, f"terraform console failed:\n{err}"
    # The console prints the string result as an HCL string literal, which for
    # jsonencode output is also a JSON string literal.
    return Verdict(True, json.loads(_result(proc.stdout)), "")


def evaluate(block: str, name: str, value: object, timeout: float = 60) -> Verdict:
    """Run `terraform console` on `block` with var.name = value."""
    return console({"variable.tf": block}, {name: value}, f"var.{name}", timeout)


def evaluate_many(block: str, name: str, values: list[object], timeout: float = 120) -> list[Verdict]:
    """evaluate() for each value, in as few `terraform console` runs as it takes.

    The block is copied once per value as variable ``name__i`` (its validations then
    speak of ``var.name__i``); Terraform checks every copy and names, for each value it
    rejects, the line of the validation rule that refused it. For a value too long to
    quote Terraform leaves that line out: the values not yet placed are then asked
    about again, in halves.
    """
    verdicts: list[Verdict | None] = [None] * len(values)
    pending = [list(range(len(values)))] if values else []
    while pending:
        indices = pending.pop()
        if not indices:
            continue
        batch, unplaced = _batch(block, name, [values[i] for i in indices], timeout)
        if not unplaced or len(indices) == 1:
            for index, verdict in zip(indices, batch, strict=True):
                verdicts[index] = verdict if not unplaced else Verdict(False, None, f"{name}: {unplaced}")
            continue
        for index, verdict in zip(indices, batch, strict=True):
            if not verdict.accepted:
                verdicts[index] = verdict
        rest = [index for index, verdict in zip(indices, batch, strict=True) if verdict.accepted]
        pending += [rest[: len(rest) // 2], rest[len(rest) // 2 :]]
    return [v for v in verdicts if v is not None]


def _batch(block: str, name: str, values: list[object], timeout: float) -> tuple[list[Verdict], str]:
    """Verdicts on ``values`` from one console run, and the text of any rejection it could not place."""
    copies, starts = [], []
    line = 1
    for index in range(len(values)):
        copy = re.sub(rf"\bvar\.{re.escape(name)}\b", f"var.{name}__{index}", block)
        copy = copy.replace(f'variable "{name}"', f'variable "{name}__{index}"', 1)
        starts.append(line)
        copies.append(copy)
        line += copy.count("\n")
    expression = "[" + ", ".join(f"jsonencode(var.{name}__{i})" for i in range(len(values))) + "]"
    with tempfile.TemporaryDirectory(prefix="tf-console-") as scratch:
        Path(scratch, "variable.tf").write_text("".join(copies), encoding="utf-8")
        _write_tfvars(scratch, {f"{name}__{i}": value for i, value in enumerate(values)})
        proc = _run(scratch, f"jsonencode({expression})", timeout)
    err = _ANSI.sub("", proc.stderr)
    assert proc.returncode == 0, f"terraform console failed:\n{err}"
    rendered = json.loads(json.loads(_result(proc.stdout)))
    rejected: dict[int, list[str]] = {}
    unplaced = []
    for diagnostic in err.split("\u2577")[1:]:  # each diagnostic box opens with ╷
        if "Error:" not in diagnostic:
            continue  # "Due to the problems above, some expressions may produce unexpected results"
        assert _REJECTED in diagnostic, f"terraform console failed:\n{diagnostic}"
        where = re.search(r"validation rule at variable\.tf:(\d+),", diagnostic)
        if where is None:
            unplaced.append(diagnostic)
            continue
        index = bisect.bisect_right(starts, int(where.group(1))) - 1
        rejected.setdefault(index, []).append(diagnostic.replace(f"{name}__{index}", name))
    verdicts = [
        Verdict(False, None, "".join(rejected[i])) if i in rejected else Verdict(True, rendered[i], "")
        for i in range(len(values))
    ]
    return verdicts, "".join(unplaced)
