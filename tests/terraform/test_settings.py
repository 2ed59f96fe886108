"""Terraform against the settings table: every setting it writes is one the function reads, and accepts.

``notifier.settings.SETTINGS`` declares each variable the function reads once (issue 22). These
tests walk it against the root module:

- every environment variable Terraform sets (``local.function_env_all``, and the secrets of
  ``local.function_secrets``) is a setting, by its current name; a secret arrives only from
  Secret Manager;
- every value Terraform can write passes the setting's own ``kind.parse``: each setting's
  expression is traced through the locals to the variables, topology.json values,
  provider-returned attributes and literals it is built from; for each variable, samples
  (its numeric bounds and fractions between them, strings its regexes accept at their
  shortest, longest and at random, its default, the values its conditions name) go through
  Terraform's own validations in ``terraform console``, and what Terraform accepts must parse;
  values just outside a numeric range must be refused by Terraform (so the bounds read here
  are Terraform's);
- every setting Terraform does not set is in ``NOT_FROM_TERRAFORM`` with its reason, so a new
  setting forces a decision.

A validated variable reaches its setting as it is, or as one item of a list (through
``tostring``, ``join``, ``coalesce`` or a conditional); an object-typed one (the routing table)
has fields, not a value, and is checked whole in test_validation.py. Secrets' values never pass
through Terraform, so only their names are checked here.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from notifier import settings
from notifier.errors import ConfigError
from sandbox import topology
from tests.terraform import regex_samples, tf_console
from tests.terraform.hcl_model import TERRAFORM_DIR, load_module, regex_arguments

needs_terraform = pytest.mark.skipif(tf_console.terraform_binary() is None, reason="terraform is not on PATH")

TF = load_module(TERRAFORM_DIR)

# Settings the function reads that Terraform leaves to the function's default, and why.
NOT_FROM_TERRAFORM = {
    "LOG_FORMAT": "derived from K_SERVICE, which Cloud Run sets: json there",
    "VERTEX_API_ENDPOINT": "Google's regional endpoint by default; only tests and the sandbox point it at a stand-in",
    "LOGGING_API_ENDPOINT": "Google's endpoint by default; only tests and the sandbox point it at a stand-in",
    "LOGGING_TIMEOUT_SECONDS": "the default (5 s) fits within the Vertex AI budget Terraform sets (vertex_timeout_seconds)",
    "READ_TASK_LOGS": "always on: the function's account holds the log reader role (iam.tf) for exactly this",
    "SLACK_API_URL": "Slack's Web API by default; only tests and the sandbox point it at a stand-in",
    "GOOGLE_CHAT_MAX_PER_MINUTE": "Google Chat's own per-space quota (60 a minute), not a choice to make per install",
    "TWILIO_API_URL": "Twilio's API by default; only tests and the sandbox point it at a stand-in",
    "PAGERDUTY_API_URL": "PagerDuty's Events API by default; only tests and the sandbox point it at a stand-in",
    "PAGERDUTY_MAX_PER_MINUTE": "paced under PagerDuty's own per-routing-key limit (about 120 events a minute), not a choice to make per install",
    "TEAMS_MAX_PER_SECOND": "paced under a workflow's own throttle (4 posts a second), not a choice to make per install",
    "PUBSUB_API_ENDPOINT": "read by the interactivity function only (Google's endpoint by default); the sandbox points it at the emulator",
    "DIGEST_DAYS": "the period follows digest_schedule (weekly by default); a request's period_start / period_end asks for any other",
    "DIGEST_MAX_PIPELINES": "how much one message lists (50 pipelines, the rest counted) is a reading limit, not an install's choice",
    "BASELINE_RUNS": "the window the median and p95 are taken over (20 runs) is part of the documented rule, not an install's choice",
}

# Variables whose value is not one setting value but a structure, checked whole elsewhere.
CHECKED_WHOLE = {
    "routes": "fields, each validated; tables go through terraform console into parse_routes (test_validation.py)",
}

# Realistic values beside the generated ones; each must pass Terraform's validations.
EXTRA_SAMPLES = {
    "region": ["northamerica-northeast1", "europe-west10", "me-central2"],
    "pipeline_regions": ["asia-southeast1"],
    "slack_mention_on_failure": ["<!subteam^S0123|@oncall> <@U0123ABC>", "<!here>", "<@W0ABC|Ann>"],
    "slack_channel_id": ["C0123ABCDEF", "G01", "D0ABC"],
    "project_id": ["my-ml-project", "abc123-prod"],
    "extra_projects": ["team-b-ml"],
    "twilio_from": ["+15005550006", "MG" + "0123456789abcdef" * 2],
    "sms_to": ["+442071838750"],
    "google_chat_spaces": ["ml-alerts", "data_eng-2"],
    "pagerduty_services": ["ml-oncall"],
    "allow_actions": ["cancel", "retry"],
    "action_users": ["U0123ABCD", "retry:U0123ABCD"],
    "action_user_groups": ["S0123ABCD", "ack:S0123ABCD"],
    "teams_channels": ["ml-alerts"],
}

# What the provider returns for a resource or data source a setting is built from: a template
# over the resource's own arguments (their variables sampled like any other), or fixed values.
PROVIDED = {
    "google_pubsub_topic.sweep": "projects/{project}/topics/{name}",  # its id
    "google_pubsub_topic.actions": "projects/{project}/topics/{name}",
    "google_firestore_database.dedup": "{name}",  # its name
    "data.google_project.this": ["123456789012", "1", "999999999999"],  # project numbers
    "data.google_project.extra": ["210987654321"],
}

_REFERENCE = re.compile(r"\b(?:(var|local)\.(\w+)(?:\.(\w+))?|(data\.google_\w+\.\w+|google_\w+\.\w+))")
# A string literal in a conditional's branch: `? "true" : "false"`, `: "(default)"`.
_BRANCH_LITERAL = re.compile(r'[?:]\s*"((?:[^"\\$]|\\.)*)"')


@dataclass
class Sources:
    """What one setting's value is built from."""

    variables: set[str] = field(default_factory=set)
    topology: set[str] = field(default_factory=set)
    provided: set[str] = field(default_factory=set)
    literals: set[str] = field(default_factory=set)


def trace(expression: object, found: Sources | None = None) -> Sources:
    """The variables, topology.json keys, provider references and literals an expression draws on."""
    found = found or Sources()
    text = json.dumps(expression) if not isinstance(expression, str) else expression
    found.literals |= {json.loads(f'"{raw}"') for raw in _BRANCH_LITERAL.findall(text)}
    for kind, name, attribute, provided in _REFERENCE.findall(text):
        if provided:
            found.provided.add(provided)
        elif kind == "var":
            found.variables.add(name)
        elif name == "topology":
            found.topology.add(attribute)
        else:
            assert name in TF.locals, f"local.{name} is not defined"
            trace(TF.locals[name], found)
    return found


def plain_env() -> dict[str, str]:
    """The notifier's plain environment: main.tf's map, merged with the actions' (actions.tf)."""
    env = TF.locals["function_env_all"]
    assert isinstance(env, dict), "local.function_env_all must be a literal map of environment variables"
    actions = TF.locals["actions_function_env"]
    assert isinstance(actions, dict), (
        "local.actions_function_env must be a literal map of environment variables"
    )
    assert "merge(local.function_env_all, local.actions_function_env)" in TF.texts["main.tf"]
    return {**env, **actions}


def secret_env() -> set[str]:
    """The secret environment variables: Slack's, and the destinations' (by their for_each)."""
    service = TF.resource("google_cloudfunctions2_function", "notifier")["service_config"][0]
    (dynamic,) = service["dynamic"]
    assert dynamic["secret_environment_variables"]["for_each"] == "${local.function_secrets}"
    assert "secret_environment_variables" not in service, "secrets come from local.function_secrets only"
    secrets = TF.locals["function_secrets"]
    assert "local.slack_secrets" in secrets and "google_secret_manager_secret.destination" in secrets
    assert (
        TF.resource("google_secret_manager_secret", "destination")["for_each"]
        == "${local.destination_secrets}"
    )
    return (
        set(TF.locals["slack_secrets"])
        | set(TF.locals["chat_secrets"])
        | set(TF.locals["sms_secrets"])
        | set(TF.locals["pagerduty_secrets"])
        | set(TF.locals["teams_secrets"])
        | set(re.findall(r'"([A-Z_]+)" =>', secrets))
    )


def sources(name: str) -> Sources:
    return trace(plain_env()[name])


# --- names ---------------------------------------------------------------------------


def test_every_variable_terraform_sets_is_a_setting_by_its_current_name():
    written = set(plain_env()) | secret_env()
    unknown = written - settings.ENV_VARS
    assert not unknown, f"Terraform sets variables the function never reads: {sorted(unknown)}"
    aliases = written - set(settings.BY_NAME)
    assert not aliases, f"Terraform sets older names (aliases); use the setting's own: {sorted(aliases)}"


def test_secrets_come_only_from_secret_manager():
    assert not settings.SECRETS & set(plain_env()), "a secret must never be a plain environment variable"
    assert secret_env() <= settings.SECRETS, "a Secret Manager variable that is not a secret setting"


def test_every_setting_is_set_by_terraform_or_says_why_not():
    written = set(plain_env()) | secret_env()
    both = written & set(NOT_FROM_TERRAFORM)
    assert not both, f"set by Terraform, yet listed as not: {sorted(both)}"
    undecided = set(settings.BY_NAME) - written - set(NOT_FROM_TERRAFORM)
    assert not undecided, (
        f"settings Terraform neither sets nor lists in NOT_FROM_TERRAFORM (with a reason): {sorted(undecided)}"
    )
    gone = set(NOT_FROM_TERRAFORM) - set(settings.BY_NAME)
    assert not gone, f"NOT_FROM_TERRAFORM names settings that no longer exist: {sorted(gone)}"


def test_the_trace_reaches_every_source():
    # The walk below checks what it finds; make sure it finds what a reader would.
    assert sources("ALLOWED_PROJECTS").variables == {"project_id", "extra_projects"}
    assert sources("ALLOWED_PROJECTS").provided == {"data.google_project.this", "data.google_project.extra"}
    assert sources("DEDUP_LEASE_SECONDS").variables == {"dedup_lease_seconds", "function_timeout_seconds"}
    assert sources("DEDUP_LEASE_SECONDS").topology == {"timeout_seconds"}
    assert sources("SWEEP_REGIONS").variables == {"sweep_regions", "pipeline_regions", "region"}
    assert sources("SLACK_THREADS").literals == {"true", "false"}
    assert sources("FIRESTORE_DATABASE").literals == {"(default)"}
    assert sources("SWEEP_TOPIC").provided == {"google_pubsub_topic.sweep"}


# --- values --------------------------------------------------------------------------


def _is_list(variable: str) -> bool:
    return TF.variables[variable]["type"] == "${list(string)}"


def _conditions(variable: str) -> str:
    return " ".join(v["condition"] for v in TF.variables[variable].get("validation", []))


def _bounds(variable: str) -> tuple[float, float, bool]:
    """(low, high, whole) from ``var.x >= low && var.x <= high`` (and ``floor(var.x) == var.x``)."""
    condition, ref = _conditions(variable), re.escape(f"var.{variable}")
    low = re.findall(rf"{ref} >= (-?[\d.]+)", condition)
    high = re.findall(rf"{ref} <= (-?[\d.]+)", condition)
    assert len(low) == 1 and len(high) == 1, (
        f"{variable} feeds a setting: its validation must bound it, var.{variable} >= A && var.{variable} <= B"
    )
    whole = f"floor(var.{variable}) == var.{variable}" in condition
    return float(low[0]), float(high[0]), whole


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


def _candidates(variable: str) -> tuple[list[object], list[object]]:
    """(samples to try, values just outside that Terraform must refuse) for one variable."""
    var = TF.variables[variable]
    kind = var["type"]
    default = var.get("default")
    if kind == "number":
        low, high, _ = _bounds(variable)
        # A value the validation names on its own (``var.x == 0``: "off") is inside too.
        named = [float(v) for v in re.findall(rf"var\.{variable} == (-?[0-9.]+)", _conditions(variable))]
        inside = [low, high, low + 0.5, high - 0.5, (low + high) / 2, low + 0.25, *named]
        outside = [v for v in (low - 1, low - 0.01, high + 0.01, high + 1) if v not in named]
        return [_number(v) for v in [*inside, *([default] if default is not None else [])]], [
            _number(v) for v in outside
        ]
    assert kind in ("string", "${list(string)}"), f"{variable}: no samples for type {kind}"
    condition = _conditions(variable)
    assert condition, f"{variable} feeds a setting but Terraform accepts any value: add a validation"
    texts: list[str] = []
    for pattern in regex_arguments(condition):
        texts += regex_samples.samples(pattern, seed=variable)
    texts += re.findall(rf'var\.{variable} == "((?:[^"\\]|\\.)*)"', condition)  # e.g. "(default)"
    listed = re.search(rf"contains\(\[([^\]]*)\], var\.{variable}\)", condition)  # e.g. log levels
    if listed:
        texts += json.loads(f"[{listed.group(1)}]")
    texts += EXTRA_SAMPLES.get(variable, [])
    if isinstance(default, str):
        texts.append(default)
    texts = [t for t in dict.fromkeys(texts) if t]  # "" is "not set"
    return ([[t] for t in texts] if _is_list(variable) else texts), []


@cache
def accepted(variable: str) -> tuple[str, ...]:
    """The samples of ``variable`` Terraform's validations accept, as the function would read them."""
    tried, _ = _candidates(variable)
    block = tf_console.variable_block(TF.texts["variables.tf"], variable)
    verdicts = tf_console.evaluate_many(block, variable, tried)
    values: list[str] = []
    for verdict in verdicts:
        rendered = json.loads(verdict.rendered) if verdict.accepted else None
        if isinstance(rendered, list):
            values += rendered
        elif isinstance(rendered, str):
            values.append(rendered)
        elif rendered is not None:  # a number, as tostring writes it
            values.append(verdict.rendered)
    for extra in EXTRA_SAMPLES.get(variable, []):
        assert extra in values, f"{variable}: Terraform refuses the sample {extra!r}"
    assert values, f"{variable}: Terraform accepts none of the samples"
    return tuple(values)


def _provided(reference: str) -> list[str]:
    shape = PROVIDED.get(reference)
    assert shape is not None, f"a setting is built from {reference}: add what it returns to PROVIDED"
    if isinstance(shape, list):
        return shape
    rtype, name = reference.split(".")
    body = TF.resource(rtype, name)
    arguments = {key: trace(body[key]).variables for key in re.findall(r"\{(\w+)\}", shape)}
    samples = {variable: accepted(variable) for used in arguments.values() for variable in used}
    count = max(len(s) for s in samples.values())
    values = []
    for index in range(count):  # each variable's samples in turn, not every combination
        chosen = {variable: found[index % len(found)] for variable, found in samples.items()}
        filled = {}
        for key in arguments:
            filled[key] = re.sub(r"\$\{var\.(\w+)\}", lambda m, chosen=chosen: chosen[m.group(1)], body[key])
            assert "${" not in filled[key], f"{reference}.{key}: only ${{var.x}} is filled in: {body[key]}"
        values.append(shape.format(**filled))
    return values


def _only_tested(variable: str, expression: str) -> bool:
    """``variable`` appears in ``expression`` only as a condition (``contains(var.x, "…")``), never as a value."""
    uses = len(re.findall(rf"\bvar\.{variable}\b", expression))
    return uses > 0 and uses == len(re.findall(rf"\bcontains\(var\.{variable},", expression))


def _variables_checked(name: str) -> list[str]:
    found = sources(name).variables - set(CHECKED_WHOLE)
    expression = json.dumps(plain_env()[name])
    return sorted(v for v in found if TF.variables[v]["type"] != "bool" and not _only_tested(v, expression))


WRITTEN = sorted(plain_env())
# The settings built from plain values (not from a structure checked whole).
VALUED = [name for name in WRITTEN if not sources(name).variables & set(CHECKED_WHOLE)]


@pytest.fixture(scope="module")
def samples_ready():
    """Ask Terraform about every variable once, a few at a time (each is one console run)."""
    variables = {v for name in VALUED for v in _variables_checked(name)}
    for reference in {p for name in VALUED for p in sources(name).provided}:
        shape = PROVIDED.get(reference)
        if isinstance(shape, str):  # the variables of the arguments its template names
            body = TF.resource(*reference.split("."))
            variables |= {v for key in re.findall(r"\{(\w+)\}", shape) for v in trace(body[key]).variables}
    variables &= {v for v in TF.variables if TF.variables[v]["type"] != "bool"} - set(CHECKED_WHOLE)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(accepted, sorted(variables)))


def test_structured_variables_are_checked_whole():
    structured = {
        variable
        for name in WRITTEN
        for variable in sources(name).variables
        if "object(" in TF.variables[variable]["type"]
    }
    assert structured == set(CHECKED_WHOLE), (
        "an object-typed variable feeds a setting: check it whole, list it"
    )
    for name in set(WRITTEN) - set(VALUED):
        found = sources(name)
        assert found.variables <= set(CHECKED_WHOLE), f"{name}: built from a structure and from plain values"
        assert not (found.topology or found.provided or found.literals - {""}), name


@needs_terraform
@pytest.mark.parametrize("name", VALUED)
def test_what_terraform_writes_the_setting_accepts(name, samples_ready):
    found = sources(name)
    values: list[tuple[str, str]] = []  # (where from, value)
    for variable in _variables_checked(name):
        values += [(f"var.{variable}", v) for v in accepted(variable)]
    for key in sorted(found.topology):
        values.append((f"topology.json {key}", str(getattr(topology.load(), key))))
    for reference in sorted(found.provided):
        values += [(reference, v) for v in _provided(reference)]
    values += [("a literal", v) for v in sorted(found.literals) if v]
    assert values, f"{name}: nothing found to check"
    refused = []
    for origin, value in values:
        try:  # as the function reads its environment: stripped, then the setting's kind.parse
            settings.read({name: value})
        except ConfigError as exc:
            refused.append(f"{origin} = {value[:80]!r}{'…' if len(value) > 80 else ''}: {exc}"[:300])
    assert not refused, f"Terraform accepts values {name} refuses:\n" + "\n".join(refused)


NUMERIC = sorted(
    {v for name in VALUED for v in _variables_checked(name) if TF.variables[v]["type"] == "number"}
)


@needs_terraform
@pytest.mark.parametrize("variable", NUMERIC)
def test_the_numeric_bounds_read_here_are_terraforms(variable):
    _, outside = _candidates(variable)
    block = tf_console.variable_block(TF.texts["variables.tf"], variable)
    verdicts = tf_console.evaluate_many(block, variable, outside)
    for value, verdict in zip(outside, verdicts, strict=True):
        assert not verdict.accepted, f"{variable}: Terraform accepts {value}, outside the bounds read here"
