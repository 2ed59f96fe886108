"""Fixtures shared by the end-to-end modules."""

from __future__ import annotations

import pytest

from sandbox.stack import LocalStack


@pytest.fixture
def fresh(stack: LocalStack) -> LocalStack:
    """The module's shared stack (its own ``stack`` fixture) with the stand-ins healthy and empty."""
    stack.slack.reset()
    stack.vertex.fail_all = None
    stack.logging.requests.clear()
    stack.logging.fail_all = None
    stack.logging.delay_seconds = 0.0
    return stack
