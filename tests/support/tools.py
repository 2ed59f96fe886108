"""Outside tools a test needs (gcloud and its emulators): skipped locally when missing, never under CI."""

from __future__ import annotations

import os

import pytest


def require_tool(available: bool, hint: str) -> None:
    """Skip locally when a tool is missing, but fail under CI=true: CI must run everything."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {hint}")
    pytest.skip(hint)
