"""JSON from outside, parsed with bounded cost: every parser of outside input goes through here.

``json.loads`` alone is not safe on bytes anyone can publish: a few thousand nested
brackets raise ``RecursionError``, a number of more than 4,300 digits raises a bare
``ValueError``, ``NaN`` is accepted although it is not JSON, and a lone ``\\ud800``
escape yields a string that cannot be encoded again. ``loads`` checks, in this order and
each in linear time:

1. size, before anything else is done with the bytes;
2. UTF-8 (a leading byte order mark is accepted and dropped);
3. nesting depth, by one scan over the brackets outside strings;
4. then parses, refusing numbers longer than ``max_number_chars`` and the non-JSON
   constants ``NaN``/``Infinity``; lone surrogates in strings become U+FFFD.

Every refusal is a ``JsonInputError`` (a ``ValueError``) naming the cause; each caller
turns it into its own kind of error (a permanent ``BadMessageError`` in the function, a
``BadInputError`` in the replay tool, a ``ConfigError`` for configuration). Duplicate
keys keep the last value, as JavaScript's ``JSON.parse`` does.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

_BOM = "\ufeff"
# A JSON string (the unrolled form: linear, no nested quantifier) or one bracket.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENERS = frozenset("[{")
# Only an escape can put a surrogate into a string parsed from valid UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonInputError(ValueError):
    """The input is not JSON within the limits; the message says why, never echoing it at length."""


@dataclass(frozen=True)
class Limits:
    """What one kind of input may be: its size in bytes, its nesting, its longest number."""

    max_bytes: int
    max_depth: int
    max_number_chars: int = 100


KIB = 1024
MIB = 1024 * KIB

# The JSON in one Pub/Sub message: a final status (a few hundred bytes; Vertex's longest
# error messages are a few KiB) or a Cloud Logging entry from a sink (at most 256 KB as
# stored; its JSON form is a little larger). One limit for both: the message is parsed
# once, then its shape says which it is.
MESSAGE_DATA = Limits(max_bytes=512 * KIB, max_depth=64)
# A push body: Pub/Sub's 10 MB message in base64 plus attributes and framing.
PUSH_BODY = Limits(max_bytes=14 * MIB, max_depth=16)
# A saved subscription pull (gcloud ... --format=json) of up to a thousand messages.
REPLAY_FILE = Limits(max_bytes=64 * MIB, max_depth=32)
# Configuration held in one environment variable.
CONFIG_VALUE = Limits(max_bytes=32 * KIB, max_depth=8)


def loads(raw: bytes | str, limits: Limits) -> Any:
    """Parse ``raw`` within ``limits``, or raise JsonInputError naming the first problem found."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise JsonInputError(f"is {size:,} bytes, over the {limits.max_bytes:,}-byte limit")
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"is not UTF-8 text (invalid byte at offset {exc.start})") from None
    else:
        text = raw
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    if not text.strip():
        raise JsonInputError("is empty")
    _check_depth(text, limits.max_depth)
    try:
        value = json.loads(
            text,
            parse_int=lambda s: _number(s, int, limits),
            parse_float=lambda s: _number(s, float, limits),
            parse_constant=_not_json,
        )
    except JsonInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # belt and braces: the checks above should catch these
        raise JsonInputError(f"is not JSON ({type(exc).__name__})") from None
    if _SURROGATE_ESCAPE.search(text):
        value = _replace_lone_surrogates(value)
    return value


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it can always be encoded as UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise JsonInputError(f"nests deeper than {max_depth} levels")
        elif token in "]}":
            depth -= 1


def _number(text: str, kind: type, limits: Limits) -> Any:
    if len(text) > limits.max_number_chars:
        raise JsonInputError(f"has a number of {len(text):,} characters (at most {limits.max_number_chars})")
    value = kind(text)
    if kind is float and not math.isfinite(value):
        raise JsonInputError(f"has a number out of range ({text[:20]})")
    return value


def _not_json(name: str) -> Any:
    raise JsonInputError(f"uses {name}, which is not JSON")


def _replace_lone_surrogates(value: Any) -> Any:
    # Iterative, so that even the deepest value the limits allow costs no recursion.
    root = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, str):
            container[key] = clean_text(item)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
        elif isinstance(item, dict):
            cleaned = {clean_text(k): v for k, v in item.items()}
            item.clear()
            item.update(cleaned)
            stack.extend((item, k) for k in item)
    return root[0]
