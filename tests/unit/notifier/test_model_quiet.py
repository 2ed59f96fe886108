"""What an acknowledgement or a mute does to a route (``model.Route.hushed``): pure."""

from __future__ import annotations

from datetime import datetime, timezone

from notifier.model import NOTHING_SAID, Quiet, Route

T = datetime(2026, 12, 4, 10, 42, tzinfo=timezone.utc)
ROUTE = Route.to(
    {"slack": ("C0ALERTS1",), "google_chat": ("ml-alerts",), "sms": ("+15551230001",)},
    mention="<!subteam^S0ONCALL1>",
)
PAGING = frozenset({"sms"})


def test_nothing_said_changes_nothing() -> None:
    assert ROUTE.hushed(NOTHING_SAID, PAGING) == ROUTE


def test_acknowledged_no_mention_but_every_destination() -> None:
    hushed = ROUTE.hushed(Quiet(acked_by="U0AMY0001", acked_at=T), PAGING)
    assert hushed.mention == "" and hushed.targets == ROUTE.targets and hushed.quiet.acknowledged


def test_muted_no_mention_and_no_paging_destination() -> None:
    hushed = ROUTE.hushed(Quiet(muted_by="U0BOB0001", muted_until=T), PAGING)
    assert hushed.mention == ""
    assert hushed.addresses("slack") == ("C0ALERTS1",) and hushed.addresses("google_chat") == ("ml-alerts",)
    assert hushed.addresses("sms") == ()
    assert hushed.on_failure_only == ROUTE.on_failure_only and hushed.quiet.muted
