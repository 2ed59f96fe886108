"""The handler's one hook for acknowledgements and mutes (``Notifier._hush``), in process.

The Notifier is the production one (``tests.support.inprocess``) against the Slack and Vertex
stand-ins; the mutes store is the real ``FirestoreMutes``, pointed at a Firestore that
does not answer: a notice then goes out as if nothing had been said, mention and all.
"""

from __future__ import annotations

from dataclasses import replace

from notifier.model import Outcome
from notifier.state.mutes import FirestoreMutes
from sandbox.stack import push_body
from tests.conftest import DATA
from tests.support.inprocess import make_notifier

MENTION = "<!subteam^S0ONCALL1>"


def test_unreadable_mutes_never_silence_a_failure(standins, slack, caplog, unreachable_firestore) -> None:
    notifier = make_notifier(standins, SLACK_MENTION_ON_FAILURE=MENTION)
    notifier = replace(notifier, mutes=FirestoreMutes(unreachable_firestore, "mutes"))
    data = (DATA / "failed-with-tasks.status.json").read_bytes()
    assert notifier.handle(push_body(data, message_id="quiet-1")) == Outcome.POSTED
    [posted] = slack.messages()
    assert posted.body["text"].startswith(MENTION)
    assert "Acknowledgements and mutes unavailable" in caplog.text
