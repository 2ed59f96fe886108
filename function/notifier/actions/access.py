"""Who may do what: ``ALLOW_ACTIONS``, ``ACTION_USERS`` and ``ACTION_USER_GROUPS``, per action.

- Cancel and retry change runs: each must be in ``ALLOW_ACTIONS``, and only users the
  two lists name for it may (no one, when they name no one for it).
- Acknowledge and mute change only what the notifier says: anyone in the channel may,
  unless the lists name someone for them, and then only those.

A user group's members come from ``usergroups.users.list`` (scope ``usergroups:read``),
kept ``ttl`` seconds; the groups are the configured ones, so the cache is bounded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from notifier.actions.commands import Command
from notifier.config import ActionsSettings
from notifier.errors import PermanentError, describe

log = logging.getLogger("notifier.actions")

GROUP_TTL = 300.0
_VERBS = {"ack": "acknowledge", "mute": "mute or unmute", "cancel": "cancel runs", "retry": "retry runs"}


class Access:
    """Answers whether a user may give a command, and if not, why."""

    def __init__(
        self,
        settings: ActionsSettings,
        members: Callable[[str], frozenset[str]],
        *,
        ttl: float = GROUP_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._members = members
        self._ttl = ttl
        self._clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def refusal(self, command: Command, user: str) -> str:
        """Why ``user`` may not give ``command`` ('' when they may)."""
        verb = _VERBS[command.grant]
        if command.opt_in and command.grant not in self._settings.allowed:
            return f"{command.value} is not enabled here (ALLOW_ACTIONS)"
        users, groups = self._settings.grants(command.grant)
        if not users and not groups:
            return (
                f"no one may {verb} here (ACTION_USERS and ACTION_USER_GROUPS name no one)"
                if command.opt_in
                else ""
            )
        if user in users or any(user in self.group(group) for group in sorted(groups)):
            return ""
        return f"you are not among those who may {verb} (ACTION_USERS, ACTION_USER_GROUPS)"

    def group(self, group: str) -> frozenset[str]:
        """The members of a configured user group, as Slack said at most ``ttl`` seconds ago.

        A group Slack refuses to list (no such group, a missing scope) has no members; a
        transient failure raises, so the click is tried again.
        """
        now = self._clock()
        with self._lock:
            kept = self._groups.get(group)
            if kept is not None and now - kept[0] < self._ttl:
                return kept[1]
        try:
            members = self._members(group)
        except PermanentError as exc:
            log.error("Cannot list the members of user group %s (%s): counted as none", group, describe(exc))
            members = frozenset()
        with self._lock:
            self._groups[group] = (now, members)
        return members
