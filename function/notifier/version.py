"""The notifier's version, logged at cold start: the release shared with the exit-handler
stub (tfx_exit_stub/_version.py; tests/test_packaging.py fails when they differ).

Kept inside function/, which is deployed as is, so the deployed function knows its own
version without anything outside its folder.
"""

__version__ = "0.2.0.dev0"
