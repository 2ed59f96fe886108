r"""Strings a regular expression accepts: its shortest, its longest (repeats capped) and random ones.

Terraform's validations are regexes; to check that whatever one accepts, the function
accepts too, the tests need values at the edges of each: ``C00`` and a 200-character
channel id from ``^[CGD][A-Z0-9]{2,}$``, a mention ending in a non-ASCII character from
``[^<>]*``. The pattern is read with Python's own regex parser (RE2, Terraform's engine,
agrees with it on the syntax the module uses; ``\d``, ``\s`` and ``\w`` are taken as RE2's,
ASCII only); whether Terraform really accepts a sample is for the caller to ask Terraform.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

try:  # Python 3.11+
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse  # type: ignore[no-redef]

# Candidate characters, in the order "lowest" to "highest": printable ASCII, then the
# characters that trip grammars up (tab, newline, non-ASCII letters and digits, odd spaces).
POOL = [chr(c) for c in range(0x20, 0x7F)] + ["\t", "\n", "é", "ß", "\u0663", "\u00a0", "\u2028"]
# An unbounded repeat (*, +, {n,}) is sampled up to this many more than its minimum.
UNBOUNDED_EXTRA = 200
# \d, \s and \w as RE2 (Terraform's engine) reads them: ASCII only, where Python's are Unicode.
_CATEGORIES = {
    "CATEGORY_DIGIT": "[0-9]",
    "CATEGORY_NOT_DIGIT": "[^0-9]",
    "CATEGORY_SPACE": "[\t\n\f\r ]",
    "CATEGORY_NOT_SPACE": "[^\t\n\f\r ]",
    "CATEGORY_WORD": "[0-9A-Za-z_]",
    "CATEGORY_NOT_WORD": "[^0-9A-Za-z_]",
}


def _in_class(char: str, items: list) -> bool:
    negate, hit = False, False
    for op, arg in items:
        kind = op.name
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            hit = hit or ord(char) == arg
        elif kind == "RANGE":
            hit = hit or arg[0] <= ord(char) <= arg[1]
        elif kind == "CATEGORY":
            hit = hit or re.fullmatch(_CATEGORIES[arg.name], char) is not None
        else:
            raise NotImplementedError(f"character class item {kind}")
    return hit != negate


class _Walk:
    """One way through a pattern: ``low`` (fewest, lowest), ``high`` (most, highest) or random."""

    def __init__(self, strategy: str, rng: random.Random) -> None:
        self.strategy = strategy
        self.rng = rng

    def pick(self, options: list):
        if self.strategy == "low":
            return options[0]
        if self.strategy == "high":
            return options[-1]
        return self.rng.choice(options)

    def count(self, low: int, high: int) -> int:
        high = min(high, low + UNBOUNDED_EXTRA)
        if self.strategy == "low":
            return low
        if self.strategy == "high":
            return high
        return self.rng.choice([low, high, self.rng.randint(low, min(high, low + 20))])

    def text(self, pattern) -> str:
        return "".join(self.item(op.name, arg) for op, arg in pattern)

    def item(self, kind: str, arg) -> str:
        if kind == "LITERAL":
            return chr(arg)
        if kind == "NOT_LITERAL":
            return self.pick([c for c in POOL if ord(c) != arg])
        if kind == "ANY":
            return self.pick([c for c in POOL if c != "\n"])
        if kind == "IN":
            members = [c for c in POOL if _in_class(c, arg)]
            assert members, f"no candidate character fits the class {arg}"
            return self.pick(members)
        if kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, inner = arg
            return "".join(self.text(inner) for _ in range(self.count(low, high)))
        if kind == "SUBPATTERN":
            return self.text(arg[-1])
        if kind == "BRANCH":
            return self.text(self.pick(arg[1]))
        if kind == "AT":
            return ""  # ^, $, \A, \Z: the samples are whole strings
        raise NotImplementedError(f"regex element {kind}")


def samples(pattern: str, count: int = 8, seed: str = "") -> list[str]:
    """The shortest and longest strings ``pattern`` matches in full, and ``count`` random ones."""
    parsed = sre_parse.parse(pattern)
    rng = random.Random(f"{pattern}\0{seed}")
    found = dict.fromkeys(_walks(parsed, count, rng))
    compiled = re.compile(pattern)
    return [text for text in found if compiled.search(text)]


def _walks(parsed, count: int, rng: random.Random) -> Iterator[str]:
    yield _Walk("low", rng).text(parsed)
    yield _Walk("high", rng).text(parsed)
    for _ in range(count):
        yield _Walk("random", rng).text(parsed)
