"""The trust-boundary documents in tests/data/trust are what tests/support/trustdata.py derives."""

from __future__ import annotations

import pytest

from tests.support.trustdata import DERIVED, TRUST, document_text


@pytest.mark.parametrize("file", sorted(DERIVED))
def test_each_document_is_its_derivation(file: str) -> None:
    assert (TRUST / file).read_text() == document_text(DERIVED[file]()), (
        f"{file} is stale: run .venv/bin/python -m tests.support.trustdata"
    )


def test_every_document_is_derived() -> None:
    assert sorted(p.name for p in TRUST.glob("*.json")) == sorted(DERIVED)
