"""Secrets out of everything a message shows: token shapes scrubbed, secret-named values masked.

Pure: no I/O. ``destinations.content.build`` passes every string a message carries
through here (errors, log excerpts, parameters, labels, facts, names, notes), so no
destination can show a secret that a pipeline carried in a parameter or printed in a
traceback; ``enrich.task_logs`` scrubs excerpt lines as it makes them.

``scrub(text)`` replaces, keeping what kind of thing was there but not its value:

- Slack tokens ``xox[abposre]-…`` → ``xoxb-••••``, app tokens ``xapp-…`` → ``xapp-••••``,
  incoming-webhook paths ``hooks.slack.com/services/…`` → ``hooks.slack.com/services/••••``;
- Google API keys ``AIza…`` → ``AIza••••``, OAuth access tokens ``ya29.…`` → ``ya29.••••``;
- AWS access key ids ``AKIA…``/``ASIA…`` → ``AKIA••••``;
- GitHub tokens ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_…`` and ``github_pat_…`` → ``ghp_••••``;
- JSON Web Tokens ``eyJ….….…`` → ``[redacted JWT]``;
- PEM private keys, ``-----BEGIN … PRIVATE KEY-----`` to its ``-----END … PRIVATE KEY-----``
  → ``[redacted private key]``; a BEGIN without an END drops everything after it;
- ``Bearer <token>`` → ``Bearer ••••``; ``Authorization: <scheme> <value>`` → ``Authorization: <scheme> ••••``;
- values assigned to a secret-looking name, ``password=…``, ``--db-password=…``,
  ``?token=…``, ``api_key='…'``, ``"client_secret": "…"`` → ``password=••••`` (the name
  rule below; a value already masked by its shape keeps it: ``token=xoxb-••••``);
- the password of URL userinfo, ``https://user:pass@host`` → ``https://user:••••@host``.

``is_secret_name(name)`` is the name rule, for runtime parameters and labels as for the
``name=value`` form: a name is split into words on ``_ - .``, spaces and camelCase
(``apiKey`` → api, key; ``AUTH_HEADER`` → auth, header) and is secret when one word is
``token``, ``secret(s)``, ``password(s)``, ``passwd``, ``passphrase``, ``pass``, ``pwd``,
``credential(s)``, ``creds``, ``auth``, ``oauth``, ``authorization``, ``signature``,
``sig``, a run-together ``apikey``/``accesstoken``/``clientsecret``/…, or ``key``. Words,
not substrings: ``monkey``, ``author``, ``tokenizer`` and ``passenger`` are not secret.
Two near-miss families are decided deliberately: ``key`` after a data-modelling word
(``primary_key``, ``sort_key``, ``partition_key``, ``join_key``, …) names a column, not
a credential, and is shown; the plurals ``keys`` and ``tokens`` (``keys_to_keep``,
``max_tokens``) are shown unless a credential word comes before them (``api_keys``,
``access_tokens``). Anything else with ``key`` in it (``kms_key``, ``key``) is masked:
when in doubt, mask. A masked name still shows; its value is ``••••``.

Every pattern is linear on any input: each is a literal (or one bounded character class)
followed by bounded runs of classes that what comes next cannot begin with, so nothing
backtracks more than a bounded distance; a pattern whose long run can still fail at its
end starts only where a run of its class starts (a look-behind), so no two of its
attempts scan the same characters. PEM blocks are found with two searches, never with a
lazy ``.*?`` (which is quadratic on many BEGINs without an END). A 512 KB hostile text
scrubs in a few milliseconds (``bench/render.py`` measures it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "\u2022" * 4  # ••••
PRIVATE_KEY = "[redacted private key]"
JWT = "[redacted JWT]"
TOKEN_MAX = 2048  # the longest token a pattern masks whole; real ones are far shorter
# More than the longest text one pattern can match (a JWT's three parts, 3.6 KB at most):
# ``scrub_prefix`` scrubs this much beyond what it keeps, so nothing that begins in the
# kept part is cut before it is recognised.
MARGIN = 4096

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")

# Repetition bounds, spelled once.
_RUN = f"{{1,{TOKEN_MAX}}}"
_LONG_RUN = f"{{8,{TOKEN_MAX}}}"

# Token shapes: (pattern, replacement). Each starts with a literal, which the regex engine
# finds as fast as str.find; a look-behind after the literal checks the word boundary.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (rf"xox([abposre])-[A-Za-z0-9-]{_RUN}", r"xox\1-" + MASK),
        (rf"xapp-[A-Za-z0-9-]{_RUN}", "xapp-" + MASK),
        (rf"hooks\.slack\.com/(services|workflows|triggers)/[A-Za-z0-9/_-]{_RUN}", r"hooks.slack.com/\1/" + MASK),
        (rf"AIza[0-9A-Za-z_-]{{20,{TOKEN_MAX}}}", "AIza" + MASK),
        (rf"ya29\.[A-Za-z0-9._-]{_LONG_RUN}", "ya29." + MASK),
        (r"A([KS])IA(?<![A-Za-z0-9]A[KS]IA)[A-Z0-9]{12,20}(?![A-Za-z0-9])", r"A\1IA" + MASK),
        (rf"github_pat_[A-Za-z0-9_]{_LONG_RUN}", "github_pat_" + MASK),
        (rf"gh([pousr])_[A-Za-z0-9]{_LONG_RUN}", r"gh\1_" + MASK),
        # Header, claims, signature; starts only where a run of its class starts.
        (rf"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{{8,512}}\.[A-Za-z0-9_-]{_LONG_RUN}\.[A-Za-z0-9_-]{{0,1024}}", JWT),
        (rf"earer(?<=(?<![A-Za-z0-9])[Bb]earer)[ \t]{{1,10}}[A-Za-z0-9._~+/=-]{_LONG_RUN}", "earer " + MASK),
        (rf"EARER(?<=(?<![A-Za-z0-9])BEARER)[ \t]{{1,10}}[A-Za-z0-9._~+/=-]{_LONG_RUN}", "EARER " + MASK),
    )
)  # fmt: skip
# Authorization: <scheme> <credentials>, as a header, a dict entry or an assignment.
_AUTHORIZATION = tuple(
    re.compile(
        rf"{tail}(?<=(?<![A-Za-z0-9]){head}{tail})([\"']?[ \t]{{0,5}}[:=][ \t]{{0,5}}[\"']?)"
        rf"(?:([A-Za-z]{{1,20}})[ \t]{{1,10}})?[^\s\"',;]{_RUN}"
    )
    for head, tail in (("[Aa]", "uthorization"), ("A", "UTHORIZATION"))
)
# Only names with a secret word's stem in them are matched at all (a bounded look-ahead
# within the name), so ordinary ``a=b`` text costs no callback; ``is_secret_name`` decides.
_SECRET_STEM = r"(?=[A-Za-z0-9_.-]{0,124}?(?i:tok|secret|pass|pwd|cred|auth|sig|key))"
_VALUE = rf"(?:\"[^\"\n]{{0,{TOKEN_MAX}}}\"|'[^'\n]{{0,{TOKEN_MAX}}}'|[^\s\"'&,;=)}}\]]{_RUN})"
# name=value (query strings, command lines, reprs) and "name": "value" (JSON, dicts).
# Any run of name characters: --password, 0auth_token and db-password are names too.
_NAME = r"(?P<name>[A-Za-z0-9_.-]{1,128})"
_ASSIGNMENTS = (  # (the separator, without which the pattern cannot match; the pattern)
    ("=", re.compile(rf"(?<![A-Za-z0-9_.-]){_SECRET_STEM}{_NAME}(?P<sep>[ \t]{{0,3}}=[ \t]{{0,3}}){_VALUE}")),
    (
        ":",
        re.compile(
            rf"(?P<quote>[\"']){_SECRET_STEM}{_NAME}(?P=quote)(?P<sep>[ \t]{{0,3}}:[ \t]{{0,3}}){_VALUE}"
        ),
    ),
)
# What a token shape became: left as it is when a secret name is assigned it.
_MASKED = re.compile(
    rf"(?:xox[a-z]-|xapp-|AIza|ya29\.|A[KS]IA|gh[pousr]_|github_pat_|Bearer )?{MASK}|{re.escape(JWT)}|{re.escape(PRIVATE_KEY)}"
)
# The password in scheme://user:password@host.
_USERINFO = re.compile(r"://(?<=[A-Za-z0-9+.-]://)([^\s/?#@:]{0,256}):[^\s/?#@]{1,1024}@")

# --- the name rule ------------------------------------------------------------------------

# Words of a name: an upper-case run (an acronym), a capitalised or lower-case word, digits.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
NAME_MAX = 200  # of a name that is split into words; longer names are judged by their start
SECRET_WORDS = frozenset(
    {
        "token", "secret", "secrets", "password", "passwords", "passwd", "passphrase", "pass",
        "pwd", "credential", "credentials", "creds", "auth", "oauth", "authorization",
        "signature", "sig", "apikey", "apikeys", "accesskey", "secretkey", "privatekey",
        "authtoken", "accesstoken", "refreshtoken", "clientsecret",
    }
)  # fmt: skip
# "key" after one of these names a column or an index, not a credential.
DATA_KEY_WORDS = frozenset(
    {
        "primary", "foreign", "sort", "partition", "cluster", "clustering", "join", "group",
        "dedup", "unique", "composite", "row", "shard", "cache", "lookup", "index", "column",
        "label", "hash", "range", "merge", "order", "dict", "map",
    }
)  # fmt: skip
# "keys"/"tokens" after one of these are credentials (api_keys, access_tokens).
CREDENTIAL_WORDS = frozenset(
    {"api", "access", "refresh", "private", "secret", "encryption", "signing", "ssh", "client", "bearer",
     "session", "auth", "service", "slack", "github", "git"}
)  # fmt: skip


def name_words(name: str) -> list[str]:
    """``apiKey`` → ``['api', 'key']``; ``AUTH_HEADER`` → ``['auth', 'header']``."""
    return [word.lower() for word in _WORDS.findall(name[:NAME_MAX])]


def is_secret_name(name: str) -> bool:
    """Whether a value named ``name`` must be shown as ``••••`` (see the module docstring)."""
    words = name_words(name)
    for index, word in enumerate(words):
        before = words[index - 1] if index else ""
        if word == "key":
            secret = before not in DATA_KEY_WORDS
        elif word in ("keys", "tokens"):
            secret = before in CREDENTIAL_WORDS
        else:
            secret = word in SECRET_WORDS
        if secret:
            return True
    return False


# --- scrubbing ----------------------------------------------------------------------------


def without_private_keys(text: str) -> str:
    """``text`` with each PEM private-key block replaced; a BEGIN without an END drops the rest."""
    if "PRIVATE KEY" not in text:
        return text
    out: list[str] = []
    position = 0
    while True:
        begin = _PEM_BEGIN.search(text, position)
        if begin is None:
            out.append(text[position:])
            break
        out.append(text[position : begin.start()])
        out.append(PRIVATE_KEY)
        end = _PEM_END.search(text, begin.end())
        if end is None:
            break  # no END: everything after the BEGIN may be key material
        position = end.end()
    return "".join(out)


def _authorization(match: re.Match[str]) -> str:
    scheme = f"{match[2]} " if match[2] else ""
    return f"{match[0][: match.start(1) - match.start()]}{match[1]}{scheme}{MASK}"


def _assignment(match: re.Match[str]) -> str:
    head = match[0][: match.end("sep") - match.start()]
    value = match[0][len(head) :]
    quote = value[0] if value[:1] in ("'", '"') else ""
    if not is_secret_name(match["name"]) or _MASKED.fullmatch(value.strip("'\"")):
        return match[0]  # not secret, or already a masked token that says what it was
    return f"{head}{quote}{MASK}{quote}"


def scrub(text: str) -> str:
    """``text`` without the token shapes and secret assignments listed in the module docstring."""
    if not text:
        return text
    text = without_private_keys(text)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    for pattern in _AUTHORIZATION:
        text = pattern.sub(_authorization, text)
    for separator, pattern in _ASSIGNMENTS:
        if separator in text:
            text = pattern.sub(_assignment, text)
    if "://" in text:
        text = _USERINFO.sub(r"://\1:" + MASK + "@", text)
    return text


def scrub_prefix(text: str, keep: int) -> tuple[str, bool]:
    """The first ``keep`` characters of ``scrub(text)``, and whether anything was left out.

    Scrubs ``MARGIN`` characters more than it keeps, so a token that starts in the kept
    part is recognised whole before the cut (a BEGIN whose END lies beyond the margin
    drops the rest, as in ``scrub``): the cost is bounded by ``keep``, not by ``text``.
    """
    clean = scrub(text[: keep + MARGIN])
    cut = len(clean) > keep or len(text) > keep + MARGIN
    return clean[:keep], cut


def scrub_lines(lines: Iterable[str]) -> tuple[str, ...]:
    """Lines scrubbed as one text, so a private key spread over lines goes as a whole."""
    return tuple(scrub("\n".join(lines)).split("\n"))
