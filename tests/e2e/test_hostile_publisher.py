"""A hostile publisher on the status topic reaches nothing: no host, no channel, no loop.

The real function process on the Pub/Sub and Firestore emulators, configured as in
production where it matters here: no ``VERTEX_API_ENDPOINT`` and no ``LOGGING_API_ENDPOINT``
(so the production endpoint template, ``{region}-aiplatform.googleapis.com``, builds
every URL), and Google credentials whose token comes from a loopback token endpoint
(``sandbox.token_standin``), so any request the function makes carries a real bearer token.
De-duplication and threads are on; Google Chat and SMS are configured as the stack does
and routed to by default, so anything sent anywhere shows.

The attacker is a loopback listener (``tests.support.attacker``) that counts connections; the
corpus (``tests.support.trustcorpus``) aims resource names, ``gcp_region`` attributes and job-event
labels at it in every spelling a URL parser or resolver accepts, names projects and
regions outside the scope, and asks for a sweep on the status topic. A push ledger in
front of the function counts deliveries per message.

The suite fails if the attacker sees a single connection, if any message is delivered
more than twice (redelivered more than once), if any is never acknowledged, or if
anything is posted for the corpus. A control message (a well-formed, in-scope run) shows
that the production credential path is live: the token endpoint hands out a token for it.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import WaitTimeout, wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import CHAT_SPACES, LocalStack
from sandbox.token_standin import TokenStandin
from tests.support.attacker import AttackerListener, PushLedger
from tests.support.trustcorpus import ATTACKER_CHANNEL, Item, corpus
from tests.support.trustdata import NUMBER, PROJECT_ID, load, run_of

pytestmark = pytest.mark.emulator

DEADLINE = 180.0  # for every corpus message to be acknowledged (seconds)
MAX_DELIVERIES = 2  # delivered once, redelivered at most once


@dataclass
class Hostile:
    """The stack under attack and what watches it."""

    stack: LocalStack
    attacker: AttackerListener
    token: TokenStandin
    ledger: PushLedger
    credentials: Path


def hostile_env(firestore: FirestoreEmulator, credentials: Path, sweep_topic: str) -> dict[str, str]:
    """The function's settings for the suite (on top of the stack's; see the module doc)."""
    return {
        **firestore.env,
        "DEDUP_COLLECTION": "hostile-claims",
        "STREAKS_COLLECTION": "hostile-streaks",
        "GOOGLE_CHAT_SPACES": ",".join(CHAT_SPACES),
        "SMS_TO": "+15551230099",
        "SLACK_MENTION_ON_FAILURE": "<!subteam^S0ONCALL>",
        "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
        "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
        "ALLOWED_PROJECTS": f"{PROJECT_ID},{NUMBER}",
        "ALLOWED_REGIONS": "us-central1,europe-west4",
        "SWEEP_TOPIC": sweep_topic,
        "SWEEP_PROJECTS": PROJECT_ID,
        "SWEEP_REGIONS": "us-central1",
        "VERTEX_TIMEOUT_SECONDS": "4",
    }


@pytest.fixture(scope="module")
def hostile(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hostile]:
    workdir = tmp_path_factory.mktemp("hostile")
    with contextlib.ExitStack() as stop:
        token = stop.enter_context(TokenStandin())
        attacker = stop.enter_context(AttackerListener())
        credentials = token.credentials_file(workdir / "credentials.json")
        # The sweep's own topic exists, but nothing here publishes to it.
        sweep_topic = pubsub_emulator.create_topic(f"hostile-sweep-{uuid.uuid4().hex[:8]}")
        stack = LocalStack.start(
            workdir,
            emulator=pubsub_emulator,
            env=hostile_env(firestore, credentials, sweep_topic),
            without=("VERTEX_API_ENDPOINT", "LOGGING_API_ENDPOINT"),
        )
        ledger = PushLedger(stack.function.url)
        stop.callback(ledger.stop)  # after the stack: the function ends the pushes in flight
        stop.enter_context(stack)
        ledger.start()
        yield Hostile(stack, attacker, token, ledger, credentials)


def refusal_lines(log: str, message_id: str) -> list[str]:
    """The message's WARNING and ERROR lines (a refusal is logged at one of them)."""
    return [
        line
        for line in log.splitlines()
        if f"[msg={message_id} " in line and (" ERROR " in line or " WARNING " in line)
    ]


def test_a_hostile_publisher_reaches_no_host_no_channel_and_no_loop(hostile: Hostile) -> None:
    stack, attacker, ledger = hostile.stack, hostile.attacker, hostile.ledger
    route = stack.add_route(push_to=ledger.url, max_delivery_attempts=5)
    items = corpus(attacker.port, ipv6=attacker.ipv6)
    sent: dict[str, Item] = {}
    for item in items:
        sent[stack.publish(route, item.data, item.attributes)] = item
    # The control: a well-formed run in scope, which the function must look up in Vertex AI.
    control = run_of(load("churn-scoring-exit-succeeded.job.json"), "churn-scoring-control")
    control_id = stack.publish(route, control.status("SUCCEEDED"))
    every = [*sent, control_id]

    def for_the_corpus(bodies: list[dict]) -> list[str]:
        texts = [json.dumps(body, ensure_ascii=False) for body in bodies]
        return [text[:200] for text in texts if control.job_id not in text]

    def posted() -> tuple[list[str], list[str], list[str]]:
        return (
            for_the_corpus([p.body for p in stack.slack.messages()] + [u.body for u in stack.slack.updates]),
            for_the_corpus([m.body for m in stack.chat.messages]),
            [sms.body[:200] for sms in stack.twilio.sent],
        )

    def settled() -> bool:
        """All acknowledged; or a failure already certain (no need to wait out the deadline)."""
        looping = any(n > MAX_DELIVERIES for n in ledger.counts().values())
        return ledger.all_acked(every) or attacker.count() > 0 or looping or any(posted())

    with contextlib.suppress(WaitTimeout):  # what is missing is reported below, item by item
        wait_until(settled, timeout=DEADLINE, interval=0.2)

    def label(message_id: str) -> str:
        return sent[message_id].label if message_id in sent else "the control"

    # 1. Not a single connection to the attacker, whatever the scheme.
    assert attacker.count() == 0, (
        f"the attacker's listener accepted {attacker.count()} connection(s): {attacker.describe()[:1500]}"
    )
    # 2. Acknowledged, and delivered at most twice: no message makes a redelivery loop.
    counts = ledger.counts()
    looping = {label(mid): ledger.deliveries(mid) for mid, n in counts.items() if n > MAX_DELIVERIES}
    assert not looping, f"delivered more than {MAX_DELIVERIES} times: {looping}"
    unacked = [label(mid) for mid in every if not ledger.acked(mid)]
    assert not unacked, f"never acknowledged within {DEADLINE:.0f}s: {unacked}"
    # 3. Nothing posted anywhere for the corpus (the control's own message aside).
    slack, chat, sms = posted()
    assert slack == [], f"posted to Slack for the corpus: {slack[:5]}"
    assert stack.slack.messages(ATTACKER_CHANNEL) == []
    assert chat == [], f"posted to Google Chat for the corpus: {chat[:5]}"
    assert sms == [], f"SMS sent for the corpus: {sms[:5]}"
    # 4. Each corpus message is logged as refused (with its message id), never as a bug.
    log = stack.function.log_text()
    silent = [item.label for mid, item in sent.items() if not refusal_lines(log, mid)]
    assert not silent, f"acknowledged without a WARNING or ERROR line: {silent[:20]}"
    assert "Unexpected error" not in log
    # The control was looked up with the credentials written here: tokens came from the stand-in.
    assert hostile.token.issued(), (
        "the function never asked the token endpoint: the production path was not run"
    )
    # ... and neither those tokens nor the credentials' own secrets were logged.
    assert [token for token in hostile.token.issued() if token in log] == []
    assert not re.search(r"standin-refresh-token|standin-client-secret", log)
