"""The commands a button carries, and the names settings grant them by.

A button's ``action_id`` names its command (``notifier_ack`` …); its ``value`` is the run's
job name and its ``block_id`` the kind of message it sits on (``notifier_failed``,
``notifier_running``). ``payload`` reads them back, strictly.
"""

from __future__ import annotations

import enum

ACTION_ID_PREFIX = "notifier_"
# The block of buttons on a message, by the kind of message (its block_id).
FAILED_BLOCK = "notifier_failed"
RUNNING_BLOCK = "notifier_running"
# The context line saying what was done (acknowledged, muted, retried …).
STATUS_BLOCK = "notifier_action_status"
BLOCK_IDS = frozenset({FAILED_BLOCK, RUNNING_BLOCK})


class Command(str, enum.Enum):
    """What a click asks for."""

    ACK = "ack"
    MUTE = "mute"
    UNMUTE = "unmute"
    CANCEL = "cancel"
    RETRY = "retry"

    @property
    def action_id(self) -> str:
        """The button's ``action_id``."""
        return ACTION_ID_PREFIX + self.value

    @property
    def grant(self) -> str:
        """The name ``ACTION_USERS`` and ``ACTION_USER_GROUPS`` grant it by (unmute is mute's)."""
        return MUTE if self is Command.UNMUTE else self.value

    @property
    def opt_in(self) -> bool:
        """Only with ``ALLOW_ACTIONS``: it changes a run, not just the messages."""
        return self.value in OPT_IN

    @classmethod
    def from_action_id(cls, action_id: str) -> Command | None:
        """The command of one of our buttons, or None (a link button, another app's id)."""
        if not action_id.startswith(ACTION_ID_PREFIX):
            return None
        try:
            return cls(action_id[len(ACTION_ID_PREFIX) :])
        except ValueError:
            return None


MUTE = "mute"
OPT_IN = frozenset({"cancel", "retry"})
# What a grant may name: every command, unmute under mute.
GRANTS = ("ack", "mute", "cancel", "retry")
MUTE_HOURS = 24
