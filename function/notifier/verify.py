"""A notice is a claim; Vertex AI is the truth. Pure: the claim and what Vertex said in, a verdict out.

- **Confirmed**: Vertex shows the job, and
  - for the exit-handler stub's status: the task the stub reports on (its
    ``taskFinalStatus`` producer: ``tfx-dag`` in TFX, ``exit-handler-1`` in KFP) has ended
    in the claimed state and the stub's own task has started; or, when the spec tells
    nothing of the stub, the job itself has ended in the claimed state. The exit handler
    runs *before* Vertex marks the job ended, so a genuine status normally arrives while
    the job is still RUNNING: the job's own state alone would reject every genuine notice.
  - for a job event: the job's own state is the claimed final state;
  - for the sweep and its schedule check: always (its notices are Vertex's own lists).
- **Refuted**: Vertex answered and says otherwise (404, another state, not ended yet).
  Nothing is posted; the message is acknowledged and logged.
- **Unconfirmed**: Vertex could not be asked (unreachable, 5xx, 403). The notice still goes
  out, marked unverified, to the default destinations only, without a mention, an SMS
  or a streak change, and under a de-duplication key of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.model import (
    CANCELLED,
    FAILED,
    FINAL_STATES,
    JOB_EVENT,
    SCHEDULE,
    SUCCEEDED,
    SWEEP,
    Enrichment,
    FinalStatus,
)

# PipelineTaskDetail states (proto names) as the claimed final state they stand for.
_TASK_ENDED = {
    "SUCCEEDED": SUCCEEDED,
    "FAILED": FAILED,
    "CANCELLED": CANCELLED,
    "CANCELLING": CANCELLED,
    "CANCEL_PENDING": CANCELLED,
    "SKIPPED": "SKIPPED",
    "NOT_TRIGGERED": "NOT_TRIGGERED",
}
# The stub's own task has not started: it cannot have published anything yet.
_NOT_STARTED = frozenset({"", "NOT_RUN", "STATE_UNSPECIFIED", "PENDING", "NOT_TRIGGERED", "SKIPPED"})


@dataclass(frozen=True)
class Verdict:
    """What Vertex AI says of a claim: ``refuted`` or ``unconfirmed`` give the reason, else confirmed."""

    refuted: str = ""
    unconfirmed: str = ""

    @property
    def confirmed(self) -> bool:
        """Vertex AI confirmed the claim."""
        return not self.refuted and not self.unconfirmed


CONFIRMED = Verdict()


def verify(status: FinalStatus, enrichment: Enrichment) -> Verdict:
    """Check ``status`` against what Vertex AI returned in ``enrichment``."""
    if status.source in (SWEEP, SCHEDULE):
        return CONFIRMED
    details = enrichment.details
    if details is None:
        if enrichment.not_found:
            return Verdict(refuted="Vertex AI has no such pipeline job (404)")
        return Verdict(unconfirmed=enrichment.note or "Vertex AI could not be asked")
    if status.source == JOB_EVENT:
        return _compare(status.state, details.state, ended=details.state in FINAL_STATES, what="the job")
    if details.reported_task_state:
        # The spec has the stub and the run has the task it reports on: that task decides.
        if details.stub_task_state in _NOT_STARTED:
            return Verdict(
                refuted="the exit handler's own task has not started "
                f"(Vertex AI says {details.stub_task_state or 'no such task'})"
            )
        state = _TASK_ENDED.get(details.reported_task_state, details.reported_task_state)
        return _compare(
            status.state,
            state,
            ended=details.reported_task_state in _TASK_ENDED,
            what="the task the exit handler reports on",
        )
    return _compare(status.state, details.state, ended=details.state in FINAL_STATES, what="the job")


def _compare(claimed: str, actual: str, *, ended: bool, what: str) -> Verdict:
    if not ended:
        return Verdict(
            refuted=f"{what} has not ended (Vertex AI says {actual or 'nothing'}); the status claims {claimed}"
        )
    if actual != claimed:
        return Verdict(refuted=f"{what} ended {actual} according to Vertex AI; the status claims {claimed}")
    return CONFIRMED
