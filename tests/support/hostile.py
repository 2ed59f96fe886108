"""Hypothesis strategies for hostile input: what any publisher can put into a message.

Every parser of outside input is run against ``hostile_bytes`` (and ``Notifier.handle``
against push bodies carrying them). The shapes are the ones that broke parsers before,
or break parsers in general: deep nesting, huge integers and floats, lone surrogates,
NUL bytes, megabyte strings, duplicate keys, byte order marks, mixed with plain JSON and
random bytes. Large values are built by ``map`` from small draws, so Hypothesis stays fast.

``EXAMPLES`` is what "enough to matter" means here: thousands under CI, fewer locally.
"""

from __future__ import annotations

import base64
import json
import os

from hypothesis import HealthCheck
from hypothesis import strategies as st

from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails, LogExcerpt

CI = os.environ.get("CI", "").lower() == "true"


def examples(local: int, ci: int) -> int:
    """Hypothesis ``max_examples``: ``ci`` under CI=true, ``local`` otherwise."""
    return ci if CI else local


# Hostile examples are big and slow by design: Hypothesis must not call that unhealthy.
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


def encodable(value: object) -> bool:
    """True when every string in ``value`` can be written as UTF-8 (Firestore, logs, Slack)."""
    json.dumps(value, ensure_ascii=False).encode("utf-8")
    return True


RESOURCE = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

# Text fragments that are valid JSON string content but hostile downstream.
nasty_text = st.sampled_from(
    [
        "\\ud800",  # a lone high surrogate, as a JSON escape
        "\\udfff",  # a lone low surrogate
        "\\ud83d\\ude00",  # a valid pair (an emoji)
        "\\u0000",  # NUL
        "<!channel> <https://evil.example|click> &amp;",
        "\u202e",  # right-to-left override
        "a" * 10,
    ]
)


def _deep(kind: str, depth: int) -> bytes:
    opener, closer = {"list": (b"[", b"]"), "dict": (b'{"a":', b"}"), "open": (b"[", b"")}[kind]
    inner = b"1" if kind != "list" else b""
    return opener * depth + inner + closer * depth


deep_nesting = st.builds(_deep, st.sampled_from(["list", "dict", "open"]), st.integers(65, 6000))

huge_numbers = st.one_of(
    st.integers(101, 20_000).map(lambda n: b"1" * n),  # > 4,300 digits breaks int()
    st.integers(101, 5_000).map(lambda n: b"0." + b"1" * n),
    st.sampled_from([b"1e999999", b"-1e999999", b"1e-999999", b"NaN", b"Infinity", b"-Infinity"]),
).map(lambda number: b'{"state": "FAILED", "error": {"code": ' + number + b', "message": "x"}}')

big_strings = st.integers(400_000, 1_100_000).map(
    lambda n: json.dumps(
        {"state": "FAILED", "pipelineJobResourceName": RESOURCE, "error": {"message": "x" * n}}
    ).encode()
)

with_nasty_text = st.lists(nasty_text, min_size=1, max_size=5).map(
    lambda parts: (
        '{"state": "FAILED", "pipelineJobResourceName": "' + RESOURCE + "".join(parts) + '", '
        '"pipelineTaskName": "' + "".join(parts) + '", "error": {"message": "' + "".join(parts) + '"}}'
    ).encode()
)

duplicate_keys = st.sampled_from(
    [
        b'{"state": "FAILED", "state": "SUCCEEDED"}',
        b'{"state": "SUCCEEDED", "state": "FAILED", "pipelineJobResourceName": "x", "pipelineJobResourceName": "'
        + RESOURCE.encode()
        + b'"}',
        b'{"error": {"code": 1}, "error": "text", "state": "FAILED"}',
    ]
)

raw_nul_and_binary = st.one_of(
    st.binary(max_size=300),
    st.just(b'{"state": "FAILED\x00"}'),
    st.just(b"\x00" * 1000),
    st.just(b'{"state": "FAILED", "error": {"message": "\xed\xa0\x80"}}'),  # an encoded surrogate: not UTF-8
)

plain_statuses = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(["SUCCEEDED", "FAILED", "CANCELLED", "WEIRD", ""]) | json_values,
        "pipelineJobResourceName": st.sampled_from([RESOURCE, "x", ""]) | json_values,
        "error": json_values,
        "pipelineTaskName": json_values,
    },
).map(lambda value: json.dumps(value).encode())

hostile_documents = st.one_of(
    deep_nesting,
    huge_numbers,
    big_strings,
    with_nasty_text,
    duplicate_keys,
    raw_nul_and_binary,
    plain_statuses,
    json_values.map(lambda value: json.dumps(value).encode()),
)


def _with_bom(pair: tuple[bytes, bytes]) -> bytes:
    bom, document = pair
    return bom + document


hostile_bytes = st.one_of(
    hostile_documents,
    st.tuples(st.sampled_from(BOMS), hostile_documents).map(_with_bom),
    st.sampled_from(["utf-16", "utf-32"]).map(lambda codec: '{"state": "FAILED"}'.encode(codec)),
)

attribute_maps = st.dictionaries(
    st.sampled_from(["gcp_region", "slack_channel_id", "on_failure_only", "action", "other"])
    | st.text(max_size=8),
    st.text(max_size=20) | st.sampled_from(["\ud800", "\x00", "C0" + "A" * 2000]),
    max_size=4,
)

# What a CloudEvent's data can be: bytes, text, any JSON, or a Pub/Sub envelope of hostile parts.
odd_ids = st.none() | st.integers() | st.text(max_size=20) | json_values
envelopes = st.one_of(
    hostile_bytes,
    hostile_bytes.map(lambda raw: raw.decode("latin-1")),
    json_values,
    st.builds(
        lambda data, attrs, mid, when: {
            "message": {"data": data, "attributes": attrs, "messageId": mid, "publishTime": when}
        },
        hostile_bytes.map(lambda raw: base64.b64encode(raw).decode()) | json_values,
        attribute_maps | json_values,
        odd_ids,
        odd_ids,
    ),
)


def huge_enrichment(tasks: int, text: str) -> tuple[FinalStatus, Enrichment]:
    """A failure whose every field is huge ``text``: ``tasks`` failed tasks, 500 parameters, 100 labels."""
    excerpt = LogExcerpt(tuple(text[:100] for _ in range(15)), "traceback")
    failed = tuple(
        FailedTask(
            f"{text[:300]}-{n}",
            text,
            excerpt=excerpt,
            logs_url=f"https://console.cloud.google.com/logs/{n}",
            log_note=text,
        )
        for n in range(tasks)
    )
    pairs = tuple((f"{text[:50]}{n}", text[:5000]) for n in range(500))
    details = JobDetails(pipeline_name=text[:1000], failed_tasks=failed, parameters=pairs, labels=pairs[:100])
    status = FinalStatus(
        "FAILED", "projects/1/locations/us-central1/pipelineJobs/" + text[:2000], error_message=text
    )
    return status, Enrichment(details, "us-central1", "https://console.cloud.google.com/x", note=text)


# Every secret the two secrets cases carry (parameters, labels, task error, run error, job
# error, log lines): none may reach any destination, in any form.
SECRETS = [
    "EXAMPLEexample", "hunter2", "pg-Secret-42", "ZXRsOnBnLVNlY3JldC00Mg", "ya29.a0AfH6", "AKIAIOSFODNN7",
    "ghp_EXAMPLE", "AIzaSyEXAMPLE", "MIIEvQ", "MIIEow", "k-EXAMPLE-42", "dk-EXAMPLE-1234", "Sup3rS3cret", "s3cr3t!",
    "token=abc123", "private_key_id", "B00000000",
]  # fmt: skip
