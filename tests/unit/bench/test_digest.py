"""The digest benchmark's measures work at a small size (the figures themselves are bench/run.py's)."""

from __future__ import annotations

from bench.digest import channel, rules


def test_the_rules_measure_at_a_small_size() -> None:
    figures = rules(6, 15, 4)
    assert figures["runs"] > figures["records_in_window"] > 0
    assert figures["read"] == figures["runs"]  # one pass over every run held
    assert figures["channels"] >= 1 and figures["messages"] >= 1
    assert figures["seconds"] > 0 and figures["peak_mb"] > 0


def test_one_channel_per_team() -> None:
    assert channel("data-eng") != channel("risk-ml") and channel("nobody") == "slack:C0T99"
