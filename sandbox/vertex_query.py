"""List-method query parameters as the Vertex AI REST API evaluates them: a subset.

- ``filter``: the AIP-160 grammar (https://google.aip.dev/160) the Vertex list methods
  document: restrictions ``field OP value`` with ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``
  and ``:`` (has / wildcard / ``:*`` presence), ``NOT`` (or ``-``), ``AND``, ``OR`` and
  parentheses. As in AIP-160 (and Cloud Logging, which shares the grammar), ``OR`` binds
  tighter than ``AND``: ``a AND b OR c`` is ``a AND (b OR c)``. Values are quoted strings
  or bare words (``schedule_name=projects/…`` is what the aiplatform SDK sends, unquoted).
  Field names may be snake_case or camelCase.
- ``orderBy``: ``"field [asc|desc], …"`` over the fields a method supports.
- ``readMask``: comma-separated field paths (the REST transport sends camelCase:
  ``pipelineSpec.pipelineInfo``); only those fields are answered.

Each resource declares its fields (``Field``): which operators each accepts and how its
value is read. Anything outside that is a ``QueryError`` (answered 400, as the real API
answers a filter it rejects); what the real API accepts but this stand-in does not
implement says so in the message, so a test cannot pass by accident either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sandbox.logging_standin import parse_time

Predicate = Callable[[dict[str, Any]], bool]
COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
EQUALITY = frozenset({"=", "!="})
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<paren>[()])
    | (?P<keyword>AND|OR|NOT)(?=[\s(]|$)
    | (?P<minus>-)(?=[A-Za-z(])
    | (?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*
      (?P<op><=|>=|!=|=|<|>|:)\s*
      (?P<value>"(?:[^"\\]|\\.)*"|\*|[^\s()"]+)
    )""",
    re.VERBOSE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


class QueryError(ValueError):
    """A filter, order or mask the API answers 400 (or this stand-in does not implement)."""


@dataclass(frozen=True)
class Field:
    """A filterable field: where its value is in the resource JSON and what it accepts.

    ``kind``: ``time`` (RFC 3339), ``text`` (``:`` is a ``*`` wildcard match), ``enum``
    (``names`` maps the JSON's integers to the names a filter uses), ``presence`` (only
    ``:*``), ``labels`` (``labels.KEY = "v"``, ``labels.KEY:*``, ``labels:KEY``).
    """

    path: str
    kind: str
    ops: frozenset[str]
    names: Mapping[int, str] | None = None
    presence: bool = False  # also ``field:*``


def snake(name: str) -> str:
    """``nextRunTime`` -> ``next_run_time`` (snake_case is left as it is)."""
    return _CAMEL.sub(r"_\1", name).lower()


def camel(name: str) -> str:
    """``next_run_time`` -> ``nextRunTime`` (camelCase is left as it is)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def value_at(resource: dict[str, Any], path: str) -> Any:
    """The value at a dotted camelCase path, or None."""
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def enum_name(value: Any, names: Mapping[int, str]) -> str:
    """An enum as a filter names it, whether the JSON has the integer or the name."""
    if isinstance(value, int):
        return names.get(value, str(value))
    return str(value) if value is not None else names.get(0, "")


def _unquote(raw: str) -> str:
    if raw.startswith('"'):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _time_value(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise QueryError(f"invalid timestamp {text!r}: values must be RFC 3339") from exc


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


def _restriction(name: str, op: str, raw: str, fields: Mapping[str, Field]) -> Predicate:
    """One ``field OP value`` as a predicate over the resource JSON."""
    value = _unquote(raw)
    head, _, key = name.partition(".")
    field = fields.get(snake(name)) or fields.get(snake(head))
    if field is None:
        raise QueryError(f"unsupported field {name!r} in filter")
    if field.kind == "labels":
        return _labels(field, key, op, raw, value)
    if key and fields.get(snake(name)) is None:
        raise QueryError(f"unsupported field {name!r} in filter")
    if op == ":" and raw == "*":
        if not (field.presence or field.kind == "presence"):
            raise QueryError(f"{name} does not support the :* presence check")
        return lambda resource: value_at(resource, field.path) not in (None, "", {}, [])
    if op not in field.ops:
        raise QueryError(f"{name} does not support {op!r}")
    if field.kind == "time":
        moment = _time_value(value)
        return lambda resource: _compare(_resource_time(resource, field.path), op, moment)
    if field.kind == "enum":
        names = field.names or {}
        if value not in names.values():
            raise QueryError(f"invalid value {value!r} for {name}")
        return lambda resource: _compare(enum_name(value_at(resource, field.path), names), op, value)
    if op == ":":
        pattern = _glob(value)
        return lambda resource: bool(pattern.match(str(value_at(resource, field.path) or "")))
    return lambda resource: _compare(str(value_at(resource, field.path) or ""), op, value)


def _labels(field: Field, key: str, op: str, raw: str, value: str) -> Predicate:
    def labels(resource: dict[str, Any]) -> dict[str, Any]:
        found = value_at(resource, field.path)
        return found if isinstance(found, dict) else {}

    if not key:
        if op != ":":
            raise QueryError("labels supports labels.KEY=value, labels.KEY:* and labels:KEY")
        return lambda resource: value in labels(resource)
    if op == ":" and raw == "*":
        return lambda resource: key in labels(resource)
    if op not in EQUALITY:
        raise QueryError(f"labels.{key} supports =, != and :*")
    return lambda resource: _compare(labels(resource).get(key), op, value)


def _resource_time(resource: dict[str, Any], path: str) -> datetime | None:
    text = value_at(resource, path)
    if not text:
        return None
    try:
        return parse_time(str(text))
    except ValueError:
        return None


def compile_filter(text: str, fields: Mapping[str, Field]) -> Predicate:
    """A predicate for ``text`` over resources with ``fields``; QueryError when rejected."""
    tokens: list[Any] = []
    position, end = 0, len(text.rstrip())
    while position < end:
        token = _TOKEN.match(text, position)
        if not token:
            raise QueryError(f"unsupported syntax at {text[position : position + 30]!r}")
        if token["field"]:
            tokens.append(_restriction(token["field"], token["op"], token["value"], fields))
        else:
            tokens.append(token["paren"] or token["keyword"] or "NOT")
        position = token.end()
    if not tokens:
        return lambda resource: True

    def expression(i: int) -> tuple[Predicate, int]:  # sequence (AND sequence)*
        left, i = factor(i)
        while i < len(tokens) and tokens[i] == "AND":
            right, i = factor(i + 1)
            left = _both(left, right)
        if i < len(tokens) and tokens[i] not in (")",):
            raise QueryError("juxtaposed terms (an implicit AND) are not supported: join them with AND")
        return left, i

    def factor(i: int) -> tuple[Predicate, int]:  # term (OR term)*: OR binds tighter than AND
        left, i = term(i)
        while i < len(tokens) and tokens[i] == "OR":
            right, i = term(i + 1)
            left = _either(left, right)
        return left, i

    def term(i: int) -> tuple[Predicate, int]:
        if i < len(tokens) and tokens[i] == "NOT":
            inner, i = simple(i + 1)
            return (lambda resource: not inner(resource)), i
        return simple(i)

    def simple(i: int) -> tuple[Predicate, int]:
        if i >= len(tokens):
            raise QueryError("unexpected end of filter")
        token = tokens[i]
        if token == "(":
            inner, i = expression(i + 1)
            if i >= len(tokens) or tokens[i] != ")":
                raise QueryError("unbalanced parentheses")
            return inner, i + 1
        if isinstance(token, str):
            raise QueryError(f"unexpected {token!r}")
        return token, i + 1

    predicate, stop = expression(0)
    if stop != len(tokens):
        raise QueryError(f"unexpected {tokens[stop]!r}")
    return predicate


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda resource: a(resource) and b(resource)


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda resource: a(resource) or b(resource)


_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


def sort_resources(
    resources: list[dict[str, Any]], order_by: str, allowed: Mapping[str, str], default: str
) -> list[dict[str, Any]]:
    """``resources`` in ``order_by`` (``default`` when empty) over ``allowed`` time fields
    (snake_case name -> JSON path); a field left unset sorts first. Ties keep name order."""
    keys: list[tuple[str, bool]] = []
    for part in (order_by or default).split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(f"invalid order_by {order_by!r}")
        name = snake(words[0])
        if name not in allowed:
            raise QueryError(f"unsupported order_by field {words[0]!r}")
        keys.append((allowed[name], len(words) == 2 and words[1].lower() == "desc"))
    ordered = sorted(resources, key=lambda resource: str(resource.get("name", "")))
    for path, descending in reversed(keys):
        ordered.sort(key=lambda resource: _resource_time(resource, path) or _EPOCH, reverse=descending)
    return ordered


def parse_mask(text: str, top_level: Iterable[str]) -> list[list[str]]:
    """The paths of a ``readMask`` as camelCase segments; QueryError for an unknown field."""
    known = set(top_level)
    paths = []
    for raw in text.split(","):
        segments = [camel(segment) for segment in raw.strip().split(".")]
        if not segments[0] or segments[0] not in known or not all(segments):
            raise QueryError(f"invalid read_mask path {raw.strip()!r}")
        paths.append(segments)
    return paths


def apply_mask(resource: dict[str, Any], paths: list[list[str]]) -> dict[str, Any]:
    """A copy of ``resource`` with only the fields at ``paths`` (those present)."""
    answer: dict[str, Any] = {}
    for segments in paths:
        value: Any = resource
        for segment in segments:
            value = value.get(segment) if isinstance(value, dict) else None
        if value is None:
            continue
        target = answer
        for segment in segments[:-1]:
            target = target.setdefault(segment, {})
        target[segments[-1]] = value
    return answer
