"""The handler in-process with real clients against the stand-ins: outcomes, routing, logs.

Property-based: arbitrary bytes, JSON values and attribute maps never crash the handler;
each ends as exactly one of posted / skipped / rejected (logged permanent error).
"""

from __future__ import annotations

import base64
import json
import logging

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.errors import DeferredError, SlackUnavailableError
from notifier.handler import Notifier
from notifier.logs import ContextAndRedactionFilter
from notifier.model import Outcome
from notifier.pacing import Pacer
from sandbox.slack_standin import TOKEN, SlackStandin
from sandbox.stack import push_body
from tests.support import hostile
from tests.support.inprocess import Standins, make_notifier
from tests.support.paths import DATA

FAILED = (DATA / "failed-with-tasks.status.json").read_bytes()
SUCCEEDED = (DATA / "succeeded.status.json").read_bytes()


def event(data: bytes, attributes: dict[str, str] | None = None, message_id: str = "m-1") -> dict:
    return push_body(data, attributes, message_id)


def test_failed_status_is_posted_with_details(standins, slack) -> None:
    outcome = make_notifier(standins).handle(event(FAILED))
    assert outcome is Outcome.POSTED
    [posted] = slack.messages()
    assert posted.channel == "C0DEFAULT1"
    text = json.dumps(posted.body)
    assert "Trainer" in text and "Evaluator" in text
    # Measured from the job's start time to the message's publish time.
    assert "failed after ~26m 50s" in text


def test_on_failure_only_skips_success_but_not_failure(standins, slack, caplog) -> None:
    notifier = make_notifier(standins, ON_FAILURE_ONLY="true")
    with caplog.at_level(logging.INFO):
        assert notifier.handle(event(SUCCEEDED)) is Outcome.SKIPPED
    assert any(r.levelno == logging.INFO and "Skipped" in r.getMessage() for r in caplog.records)
    assert notifier.handle(event(FAILED)) is Outcome.POSTED
    assert len(slack.messages()) == 1


def test_attributes_never_choose_where_it_goes(standins, slack, caplog) -> None:
    notifier = make_notifier(standins)
    attrs = {"slack_channel_id": "C0OTHER99", "on_failure_only": "true"}
    with caplog.at_level(logging.WARNING):
        assert notifier.handle(event(SUCCEEDED, attrs)) is Outcome.POSTED  # on_failure_only not obeyed
        assert notifier.handle(event(FAILED, attrs)) is Outcome.POSTED
    assert [p.channel for p in slack.messages()] == ["C0DEFAULT1", "C0DEFAULT1"]
    ignored = [
        r.getMessage() for r in caplog.records if "Ignoring the slack_channel_id attribute" in r.getMessage()
    ]
    assert len(ignored) == 2 and "C0OTHER99" in ignored[0]


def test_the_channel_comes_from_the_pipelines_spec(standins, slack, caplog) -> None:
    vertex = standins[1]
    vertex.load_jobs(DATA / "events", "churn-scoring-20261127070000.job.json")  # stub: C0CHURN01, job FAILED
    status = (DATA / "events" / "churn-scoring-20261127070000.status.json").read_bytes()
    with caplog.at_level(logging.WARNING):
        outcome = make_notifier(standins).handle(event(status, {"slack_channel_id": "C0ATTACK1"}))
    assert outcome is Outcome.POSTED
    assert [p.channel for p in slack.messages()] == ["C0CHURN01"]
    assert any("C0ATTACK1" in r.getMessage() and "C0CHURN01" in r.getMessage() for r in caplog.records)


def _status(resource: str, state: str = "FAILED") -> bytes:
    return json.dumps({"pipelineJobResourceName": resource, "state": state}).encode()


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        ("projects/271009669852/locations/attacker.example#/pipelineJobs/j", "region"),
        ("projects/271009669852/locations/us-central1/pipelineJobs/j?x=1", "job id"),
        ("projects/p@127.0.0.1:9/locations/us-central1/pipelineJobs/j", "project"),
        ("projects/271009669852/locations/us-central1/pipelineJobs/../j", "malformed"),
        ("", "no pipeline job resource name"),
        ("projects/other-project-1/locations/us-central1/pipelineJobs/j", "ALLOWED_PROJECTS"),
        ("projects/271009669852/locations/asia-east1/pipelineJobs/j", "ALLOWED_REGIONS"),
    ],
)
def test_bad_or_foreign_names_are_rejected_before_any_request(
    standins, slack, caplog, resource, reason
) -> None:
    vertex = standins[1]
    asked = len(vertex.requests)
    with caplog.at_level(logging.ERROR):
        assert make_notifier(standins).handle(event(_status(resource))) is Outcome.REJECTED
    assert len(vertex.requests) == asked
    assert slack.messages() == []
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "rejected" in record.getMessage() and reason in record.getMessage()


def test_a_forged_failure_of_a_job_vertex_does_not_know_is_not_posted(standins, slack, caplog) -> None:
    forged = _status("projects/271009669852/locations/us-central1/pipelineJobs/no-such-run-1")
    with caplog.at_level(logging.ERROR):
        assert (
            make_notifier(standins, SLACK_MENTION_ON_FAILURE="<!here>").handle(event(forged))
            is Outcome.REJECTED
        )
    assert slack.messages() == []
    assert any("404" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_a_forged_success_of_a_failing_run_is_not_posted(standins, slack) -> None:
    # failed-with-tasks: the job is still RUNNING, the task the stub reports on (tfx-dag) FAILED.
    forged = _status(
        "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500", "SUCCEEDED"
    )
    assert make_notifier(standins).handle(event(forged)) is Outcome.REJECTED
    assert slack.messages() == []


def test_unconfirmed_goes_to_the_default_channel_marked_and_without_mention(standins, slack) -> None:
    standins[1].fail_all = 503
    notifier = make_notifier(standins, SLACK_MENTION_ON_FAILURE="<!here>")
    assert notifier.handle(event(FAILED, {"slack_channel_id": "C0ATTACK1"})) is Outcome.POSTED
    [posted] = slack.messages()
    assert posted.channel == "C0DEFAULT1"
    text = json.dumps(posted.body)
    assert "nverified" in text and "<!here>" not in text


def test_no_channel_anywhere_is_a_permanent_error(standins, slack, caplog) -> None:
    notifier = make_notifier(standins, SLACK_CHANNEL_ID="")
    with caplog.at_level(logging.ERROR):
        assert notifier.handle(event(FAILED, message_id="m-77")) is Outcome.REJECTED
    assert any("SLACK_CHANNEL_ID" in r.getMessage() for r in caplog.records)
    assert slack.messages() == []


def test_vertex_down_still_posts_with_a_note(standins, slack, caplog) -> None:
    standins[1].fail_all = 403
    with caplog.at_level(logging.WARNING):
        assert make_notifier(standins).handle(event(FAILED)) is Outcome.POSTED
    [posted] = slack.messages()
    assert "details unavailable" in json.dumps(posted.body)
    assert any(r.levelno == logging.WARNING and "403" in r.getMessage() for r in caplog.records)
    assert any("Unverified" in r.getMessage() for r in caplog.records)


def test_a_busy_channel_hands_back_before_any_vertex_call(standins, slack, caplog) -> None:
    vertex = standins[1]
    notifier = make_notifier(standins, Pacer(per_second=0.01, hold=30))
    assert notifier.handle(event(FAILED, message_id="m-1")) is Outcome.POSTED
    asked = len(vertex.requests)
    with caplog.at_level(logging.INFO), pytest.raises(DeferredError):
        notifier.handle(event(FAILED, message_id="m-2"))  # the channel's next slot is 110 s away
    assert len(vertex.requests) == asked, "a handed-back message must not cost a Vertex call"
    assert len(slack.messages()) == 1
    [note] = [r for r in caplog.records if "Not now" in r.getMessage()]
    assert note.levelno == logging.INFO and "C0DEFAULT1 is busy" in note.getMessage()


def test_the_last_delivery_attempt_waits_for_its_channel(standins, slack) -> None:
    pacer = Pacer(per_second=2, hold=0.6)  # slots 0.55 s apart
    notifier = make_notifier(standins, pacer, MAX_DELIVERY_ATTEMPTS="5")
    assert notifier.handle(event(FAILED, message_id="m-1"), delivery_attempt=1) is Outcome.POSTED
    held = pacer.reserve("C0DEFAULT1")  # another request holds the next slot
    with pytest.raises(DeferredError):
        notifier.handle(event(FAILED, message_id="m-2"), delivery_attempt=4)  # 1.1 s away: handed back
    # On the last attempt Pub/Sub would dead-letter it: it waits instead (and goes first).
    assert notifier.handle(event(FAILED, message_id="m-2"), delivery_attempt=5) is Outcome.POSTED
    held.release()
    assert len(slack.messages()) == 2


def test_slack_down_raises_for_redelivery(standins, slack) -> None:
    slack.fail_all = 503
    with pytest.raises(SlackUnavailableError):
        make_notifier(standins).handle(event(FAILED))


def test_invalid_auth_is_acknowledged_and_logged(standins, slack, caplog) -> None:
    slack.fail_all = "invalid_auth"
    with caplog.at_level(logging.ERROR):
        assert make_notifier(standins).handle(event(FAILED, message_id="m-9")) is Outcome.REJECTED
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "invalid_auth" in record.getMessage()


def test_log_lines_carry_context_and_never_the_token(standins, slack) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(ContextAndRedactionFilter([TOKEN]))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        make_notifier(standins).handle(event(FAILED, message_id="m-ctx"))
        logging.getLogger("anything").warning("leaked %s", TOKEN)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    mine = [r for r in records if r.name == "notifier"]
    assert mine, "the handler logged nothing"
    for record in mine:
        assert record.message_id == "m-ctx"
        assert record.job_id == "churn-training-20261127061500"
        assert record.state == "FAILED"
        assert record.json_fields["job_id"] == "churn-training-20261127061500"
    assert all(TOKEN not in r.getMessage() for r in records)
    assert "[redacted]" in records[-1].getMessage()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
status_like = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(["SUCCEEDED", "FAILED", "CANCELLED", "WEIRD", ""]) | json_values,
        "pipelineJobResourceName": st.sampled_from(
            [
                "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500",
                "x",
                "",
            ]
        )
        | json_values,
        "error": json_values,
        "pipelineTaskName": json_values,
    },
)
payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    status_like.map(lambda v: json.dumps(v).encode()),
)
attribute_maps = st.dictionaries(
    st.sampled_from(["gcp_region", "slack_channel_id", "on_failure_only", "other"]) | st.text(max_size=8),
    st.text(max_size=20),
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=payloads, attributes=attribute_maps)
def test_any_input_ends_in_exactly_one_outcome(standins, slack, data: bytes, attributes: dict) -> None:
    before = len(slack.messages())
    outcome = make_notifier(standins).handle(event(data, attributes))
    posted = len(slack.messages()) - before
    assert outcome in {Outcome.POSTED, Outcome.SKIPPED, Outcome.REJECTED}
    assert posted == (1 if outcome is Outcome.POSTED else 0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event_data=json_values | st.binary(max_size=50))
def test_any_event_shape_ends_in_exactly_one_outcome(standins, slack, event_data) -> None:
    outcome = make_notifier(standins).handle(event_data)
    assert outcome in {Outcome.POSTED, Outcome.SKIPPED, Outcome.REJECTED}


def test_base64_of_garbage_is_rejected_not_raised(standins, slack) -> None:
    body = {"message": {"data": base64.b64encode(b"\x00\x01").decode(), "messageId": "g"}}
    assert make_notifier(standins).handle(body) is Outcome.REJECTED


# --- hostile input (tests.support.hostile): no generated input reaches "unexpected error" ----
# (Each test takes ``slack`` so that the stand-ins are healthy and empty whatever ran before.)


@pytest.fixture(scope="module")
def notifier(standins: Standins) -> Notifier:
    return make_notifier(standins, SLACK_MAX_PER_SECOND="0", VERTEX_TIMEOUT_SECONDS="2")


class _Unexpected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Unexpected" in record.getMessage():
            self.records.append(record)


push_bodies = st.builds(
    lambda raw, attrs, mid: {
        "message": {"data": base64.b64encode(raw).decode(), "attributes": attrs, "messageId": mid},
        "subscription": "projects/p/subscriptions/s",
    },
    hostile.hostile_bytes,
    hostile.attribute_maps,
    st.text(max_size=10) | st.just("\ud800"),
)


def handle_watched(notifier: Notifier, slack: SlackStandin, body: object) -> None:
    """Run one body through the handler: one of the three outcomes, never the "unexpected" branch."""
    watcher = _Unexpected()
    logger = logging.getLogger("notifier")
    logger.addHandler(watcher)
    before = len(slack.messages())
    try:
        outcome = notifier.handle(body, event_id="hyp")
    finally:
        logger.removeHandler(watcher)
    assert watcher.records == []
    hypothesis.event(outcome.value)  # --hypothesis-show-statistics shows the mix of outcomes
    assert outcome in {Outcome.POSTED, Outcome.SKIPPED, Outcome.REJECTED}
    assert len(slack.messages()) - before == (1 if outcome is Outcome.POSTED else 0)


@settings(max_examples=hostile.examples(300, 2000), deadline=None, suppress_health_check=hostile.SLOW_OK)
@given(body=push_bodies)
def test_handler_with_hostile_data(notifier: Notifier, standins, slack, body: object) -> None:
    handle_watched(notifier, standins[0], body)


@settings(max_examples=hostile.examples(200, 1000), deadline=None, suppress_health_check=hostile.SLOW_OK)
@given(body=hostile.envelopes)
def test_handler_with_hostile_envelopes(notifier: Notifier, standins, slack, body: object) -> None:
    handle_watched(notifier, standins[0], body)


def test_a_status_with_lone_surrogates_is_posted_readably(notifier: Notifier, standins, slack) -> None:
    slack, _ = standins
    raw = (
        '{"state": "FAILED", "pipelineJobResourceName": "'
        + hostile.RESOURCE
        + '", "error": {"message": "bad \\ud800 byte"}}'
    ).encode()
    body = {"message": {"data": base64.b64encode(raw).decode(), "messageId": "s-1"}}
    assert notifier.handle(body) is Outcome.POSTED
    assert "bad \ufffd byte" in json.dumps(slack.messages()[-1].body, ensure_ascii=False)
