"""``notifier.scrub``: every token shape, the name rule and its near misses, and hostile sizes.

The linear-time property is tested by what it promises on 512 KB adversarial texts (each
built to make a careless pattern backtrack or rescan): the output is right and bounded.
Wall time is ``bench/render.py``'s business, not a test's.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from notifier.scrub import (
    JWT,
    MARGIN,
    MASK,
    PRIVATE_KEY,
    is_secret_name,
    name_words,
    scrub,
    scrub_lines,
    scrub_prefix,
)
from tests.support.hostile import examples

KIB_512 = 512 * 1024

# (text, what it must become): each shape, and the kind of thing kept.
SHAPES = [
    ("token xoxb-1234567890-0987654321-AbCdEfGh here", f"token xoxb-{MASK} here"),
    ("xoxp-1-2-3 and xoxa-2-abc, xoxs-9, xoxo-1, xoxr-5", f"xoxp-{MASK} and xoxa-{MASK}, xoxs-{MASK}, xoxo-{MASK}, xoxr-{MASK}"),
    ("rotating xoxe.xoxp-1-Mi0yLTM0", f"rotating xoxe.xoxp-{MASK}"),
    ("app token xapp-1-A0123-456-abcdef", f"app token xapp-{MASK}"),
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX.", f"https://hooks.slack.com/services/{MASK}."),
    ("key=AIzaSyA-1234567890_abcdefghijklmnopqr&x=1", f"key=AIza{MASK}&x=1"),  # kept: it says what it was
    ("maps AIzaSyA-1234567890_abcdefghijklmnopqr done", f"maps AIza{MASK} done"),
    ("id AKIAIOSFODNN7EXAMPLE, session ASIAY34FZKBOKMUTVV7A.", f"id AKIA{MASK}, session ASIA{MASK}."),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", f"ghp_{MASK}"),
    ("gho_0123456789abcdef ghu_0123456789abcdef ghs_0123456789abcdef ghr_0123456789abcdef",
     f"gho_{MASK} ghu_{MASK} ghs_{MASK} ghr_{MASK}"),
    ("github_pat_11ABCDEFG0_abcdefXYZ0123456789", f"github_pat_{MASK}"),
    ("oauth ya29.a0AfH6SMBx-abcdefghijk_lmn", f"oauth ya29.{MASK}"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
     f"jwt {JWT} ok"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nnext",
     f"{PRIVATE_KEY}\nnext"),
    ("a -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- b -----BEGIN EC PRIVATE KEY-----"
     "\nMHc\n-----END EC PRIVATE KEY----- c", f"a {PRIVATE_KEY} b {PRIVATE_KEY} c"),
    ("key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n(the END was never printed)", f"key: {PRIVATE_KEY}"),
    ('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n", "x": 1}',
     f'{{"private_key": "{MASK}", "x": 1}}'),  # a key, then a secret-named value
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n-----END PGP PRIVATE KEY BLOCK-----", PRIVATE_KEY),
    ("Authorization: Bearer abc.def-ghi_jkl", f"Authorization: Bearer {MASK}"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA=='", f"curl -H 'Authorization: Basic {MASK}'"),
    ("AUTHORIZATION=Token 0123456789abcdef", f"AUTHORIZATION={MASK} {MASK}"),  # the header, then the name
    ("Proxy-Authorization: Digest username=x", f"Proxy-Authorization: Digest {MASK}"),
    ("sent bearer 0123456789abcdef", f"sent bearer {MASK}"),
    ("postgres://etl:s3cr3t@db.internal:5432/x", f"postgres://etl:{MASK}@db.internal:5432/x"),
    ("https://user:p%40ss@example.com/a?b=c", f"https://user:{MASK}@example.com/a?b=c"),
    ("redis://:rootpw@10.0.0.5:6379", f"redis://:{MASK}@10.0.0.5:6379"),
    ("password=hunter2 and ok=1", f"password={MASK} and ok=1"),
    ("train --password=hunter2 --db-pass 'x' 0auth_token=abc", f"train --password={MASK} --db-pass 'x' 0auth_token={MASK}"),
    ("https://x.example/cb?code=1&access_token=abc123&state=2", f"https://x.example/cb?code=1&access_token={MASK}&state=2"),
    ("Config(api_key='sk live xyz', model=\"m\")", f"Config(api_key='{MASK}', model=\"m\")"),
    ('{"client_secret": "abc", "name": "x", "db-password": 1234}',
     f'{{"client_secret": "{MASK}", "name": "x", "db-password": {MASK}}}'),
    ("X-Amz-Credential=AK%2F20261127&X-Amz-Signature=3f2a", f"X-Amz-Credential={MASK}&X-Amz-Signature={MASK}"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SHAPES)
def test_each_shape_is_scrubbed_and_says_what_it_was(text: str, expected: str) -> None:
    assert scrub(text) == expected


NEAR_MISSES = [
    "KeyError: 'churned'",
    "missing Bearer token",  # too short to be one
    "Authorization failed for user ana",
    "ASIAN markets, AKIA is not a word",
    "primary_key=customer_id keys_to_keep=a max_tokens=512 author=ana monkey=banana",
    "sort_key: 'ts', 'partition_key': 'day'",
    "tokenizer=bpe passenger_count=3",
    "see https://console.cloud.google.com/logs/viewer?project=1&resource=ml_job",
    "ghp_short xoxb- AIza123 eyJhbGciOiJIUzI1NiJ9 without its other parts",
    "-----END PRIVATE KEY----- without a BEGIN",
    "",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_left_alone(text: str) -> None:
    assert scrub(text) == text


def test_scrubbing_twice_changes_nothing_more() -> None:
    once = scrub("\n".join(text for text, _ in SHAPES))
    assert scrub(once) == once
    assert MASK in once


@pytest.mark.parametrize(
    "name",
    ["slack_token", "apiKey", "APIKey", "db-password", "AUTH_HEADER", "gcp_credentials", "token", "key",
     "client.secret", "x-api-key", "kms_key_name", "api_keys", "access_tokens", "OAuthClient", "db_pass",
     "user_pwd", "X-Amz-Signature", "sas_sig", "github_accesstoken", "spring.datasource.passwd"],
)  # fmt: skip
def test_secret_looking_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    # Words, not substrings; "key" after a data-modelling word names a column; plurals are
    # counts or lists unless a credential word comes before them.
    ["keys_to_keep", "monkey", "author", "primary_key", "sort_key", "partitionKey", "max_tokens",
     "tokenizer", "passenger", "learning_rate", "keyboard_layout", "signal", "creed"],
)  # fmt: skip
def test_names_that_only_look_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_names_split_into_words() -> None:
    assert name_words("apiKey") == ["api", "key"]
    assert name_words("AUTH_HEADER") == ["auth", "header"]
    assert name_words("HTTPSProxyURL2") == ["https", "proxy", "url", "2"]
    assert name_words("db-password.v2") == ["db", "password", "v", "2"]


tokens = st.sampled_from(
    ["xoxb-", "xoxp-", "xapp-", "ghp_", "github_pat_", "ya29.", "AIza", "Bearer ", "password="]
).flatmap(
    lambda prefix: st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789", min_size=24, max_size=60).map(
        lambda body: (prefix, body)
    )
)  # fmt: skip
surroundings = st.text(max_size=200)


@settings(max_examples=examples(300, 3000), deadline=None)
@given(token=tokens, before=surroundings, after=surroundings, keep=st.integers(0, 500))
def test_a_token_anywhere_in_any_text_is_gone(
    token: tuple[str, str], before: str, after: str, keep: int
) -> None:
    prefix, body = token
    assume(body[:12] not in before and body[:12] not in after)
    text = f"{before} {prefix}{body} {after}"
    assert body not in scrub(text)
    # Cut anywhere, even inside the token: not a piece of it is left.
    assert body[:12] not in scrub_prefix(text, keep)[0]


def test_scrub_prefix_recognises_a_token_across_the_cut() -> None:
    text = "x" * 95 + " ghp_" + "A" * 36 + " tail"
    kept, cut = scrub_prefix(text, 100)
    assert kept == "x" * 95 + " ghp_" and cut  # the token was masked whole, then cut
    kept, cut = scrub_prefix(text, 1000)
    assert kept == "x" * 95 + f" ghp_{MASK} tail" and not cut
    # A key whose END lies beyond the margin: everything after the BEGIN goes.
    key = "intro -----BEGIN PRIVATE KEY-----\n" + "A" * (2 * MARGIN) + "\n-----END PRIVATE KEY-----"
    assert scrub_prefix(key, 100) == (f"intro {PRIVATE_KEY}", True)


def test_lines_are_scrubbed_as_one_text() -> None:
    lines = ["ok", "-----BEGIN PRIVATE KEY-----", "MIIEvQ", "-----END PRIVATE KEY-----", "token=abc"]
    assert scrub_lines(lines) == ("ok", PRIVATE_KEY, f"token={MASK}")


def _repeat(unit: str) -> str:
    return (unit * (KIB_512 // len(unit) + 1))[:KIB_512]


# 512 KB texts that make a careless pattern rescan or backtrack: many starts of a shape
# that never completes, long runs of a shape's own class, many BEGINs and no END.
ADVERSARIAL = {
    "prefixes that never complete": (_repeat("eyJ"), lambda out: out == _repeat("eyJ")),
    "one endless token": (_repeat("xoxb-"), lambda out: out.startswith(f"xoxb-{MASK}") and len(out) < KIB_512 // 100),
    "many BEGINs, no END": (_repeat("-----BEGIN PRIVATE KEY-----"), lambda out: out == PRIVATE_KEY),
    "BEGIN/END pairs": (
        _repeat("-----BEGIN PRIVATE KEY-----x-----END PRIVATE KEY-----"),
        lambda out: "x-----END" not in out and out.count(PRIVATE_KEY) >= KIB_512 // 60,
    ),
    "assignments that are not secret": (_repeat("a="), lambda out: out == _repeat("a=")),
    "secret assignments without a value": (_repeat("password="), lambda out: "password=•" in out),
    "quoted names without an end": (_repeat('"token": "'), lambda out: MASK in out and "token" in out),
    "schemes without userinfo": (_repeat("https://"), lambda out: out == _repeat("https://")),
    "userinfo without an @": (
        _repeat("https://u:" + "p" * 2000 + " "),
        lambda out: out == _repeat("https://u:" + "p" * 2000 + " "),
    ),
    "headers without credentials": (_repeat("Authorization: "), lambda out: MASK in out),
    "words": ("a" * KIB_512, lambda out: out == "a" * KIB_512),
    "backticks": ("`" * KIB_512, lambda out: out == "`" * KIB_512),
}  # fmt: skip


@pytest.mark.parametrize("case", ADVERSARIAL)
def test_hostile_sizes_scrub_correctly(case: str) -> None:
    text, check = ADVERSARIAL[case]
    assert check(scrub(text))
    kept, cut = scrub_prefix(text, 4096)
    assert len(kept) <= 4096 and (cut or kept == scrub(text))
