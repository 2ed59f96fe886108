"""Load a Terraform module's .tf files into plain Python structures for tests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from hcl2 import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
EXAMPLE_DIR = TERRAFORM_DIR / "examples" / "basic"

_OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=True, strip_string_quotes=True)


def parse(text: str) -> dict:
    """Parse HCL text the same way tools/tf_schema_check.py does."""
    return hcl2.loads(text, serialization_options=_OPTIONS)


def blocks(value: object) -> list[dict]:
    """Nested block bodies of an attribute value (a list of dicts, or one dict)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


def block(body: dict, name: str) -> dict:
    """The single nested block `name` of `body`; fails if it is absent or repeated."""
    found = blocks(body.get(name))
    assert len(found) == 1, f"expected exactly one {name!r} block, found {len(found)}"
    return found[0]


def regex_arguments(condition: str) -> list[str]:
    """The regular expressions inside `regex("...", ...)` calls, HCL escapes undone, for Python's re.

    RE2 (Terraform's engine) takes flags anywhere; Python only first: ``^(?s)…`` becomes ``(?s)^…``.
    """
    patterns = [json.loads(f'"{raw}"') for raw in re.findall(r'regex\("((?:[^"\\]|\\.)*)"', condition)]
    return [re.sub(r"^\^(\(\?[a-z]+\))", r"\1^", pattern) for pattern in patterns]


@dataclass
class Module:
    """The top-level blocks of one Terraform module directory."""

    resources: dict[str, dict[str, dict]] = field(default_factory=dict)
    data: dict[str, dict[str, dict]] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, object] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def resource(self, rtype: str, name: str) -> dict:
        """Body of resource `rtype.name`; fails naming it if absent."""
        assert name in self.resources.get(rtype, {}), f"resource {rtype}.{name} not found"
        return self.resources[rtype][name]

    def all_resources(self) -> list[tuple[str, str, dict]]:
        """Every (type, name, body) of the module's resources."""
        return [(t, n, b) for t, named in self.resources.items() for n, b in named.items()]


def _named(entries: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for entry in entries:
        for key, value in entry.items():
            if not key.startswith("__"):
                out[key] = value
    return out


def load_module(directory: Path) -> Module:
    """Parse every .tf file directly in `directory` (not subdirectories)."""
    module = Module()
    for tf in sorted(directory.glob("*.tf")):
        text = tf.read_text(encoding="utf-8")
        module.texts[tf.name] = text
        doc = parse(text)
        for section, target in (("resource", module.resources), ("data", module.data)):
            for entry in doc.get(section, []):
                for rtype, named in entry.items():
                    if rtype.startswith("__"):
                        continue
                    for rname, body in named.items():
                        if not rname.startswith("__"):
                            target.setdefault(rtype, {})[rname] = body
        module.variables.update(_named(doc.get("variable", [])))
        module.outputs.update(_named(doc.get("output", [])))
        module.modules.update(_named(doc.get("module", [])))
        for entry in doc.get("locals", []):
            module.locals.update({k: v for k, v in entry.items() if not k.startswith("__")})
        module.terraform.extend(doc.get("terraform", []))
    return module
