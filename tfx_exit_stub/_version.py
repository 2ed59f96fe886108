"""The stub's version: the release shared with the Cloud Function (function/notifier/version.py)."""

__version__ = "0.2.0.dev0"
