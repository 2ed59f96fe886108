"""Every destination implements the whole Destination interface, with the same parameters.

The handler calls each one the same way; a destination missing a method (or naming a
parameter differently) would fail only when a route first names it.
"""

from __future__ import annotations

import inspect

import pytest

from notifier.destinations import Destination
from notifier.destinations.google_chat.destination import GoogleChatDestination
from notifier.destinations.slack.destination import SlackDestination
from notifier.destinations.sms.destination import SmsDestination

METHODS = [
    name
    for name, value in vars(Destination).items()
    if inspect.isfunction(value) and not name.startswith("_")
]


@pytest.mark.parametrize("destination", [SlackDestination, GoogleChatDestination, SmsDestination])
def test_each_destination_implements_the_interface(destination: type) -> None:
    assert set(METHODS) == {
        "accepts",
        "dedup_target",
        "admit",
        "send",
        "reply",
        "takes_digest",
        "send_digest",
    }
    assert isinstance(destination.name, str) and isinstance(destination.pages, bool)
    assert isinstance(destination.digests, bool)
    assert destination.name in ("slack", "google_chat", "sms")
    for method in METHODS:
        expected = inspect.signature(getattr(Destination, method)).parameters
        actual = inspect.signature(getattr(destination, method)).parameters
        assert list(actual) == list(expected), f"{destination.__name__}.{method}"
        for name, parameter in expected.items():
            assert actual[name].kind == parameter.kind, f"{destination.__name__}.{method}({name})"
