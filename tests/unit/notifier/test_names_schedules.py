"""The strict grammar of Schedule names: nothing else reaches a filter, a key or a link."""

from __future__ import annotations

import pytest

from notifier.names import NameRejectedError, Region, Scope, parse_schedule_name

GOOD = "projects/271009669852/locations/us-central1/schedules/6123470581093384192"


def test_a_schedule_name_parses_into_its_checked_parts() -> None:
    name = parse_schedule_name(GOOD)
    assert (name.project, name.region, name.schedule) == (
        "271009669852",
        "us-central1",
        "6123470581093384192",
    )
    assert isinstance(name.region, Region) and name.resource == GOOD
    assert parse_schedule_name(GOOD.replace("271009669852", "acme-ml-prod")).project == "acme-ml-prod"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no schedule"),
        (None, "no schedule"),
        (GOOD + "0" * 300, "characters long"),
        (GOOD.replace("6123470581093384192", "nightly"), "malformed"),  # ids are numbers
        (GOOD.replace("6123470581093384192", "0123"), "malformed"),
        (GOOD.replace("6123470581093384192", "1" * 21), "malformed"),
        (GOOD + "/", "malformed"),
        (GOOD + '" OR state="ACTIVE', "malformed"),  # nothing can break out of a filter
        (GOOD.replace("schedules", "pipelineJobs"), "malformed"),
        (GOOD.replace("us-central1", "US-CENTRAL1"), "malformed"),
        (GOOD.replace("271009669852", "evil.example"), "malformed"),
        (" " + GOOD, "malformed"),
    ],
)
def test_anything_else_is_rejected_naming_why(text: object, words: str) -> None:
    with pytest.raises(NameRejectedError, match=words):
        parse_schedule_name(text)


def test_the_scope_checks_schedule_names_as_it_checks_job_names() -> None:
    scope = Scope(frozenset({"271009669852"}), frozenset({"us-central1"}))
    assert scope.admits(parse_schedule_name(GOOD))
    outside = parse_schedule_name(GOOD.replace("us-central1", "europe-west4"))
    assert not scope.admits(outside)
    with pytest.raises(NameRejectedError, match="ALLOWED_REGIONS"):
        scope.check(outside)
