"""Helpers the tests share (no fixtures: those are in tests/conftest.py), one module per concern."""
