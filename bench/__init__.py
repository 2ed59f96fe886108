"""Benchmarks of the notifier; run ``python bench/run.py`` (see docs/performance.md)."""
