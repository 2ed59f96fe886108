"""The routing table: parsed once at start-up into frozen rules; every error names the rule."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.config import Config
from notifier.errors import ConfigError
from notifier.rules import parse_routes
from tests.support.hostile import SLOW_OK, examples, hostile_bytes, json_values


def config(**env: str) -> Config:
    base = {
        "SLACK_BOT_TOKEN": "xoxb-1-2",
        "SLACK_CHANNEL_ID": "C0DEFAULT",
        "ALLOWED_PROJECTS": "acme-ml-prod",
    }
    return Config.from_env({**base, "ALLOWED_REGIONS": "us-central1", **env})


@pytest.mark.parametrize(
    ("routes", "cause"),
    [
        ("[1]", "rule 1 must be an object"),
        ('[{"match": {}}]', "rule 1: channel must be a channel id"),
        (
            '[{"channel": "C01"}, {"channel": "C02", "match": {"labels": {"Team": "x"}}}]',
            "rule 2 (channel C02)",
        ),
        ('[{"channel": "C01", "match": {"labels": {"team": "ML"}}}]', "lowercase glob"),
        ('[{"channel": "C01", "stuck_after_hours": 0}]', "stuck_after_hours must be a number of hours"),
        ('[{"channel": "C01", "on_failure_only": "yes"}]', "on_failure_only must be true or false"),
        ('[{"channel": "C01", "mention": "@here"}]', "mention must be Slack mention syntax"),
        ('[{"channel": "C01", "match": {"pipline": "x"}}]', "match has unknown keys ['pipline']"),
        ("[" * 100 + "]" * 100, "nests deeper than 8 levels"),
        ("{", "is not JSON"),
    ],
)
def test_a_malformed_table_stops_the_function_naming_the_rule(routes: str, cause: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(cause)):
        config(SLACK_ROUTES=routes)


def test_terraform_nulls_mean_not_given() -> None:
    [rule] = parse_routes(
        '[{"match": {"pipeline": null, "labels": null}, "channel": "C01", "mention": null}]'
    )
    assert (rule.pipeline, rule.labels, rule.mention, rule.on_failure_only) == ("*", (), "", None)


# --- hostile tables (tests.support.hostile) ------------------------------------------------


route_tables = st.one_of(
    hostile_bytes.map(lambda raw: raw.decode("utf-8", "replace")),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "channel": st.sampled_from(["C0123", "x y", ""]) | json_values,
                "match": st.fixed_dictionaries(
                    {},
                    optional={
                        "pipeline": json_values,
                        "labels": st.dictionaries(st.text(max_size=5), json_values),
                    },
                )
                | json_values,
                "mention": json_values,
                "on_failure_only": json_values,
                "stuck_after_hours": json_values,
            },
        )
        | json_values,
        max_size=4,
    ).map(json.dumps),
)


@settings(max_examples=examples(300, 3000), deadline=None, suppress_health_check=SLOW_OK)
@given(text=route_tables)
def test_routing_table_parser(text: str) -> None:
    try:
        rules = parse_routes(text)
    except ConfigError as exc:
        assert str(exc).startswith("ROUTES")
        return
    assert all(rule.targets for rule in rules)
