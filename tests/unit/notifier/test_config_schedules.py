"""The schedules group: CHECK_SCHEDULES and SCHEDULE_GRACE_MINUTES, read and checked once."""

from __future__ import annotations

import pytest

from notifier.config import Config
from notifier.errors import ConfigError
from notifier.settings import SETTINGS

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-2", "GOOGLE_CLOUD_PROJECT": "acme-ml-prod", "GCP_REGION": "us-central1"}


def test_the_check_is_on_with_thirty_minutes_of_grace_by_default() -> None:
    schedules = Config.from_env(BASE).schedules
    assert (schedules.enabled, schedules.grace_minutes) == (True, 30.0)


def test_both_settings_are_read() -> None:
    schedules = Config.from_env({**BASE, "CHECK_SCHEDULES": "off", "SCHEDULE_GRACE_MINUTES": "90"}).schedules
    assert (schedules.enabled, schedules.grace_minutes) == (False, 90.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [("CHECK_SCHEDULES", "sometimes"), ("SCHEDULE_GRACE_MINUTES", "0"), ("SCHEDULE_GRACE_MINUTES", "2000")],
)
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env({**BASE, name: value})


def test_the_schedules_section_closes_the_table() -> None:
    assert [s.name for s in SETTINGS[-2:]] == ["CHECK_SCHEDULES", "SCHEDULE_GRACE_MINUTES"]
    assert {s.group for s in SETTINGS[-2:]} == {"schedules"}
