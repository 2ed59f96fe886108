"""Sources: outside bytes in, frozen notices out. Every parser here is bounded (size, depth, numbers).

One Pub/Sub message can come from five places, told apart here so the handler need not:

- the scheduler's sweep request (attribute ``action=sweep``, honoured only from
  ``SWEEP_TOPIC``): ``sweep``;
- the scheduler's weekly digest request (attribute ``action=digest``, honoured only from
  ``SWEEP_TOPIC``): ``digest``, done by ``notifier.digest``; it carries no notice;
- a click on one of the notifier's buttons (attribute ``action=slack_action``, honoured only
  from ``ACTIONS_TOPIC``): ``actions``, done by the actions worker; it carries no notice;
- a Cloud Logging entry from the job-events sink (a JSON object with ``logName`` and
  ``resource``): ``job_event``;
- anything else is the exit-handler stub's final status: ``final_status``.
"""

from __future__ import annotations

from collections.abc import Iterable

from notifier import bounded_json
from notifier.errors import BadMessageError
from notifier.model import Notice
from notifier.sources.actions import ActionRefusedError, Actions, is_action
from notifier.sources.digest import DigestRefusedError, Digests, is_digest
from notifier.sources.final_status import status_from_document
from notifier.sources.job_event import JobEvents, is_log_entry
from notifier.sources.pubsub import PubSubMessage
from notifier.sources.sweep import Sweep, is_sweep


class Sources:
    """Reads one message into the notices it carries (none, one, or one per stuck run)."""

    def __init__(
        self,
        job_events: JobEvents,
        sweep: Sweep,
        actions: Actions | None = None,
        digests: Digests | None = None,
    ) -> None:
        self._job_events = job_events
        self._sweep = sweep
        self._actions = actions
        self._digests = digests

    def notices(self, message: PubSubMessage) -> Iterable[Notice]:
        """The message's notices; BadMessageError when it is none of the known kinds."""
        if self._actions is not None and self._actions.concerns(message):
            self._actions.run(message)  # only ACTIONS_TOPIC may carry one
            return ()
        if self._actions is None and is_action(message):
            raise ActionRefusedError("a click arrived, but ACTIONS_TOPIC is not set: actions are off")
        if is_digest(message):
            if self._digests is None:
                raise DigestRefusedError("a digest was asked for, but this notifier sends none")
            self._digests.run(message)  # only SWEEP_TOPIC may ask for one
            return ()
        if is_sweep(message):
            self._sweep.check_origin(message)  # only SWEEP_TOPIC may ask for one
            return self._sweep.notices()
        try:
            document = bounded_json.loads(message.data, bounded_json.MESSAGE_DATA)
        except bounded_json.JsonInputError as exc:
            raise BadMessageError(f"message data {exc}") from None
        if is_log_entry(document):
            return self._job_events.notices(document)
        return [Notice(status_from_document(document), message.attributes)]
