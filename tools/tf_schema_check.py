"""Offline check of Terraform files against the providers' schemas.

`terraform validate` needs the provider binaries, which cannot be downloaded on
machines without registry access. The prebuilt CDKTF provider packages on PyPI
(`cdktf-cdktf-provider-google`, `cdktf-cdktf-provider-archive`) ship a jsii
assembly generated from each provider's schema: every resource and data source
has a config struct listing its arguments and nested blocks, with the Terraform
name in the registry docs link, whether it is optional, and its type. This tool
reads those assemblies and reports, for every `resource`, `data` and `provider`
block in the given .tf files:

* types that the provider does not have,
* arguments or nested blocks the schema does not know (typos, removed fields),
* required arguments or blocks that are not set.

Usage: python tools/tf_schema_check.py [PATH ...]   (default: terraform/)
Exit status: 0 clean, 1 problems found, 2 could not run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from hcl2 import SerializationOptions

# Packages whose bundled jsii assembly describes a provider's schema. The
# archive provider's package is tried too; if it is absent, the hardcoded
# ARCHIVE_FILE_FALLBACK below stands in for its one data source we use.
PROVIDER_PACKAGES = ("cdktf_cdktf_provider_google", "cdktf_cdktf_provider_archive")

# Terraform's meta-arguments are not in provider schemas.
META_ARGUMENTS = frozenset(
    {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
)
PROVIDER_META_ARGUMENTS = frozenset({"alias"})

# Keys python-hcl2 adds to its output that are not Terraform arguments.
_HCL2_MARKERS = frozenset({"__is_block__", "__start_line__", "__end_line__"})

_REPRESENTS = re.compile(
    r"Represents a \{@link https://registry\.terraform\.io/providers/[^/]+/[^/]+/[^/]+/docs"
    r"(?:/(?P<kind>resources|data-sources)/\S+)? (?P<name>[a-z0-9_]+)\}"
)
_DOC_ANCHOR = re.compile(r"/docs/[^#\s]*#(?P<name>[a-z0-9_]+) ")


@dataclass
class Attribute:
    """One argument or nested block of a schema block."""

    name: str
    required: bool
    block: Block | None = None  # set when the argument is a nested block


@dataclass
class Block:
    """A schema block: the config of a resource, data source, provider or nested block."""

    attributes: dict[str, Attribute] = field(default_factory=dict)


@dataclass
class Schema:
    """Resource, data source and provider schemas keyed by their Terraform type name."""

    resources: dict[str, Block] = field(default_factory=dict)
    data_sources: dict[str, Block] = field(default_factory=dict)
    providers: dict[str, Block] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """A finding, located in a .tf file."""

    file: str
    line: int | None
    address: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.address}: {self.message}"


# The archive provider's `archive_file` data source (hashicorp/archive 2.x), used
# only when no cdktf-cdktf-provider-archive assembly is installed. Hardcoded from
# the provider's documentation for data source archive_file (2.7.x): the source
# content arguments are individually optional (exactly one must be given).
ARCHIVE_FILE_FALLBACK: dict[str, bool] = {
    "type": True,
    "output_path": True,
    "source_dir": False,
    "source_file": False,
    "source_content": False,
    "source_content_filename": False,
    "excludes": False,
    "exclude_symlink_directories": False,
    "output_file_mode": False,
}


def _archive_fallback() -> Block:
    """Return the hardcoded archive_file schema, including its `source` block."""
    blk = Block({n: Attribute(n, req) for n, req in ARCHIVE_FILE_FALLBACK.items()})
    source = Block({"content": Attribute("content", True), "filename": Attribute("filename", True)})
    blk.attributes["source"] = Attribute("source", False, source)
    return blk


def find_assemblies(packages: Iterable[str] = PROVIDER_PACKAGES) -> list[Path]:
    """Locate the `_jsii/*.jsii.tgz` assemblies of the installed provider packages."""
    found: list[Path] = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            found.extend(sorted(Path(location, "_jsii").glob("*.jsii.tgz")))
    return found


def _read_assembly(path: Path) -> dict:
    with tarfile.open(path, "r:gz") as tar:
        member = tar.extractfile("package/.jsii")
        if member is None:
            raise ValueError(f"{path}: no package/.jsii inside")
        return json.load(member)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _struct_fqn(type_ref: dict, types: dict) -> str | None:
    """Return the struct fqn if `type_ref` is a nested block (single or list), else None."""
    if "union" in type_ref:
        for member in type_ref["union"]["types"]:
            fqn = _struct_fqn(member, types)
            if fqn:
                return fqn
        return None
    if "collection" in type_ref:
        coll = type_ref["collection"]
        if coll.get("kind") == "array":
            return _struct_fqn(coll["elementtype"], types)
        return None  # maps are plain arguments, never blocks
    fqn = type_ref.get("fqn")
    if fqn and types.get(fqn, {}).get("datatype"):
        return fqn
    return None


def _build_block(fqn: str, types: dict, cache: dict[str, Block]) -> Block:
    if fqn in cache:
        return cache[fqn]
    blk = Block()
    cache[fqn] = blk  # registered first: recursive structs terminate
    for prop in types[fqn].get("properties", []):
        docs = prop.get("docs", {})
        anchor = _DOC_ANCHOR.search(docs.get("remarks", "") + " " + docs.get("summary", "") + " ")
        name = anchor.group("name") if anchor else _snake(prop["name"])
        nested = _struct_fqn(prop["type"], types)
        blk.attributes[name] = Attribute(
            name=name,
            required=not prop.get("optional", False),
            block=_build_block(nested, types, cache) if nested else None,
        )
    return blk


def load_schema(assemblies: Iterable[Path]) -> Schema:
    """Build a Schema from jsii assemblies of CDKTF prebuilt provider packages."""
    schema = Schema()
    for path in assemblies:
        assembly = _read_assembly(path)
        types = assembly["types"]
        cache: dict[str, Block] = {}
        schema.sources.append(f"{assembly['name']}@{assembly['version']}")
        for cls in types.values():
            if cls.get("kind") != "class":
                continue
            match = _REPRESENTS.search(cls.get("docs", {}).get("summary", ""))
            if not match:
                continue
            params = cls.get("initializer", {}).get("parameters", [])
            config = next((p for p in params if p["name"] == "config"), None)
            if config is None:
                continue
            blk = _build_block(config["type"]["fqn"], types, cache)
            kind, name = match.group("kind"), match.group("name")
            target = {
                "resources": schema.resources,
                "data-sources": schema.data_sources,
                None: schema.providers,
            }[kind]
            target[name] = blk
    if "archive_file" not in schema.data_sources:
        schema.data_sources["archive_file"] = _archive_fallback()
        schema.sources.append("archive_file (hardcoded fallback)")
    return schema


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def _body_items(body: dict) -> Iterator[tuple[str, object]]:
    for key, value in body.items():
        if key in _HCL2_MARKERS or key.startswith("__"):
            continue
        yield key, value


def _blocks(value: object) -> list[dict]:
    """Nested block bodies of a value (python-hcl2 gives a list of dicts for blocks)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        return [value]
    return []


def check_body(body: dict, blk: Block, file: str, address: str, top_meta: frozenset[str]) -> list[Problem]:
    """Check one HCL block body against its schema block, recursively."""
    problems: list[Problem] = []
    line = None  # filled in per top-level block by check_document
    seen: set[str] = set()
    for key, value in _body_items(body):
        if key in top_meta:
            continue
        if key == "dynamic":
            for dyn in _blocks(value):
                for label, dyn_body in _body_items(dyn):
                    name = _unquote(label)
                    seen.add(name)
                    attr = blk.attributes.get(name)
                    if attr is None or attr.block is None:
                        problems.append(Problem(file, line, address, f"unknown nested block {name!r}"))
                        continue
                    for content in _blocks(dyn_body):
                        for inner in _blocks(content.get("content")):
                            problems += check_body(inner, attr.block, file, f"{address}.{name}", frozenset())
            continue
        seen.add(key)
        attr = blk.attributes.get(key)
        if attr is None:
            problems.append(Problem(file, line, address, f"unknown argument {key!r}"))
            continue
        if attr.block is not None:
            for nested in _blocks(value):
                problems += check_body(nested, attr.block, file, f"{address}.{key}", frozenset())
    for name, attr in blk.attributes.items():
        if attr.required and name not in seen:
            what = "block" if attr.block is not None else "argument"
            problems.append(Problem(file, line, address, f"missing required {what} {name!r}"))
    return problems


def parse_tf(text: str) -> dict:
    """Parse HCL text with python-hcl2, keeping block markers and line numbers."""
    options = SerializationOptions(
        with_comments=False, with_meta=True, explicit_blocks=True, strip_string_quotes=True
    )
    return hcl2.loads(text, serialization_options=options)


def _block_line(text: str, keyword: str, *labels: str) -> int | None:
    """Line number of a top-level block header (python-hcl2 8 does not report lines)."""
    pattern = r"^\s*" + keyword + "".join(r'\s+"?' + re.escape(label) + '"?' for label in labels)
    match = re.search(pattern + r"\s*\{", text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _with_line(problems: list[Problem], line: int | None) -> list[Problem]:
    return [Problem(p.file, p.line or line, p.address, p.message) for p in problems]


def check_document(doc: dict, schema: Schema, file: str, text: str = "") -> tuple[list[Problem], int]:
    """Check the resource, data and provider blocks of one parsed .tf file."""
    problems: list[Problem] = []
    checked = 0
    sections = (("resource", schema.resources, ""), ("data", schema.data_sources, "data."))
    for section, table, prefix in sections:
        for entry in doc.get(section, []):
            for rtype, named in _body_items(entry):
                rtype = _unquote(rtype)
                for rname, body in _body_items(named):
                    address = f"{prefix}{rtype}.{_unquote(rname)}"
                    line = _block_line(text, section, rtype, _unquote(rname))
                    checked += 1
                    blk = table.get(rtype)
                    if blk is None:
                        kind = "resource" if section == "resource" else "data source"
                        problems.append(Problem(file, line, address, f"unknown {kind} type"))
                        continue
                    found = check_body(body, blk, file, address, META_ARGUMENTS)
                    problems += _with_line(found, line)
    for entry in doc.get("provider", []):
        for pname, body in _body_items(entry):
            pname = _unquote(pname)
            blk = schema.providers.get(pname)
            if blk is None:
                continue  # a provider we hold no schema for; its resources are flagged instead
            checked += 1
            found = check_body(body, blk, file, f"provider.{pname}", PROVIDER_META_ARGUMENTS)
            problems += _with_line(found, _block_line(text, "provider", pname))
    return problems, checked


def iter_tf_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield .tf files under the given paths, skipping .terraform directories."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for tf in sorted(path.rglob("*.tf")):
            if ".terraform" not in tf.parts:
                yield tf


def check_paths(paths: Iterable[Path], schema: Schema) -> tuple[list[Problem], int, int]:
    """Check every .tf file under `paths`; return problems, files and blocks checked."""
    problems: list[Problem] = []
    files = blocks = 0
    for tf in iter_tf_files(paths):
        files += 1
        try:
            text = tf.read_text(encoding="utf-8")
            doc = parse_tf(text)
        except Exception as exc:  # the parser raises several lark error types
            problems.append(Problem(str(tf), None, "-", f"cannot parse: {exc}"))
            continue
        found, checked = check_document(doc, schema, str(tf), text)
        problems += found
        blocks += checked
    return problems, files, blocks


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("terraform")])
    parser.add_argument(
        "--assembly",
        action="append",
        type=Path,
        help="jsii assembly (.jsii.tgz) to use instead of the installed provider packages",
    )
    args = parser.parse_args(argv)

    assemblies = args.assembly or find_assemblies()
    if not any("provider-google" in a.name for a in assemblies):
        print(
            "tf_schema_check: no google provider schema found; "
            "install cdktf-cdktf-provider-google (see .ci/terraform-checks.sh)",
            file=sys.stderr,
        )
        return 2
    schema = load_schema(assemblies)
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"tf_schema_check: no such path: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    problems, files, blocks = check_paths(args.paths, schema)
    for problem in problems:
        print(problem)
    status = "FAILED" if problems else "OK"
    print(
        f"tf_schema_check: {status}: {blocks} blocks in {files} files, "
        f"{len(problems)} problems (schemas: {', '.join(schema.sources)})"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
