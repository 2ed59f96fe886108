"""Benchmarks of the notifier; run ``python bench/run.py`` (see the README, "Performance")."""
