"""The settings table: every setting declared once, the docs' reference made from it, and the
parsers of its structured values refusing hostile input without echoing a secret."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.config import Config
from notifier.errors import ConfigError
from notifier.settings import ENV_VARS, SECRETS, webhooks
from tests.support.hostile import SLOW_OK, examples, hostile_bytes, json_values
from tests.support.paths import REPO


def test_env_var_registry_covers_the_interface() -> None:
    documented = {
        "SLACK_BOT_TOKEN", "SLACK_CHANNEL_ID", "ON_FAILURE_ONLY", "SLACK_MENTION_ON_FAILURE",
        "GCP_REGION", "SLACK_API_URL", "VERTEX_API_ENDPOINT",
    }  # fmt: skip
    assert documented <= ENV_VARS
    assert {
        "SLACK_BOT_TOKEN", "GOOGLE_CHAT_WEBHOOKS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
        "PAGERDUTY_ROUTING_KEYS", "TEAMS_WEBHOOKS", "SLACK_SIGNING_SECRET",
    } == SECRETS  # fmt: skip


def test_every_setting_is_declared_once_with_a_group_and_help() -> None:
    from notifier import settings

    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    fields = [(s.group, s.field) for s in settings.SETTINGS]
    assert len(fields) == len(set(fields))
    for setting in settings.SETTINGS:
        assert setting.help.strip().endswith((".", ")")), setting.name
        # Every field of every group comes from the table, and nothing else.
        assert hasattr(getattr(Config(), setting.group), setting.field), setting.name
    for group in settings.GROUPS:
        declared = {s.field for s in settings.SETTINGS if s.group == group}
        assert declared == set(getattr(Config(), group).__dataclass_fields__), group


def test_the_docs_reference_is_the_table() -> None:

    from notifier import settings

    page = (REPO / "docs" / "configuration.md").read_text()
    begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
    assert begin in page and end in page
    shown = page.split(begin, 1)[1].split(end, 1)[0]
    assert shown == settings.markdown(), (
        "run `make settings-doc` to write the table into docs/configuration.md"
    )


webhook_maps = st.one_of(
    hostile_bytes.map(lambda raw: raw.decode("utf-8", "replace")),
    st.dictionaries(
        st.text(max_size=12) | st.sampled_from(["ml-alerts", "a" * 70]),
        json_values
        | st.sampled_from(
            ["https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=SECRET1", "ftp://x?token=SECRET1"]
        ),
        max_size=3,
    ).map(json.dumps),
)


@settings(max_examples=examples(300, 2000), deadline=None, suppress_health_check=SLOW_OK)
@given(text=webhook_maps)
def test_chat_webhook_parser(text: str) -> None:
    try:
        parsed = webhooks().parse(text, "GOOGLE_CHAT_WEBHOOKS")
    except ConfigError as exc:
        assert str(exc).startswith("GOOGLE_CHAT_WEBHOOKS")
        assert "SECRET1" not in str(exc)  # a webhook's URL is its credential: never echoed
        return
    assert all(url.startswith(("https://chat.googleapis.com/", "http://")) for _, url in parsed)
