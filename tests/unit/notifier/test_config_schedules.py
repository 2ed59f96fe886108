"""The schedules group: CHECK_SCHEDULES and SCHEDULE_GRACE_MINUTES, read and checked once."""

from __future__ import annotations

import pytest

from notifier.config import Config
from notifier.errors import ConfigError

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
