"""Routing: the stub's settings (from the run's spec), then the first matching rule, then the defaults."""

from __future__ import annotations

import json
from types import SimpleNamespace

from notifier.config import Config
from notifier.model import FinalStatus, JobDetails
from notifier.routing import matching_rule, route_for, stuck_after_hours

RULES = [
    {"match": {"labels": {"team": "data-*"}}, "channel": "C0DATAENG", "stuck_after_hours": 6},
    {
        "match": {"pipeline": "churn-*", "labels": {"env": "prod"}},
        "channel": "C0GROWTH",
        "mention": "<!subteam^S0ML>",
    },
    {"match": {"pipeline": "churn-*"}, "channel": "C0GROWTHDEV", "on_failure_only": True},
]


def config(**env: str) -> Config:
    return Config.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "SLACK_CHANNEL_ID": "C0DEFAULT",
            "ALLOWED_PROJECTS": "acme-ml-prod",
            "ALLOWED_REGIONS": "us-central1",
            **env,
        }
    )


ROUTED = config(SLACK_ROUTES=json.dumps(RULES), SLACK_MENTION_ON_FAILURE="<!here>")


def status(job: str = "churn-training-20261127061500") -> FinalStatus:
    return FinalStatus("FAILED", f"projects/1/locations/us-central1/pipelineJobs/{job}")


def details(pipeline: str = "", **labels: str) -> JobDetails:
    return JobDetails(pipeline_name=pipeline, labels=tuple(sorted(labels.items())))


DEFAULTS = {"slack": ("C0DEFAULT",), "google_chat": ("ml-alerts",)}


def route_of(settings: dict, status: FinalStatus, details: JobDetails | None) -> SimpleNamespace:
    """The route, with its Slack channel as ``channel`` for short assertions."""
    route = route_for(settings, status, details, ROUTED, DEFAULTS)
    channel = next(iter(route.addresses("slack")), "")
    return SimpleNamespace(
        channel=channel,
        mention=route.mention,
        on_failure_only=route.on_failure_only,
        addresses=route.addresses,
    )


def test_first_matching_rule_wins() -> None:
    route = route_of({}, status(), details(env="prod", team="growth"))
    assert (route.channel, route.mention, route.on_failure_only) == ("C0GROWTH", "<!subteam^S0ML>", False)
    route = route_of({}, status(), details(env="dev"))
    assert (route.channel, route.mention, route.on_failure_only) == ("C0GROWTHDEV", "<!here>", True)


def test_labels_match_case_insensitively_and_all_must_match() -> None:
    assert (
        matching_rule(ROUTED.routing.routes, status("x-1"), details(team="Data-Platform")).channel
        == "C0DATAENG"
    )
    assert matching_rule(ROUTED.routing.routes, status("x-1"), details(env="prod")) is None


def test_pipeline_name_comes_from_the_spec_else_the_job_id_without_its_timestamp() -> None:
    assert matching_rule(
        ROUTED.routing.routes, status("anything-20261127061500"), details("churn-nightly")
    ).channel == ("C0GROWTHDEV")
    # Without details (Vertex unavailable) the job id, less its run timestamp, is the name.
    assert (
        matching_rule(ROUTED.routing.routes, status("churn-training-20261127061500"), None).channel
        == "C0GROWTHDEV"
    )
    assert matching_rule(ROUTED.routing.routes, status("feature-backfill-20261127-020000"), None) is None


def test_the_stubs_settings_override_the_rule() -> None:
    attrs = {"slack_channel_id": "C0STUB", "on_failure_only": "false"}
    route = route_of(attrs, status(), details(env="dev"))
    assert (route.channel, route.on_failure_only) == ("C0STUB", False)
    # The rule still contributes what the attributes do not set.
    assert route.mention == "<!here>"


def test_no_rule_no_stub_setting_falls_back_to_each_destinations_defaults() -> None:
    route = route_of({}, status("nightly-x-1"), details(team="other"))
    assert (route.channel, route.mention, route.on_failure_only) == ("C0DEFAULT", "<!here>", False)
    assert route.addresses("google_chat") == ("ml-alerts",)
    # A matching rule says where its runs go: destinations it does not name get nothing.
    assert route_of({}, status(), details(env="prod")).addresses("google_chat") == ()


def test_stuck_thresholds_per_rule_or_global() -> None:
    assert stuck_after_hours(ROUTED, status("x-1"), details(team="data-eng")) == 6
    assert stuck_after_hours(ROUTED, status(), details(env="prod")) == 12  # the rule sets none
