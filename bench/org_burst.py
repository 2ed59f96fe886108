"""An organisation's worth of pipelines ending together, on the deployed topology.

Thousands of final statuses over a hundred channels with a skewed (Zipf) distribution:
a few busy channels, many quiet ones. The Slack stand-in limits each channel to one post
a second with short bursts; de-duplication is on (Firestore emulator). The function runs
as deployed (``sandbox.topology``: one functions-framework/gunicorn process, THREADS =
concurrency) behind the subscription Terraform deploys (retry policy, dead-lettering,
ack deadline) pushed as Pub/Sub pushes (``sandbox.push_relay``).

One pipeline in ten also pages PagerDuty and posts to a Teams channel (a ROUTES rule),
each paced under its own rate (the stand-ins limit a routing key to 120 events a minute
and a workflow to 4 posts a second): every page and card arrives once, without a 429 storm.

The lower bound is the busiest channel's count divided by its rate: no schedule can
post there faster. Quiet-channel probes, published one at a time while the busy
channels are saturated, show that those do not wait behind them. Optionally the
instance is killed (SIGKILL, the whole process group) part-way and restarted.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    GroupMemorySampler,
    ids_in,
    job_id,
    job_json,
    publish_batch,
    status_bytes,
    summary,
)
from bench.pipeline import PostLog, warm
from sandbox import topology
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.pagerduty_standin import PagerDutyStandin
from sandbox.procs import WaitTimeout, wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.slack_standin import SlackStandin
from sandbox.stack import PAGERDUTY_SERVICES, LocalStack
from sandbox.teams_standin import TeamsStandin

RATE = 1.0  # Slack: about one post a second per channel
# Pipelines whose job id ends in 0 (one in ten) also page PagerDuty and post to Teams.
PAGED = [{"match": {"pipeline": "bench-org-*0"}, "pagerduty": ["ml-oncall"], "teams": ["ml-alerts"]}]
PUBLISH_CHUNK = 1000  # Pub/Sub's limit of messages per publish request


def zipf_counts(messages: int, channels: int, exponent: float = 1.0) -> list[int]:
    """``messages`` split over ``channels`` in proportion to 1/k^s, busiest first (sums exactly)."""
    weights = [1 / (k**exponent) for k in range(1, channels + 1)]
    total = sum(weights)
    exact = [messages * w / total for w in weights]
    counts = [int(x) for x in exact]
    # Largest remainders get the messages rounding left over; every channel gets at least one.
    for k in sorted(range(channels), key=lambda k: exact[k] - counts[k], reverse=True)[
        : messages - sum(counts)
    ]:
        counts[k] += 1
    return counts


@dataclass
class _Burst:
    """One burst in flight: the plan, the stack it runs on, and what has been seen so far."""

    stack: LocalStack
    route: Any
    emulator: PubSubEmulator
    log: PostLog
    plan: list[tuple[str, str]]
    bound: float
    workdir: Path
    probe_every: float
    pagerduty: PagerDutyStandin
    teams: TeamsStandin
    start: float = 0.0
    ids: set[str] = field(default_factory=set)  # every message published (burst and probes)
    burst_ids: set[str] = field(default_factory=set)
    probes: dict[str, float] = field(default_factory=dict)  # probe job → when it was published
    killed: dict[str, float] = field(default_factory=dict)
    next_probe: float = 0.0
    kill_time: float | None = None

    @property
    def jobs(self) -> list[str]:
        """The burst's job ids."""
        return [job for job, _ in self.plan]

    @property
    def paged(self) -> list[str]:
        """The jobs a ROUTES rule also sends to PagerDuty and Teams (one in ten)."""
        return [job for job in self.jobs if job.endswith("0")]

    def paging(self) -> dict[str, int]:
        """Incidents and cards per paged job: how many are missing or came twice; the 429s.

        A page is an incident: a trigger repeated with the same key (a redelivery after a kill)
        adds to it and pages no one again, so incidents are counted, not events.
        """
        pages = Counter(
            str(a.events[0].payload.get("custom_details", {}).get("run", "")) for a in self.pagerduty.alerts()
        )
        cards = Counter(job for post in self.teams.posts for job in ids_in(post.card))
        paged = self.paged
        missing_pages = sum(1 for job in paged if not pages[job])
        missing_cards = sum(1 for job in paged if not cards[job])
        return {
            "paged": len(paged),
            "pages_lost": missing_pages,
            "pages_duplicated": sum(pages[job] - 1 for job in paged if pages[job] > 1),
            "pagerduty_events": len(self.pagerduty.events),
            "pagerduty_429s": sum(1 for status, _ in self.pagerduty.refused if status == 429),
            "cards_lost": missing_cards,
            "cards_duplicated": sum(cards[job] - 1 for job in paged if cards[job] > 1),
            "teams_429s": sum(1 for status, _ in self.teams.refused if status == 429),
            "waiting": missing_pages + missing_cards,
        }

    def publish(self, kill_at: float | None) -> None:
        """Publish the whole burst at once (in Pub/Sub's largest batches) and start the clock."""
        self.start = time.monotonic()
        for first in range(0, len(self.plan), PUBLISH_CHUNK):
            chunk = self.plan[first : first + PUBLISH_CHUNK]
            batch = [(status_bytes(job), {"slack_channel_id": channel}) for job, channel in chunk]
            self.ids.update(publish_batch(self.emulator.host, self.route.topic, batch))
        self.burst_ids = set(self.ids)
        self.next_probe = self.start + self.probe_every
        self.kill_time = self.start + kill_at * self.bound if kill_at is not None else None

    def _probe(self) -> None:
        """Publish one status to a quiet channel of its own, and note when."""
        probe = job_id("probe", len(self.probes))
        channel = f"C0PROBE{len(self.probes):03d}"
        self.stack.vertex.add_job(job_json(probe, channel))
        self.ids.update(
            publish_batch(
                self.emulator.host, self.route.topic, [(status_bytes(probe), {"slack_channel_id": channel})]
            )
        )
        self.probes[probe] = time.monotonic()

    def done(self) -> bool:
        """Every job and probe posted; meanwhile, kill the instance and publish probes when due."""
        now = time.monotonic()
        if self.kill_time is not None and now >= self.kill_time:
            self.kill_time = None
            self.killed.update(_kill_and_restart(self.stack, self.workdir, self.start))
        if now >= self.next_probe and not all(self.log.first(j) for j in self.jobs):
            self.next_probe = now + self.probe_every
            self._probe()
        return all(self.log.first(j) for j in [*self.jobs, *self.probes]) and self.paging()["waiting"] == 0

    def first_pass_s(self) -> float:
        """When the instance had taken in every message of the burst once (posted or handed back)."""
        first_pushes = [self.route.relay.first_pushed.get(i) for i in self.burst_ids]
        if not all(first_pushes):
            return float("nan")
        return max(t for t in first_pushes if t is not None) - self.start


def run(
    workdir: Path,
    emulator: PubSubEmulator,
    firestore: FirestoreEmulator,
    *,
    messages: int,
    channels: int,
    probe_every: float,
    kill_at: float | None = None,
    standin_burst: int = 2,
    seed: int = 10,
) -> dict[str, Any]:
    """Publish the burst at once; report lost, duplicated, dead-lettered and time against the bound.

    ``kill_at``: kill the instance (SIGKILL) after this fraction of the bound, and restart it.
    """
    deployed = topology.load()
    counts = zipf_counts(messages, channels)
    plan = [(job_id("org", n), f"C0ORG{c:03d}") for n, c in enumerate(_channel_of_each(counts))]
    random.Random(seed).shuffle(plan)  # pipelines end in no particular order
    log = PostLog()
    slack = SlackStandin(rate_per_second=RATE, burst=standin_burst, on_message=log)
    pagerduty = PagerDutyStandin(routing_keys=tuple(PAGERDUTY_SERVICES.values()), rate_per_minute=120)
    teams = TeamsStandin(rate_per_second=4)
    stack = LocalStack.start(
        workdir, emulator=emulator, slack=slack, pagerduty=pagerduty, teams=teams, env=_env(firestore)
    )
    try:
        route = stack.add_deployed_route()
        assert route.relay is not None
        warm(stack, route, log, 1, "C0ORGWARM")
        for job, channel in plan:
            stack.vertex.add_job(job_json(job, channel))
        slack.reset()
        burst = _Burst(
            stack, route, emulator, log, plan, counts[0] / RATE, workdir, probe_every, pagerduty, teams
        )
        observed = _observe(burst, deployed, kill_at)
    finally:
        stack.stop()
    return {
        **_plan_figures(counts, channels, standin_burst, deployed),
        **_outcome(burst, observed, slack, channels),
    }


def _env(firestore: FirestoreEmulator) -> dict[str, str]:
    # Claims and streaks of their own: a second burst (the killed one) reuses the job ids.
    run_id = int(time.time() * 1000)
    return {
        "LOG_FORMAT": "json",
        "SLACK_MAX_PER_SECOND": f"{RATE:g}",
        **firestore.env,
        "DEDUP_COLLECTION": f"bench-org-{run_id}",
        "STREAKS_COLLECTION": f"bench-org-streaks-{run_id}",
        "ROUTES": json.dumps(PAGED),
    }


def _observe(burst: _Burst, deployed: topology.Topology, kill_at: float | None) -> dict[str, Any]:
    """Publish the burst, wait for every post, then for every acknowledgement; what was seen.

    The instance's memory is sampled throughout, unless it is killed part-way.
    """
    sampler = None
    if kill_at is None:
        sampler = GroupMemorySampler(burst.stack.function.process.pid, interval=0.25).start()
    try:
        observed = _watch(burst, deployed, kill_at)
        observed["memory"] = sampler.stop() if sampler is not None else {}
        sampler = None
    finally:
        if sampler is not None:
            sampler.stop()
    observed["dead_lettered"] = len(
        burst.emulator.pull(burst.route.dead_letter_subscription, max_messages=1000)
    )
    observed["relay"] = burst.route.relay.stats.as_dict()
    observed["function_log"] = burst.stack.function.log_text()
    observed["paging"] = burst.paging()
    return observed


def _watch(burst: _Burst, deployed: topology.Topology, kill_at: float | None) -> dict[str, Any]:
    """Publish the burst; wait until every job and probe is posted, then until every message
    is acknowledged: when the last post arrived, what stayed unacknowledged, the first pass."""
    burst.publish(kill_at)
    with contextlib.suppress(WaitTimeout):  # what is missing at the deadline is reported as lost
        wait_until(burst.done, timeout=burst.bound * 3 + 180, interval=0.05)
    arrivals = [t for job in burst.jobs if (t := burst.log.first(job)) is not None]
    finished = max(arrivals, default=time.monotonic())
    # A duplicate can only come from a redelivery: wait until every message has been
    # acknowledged, so none is still on its way (a pending claim after the kill waits
    # out its lease, then its redelivery finds the claim sent or takes it over).
    settle = deployed.timeout_seconds + deployed.max_retry_backoff_seconds + 60
    relay = burst.route.relay
    with contextlib.suppress(WaitTimeout):
        wait_until(lambda: relay.acknowledged(burst.ids), timeout=settle, interval=0.2)
    return {
        "finished": finished,
        "unsettled": len(burst.ids - relay.acked_ids),
        "first_pass": burst.first_pass_s(),
    }


def _plan_figures(
    counts: list[int], channels: int, standin_burst: int, deployed: topology.Topology
) -> dict[str, Any]:
    """What the burst was: its size, its channels' counts, the rate and the deployed topology."""
    return {
        "messages": sum(counts),
        "channels": channels,
        "busiest": counts[0],
        "counts_top5": counts[:5],
        "quiet_channels": channels - channels // 2,
        "quiet_counts": [counts[channels - 1], counts[channels // 2]],
        "rate_per_second": RATE,
        "standin_burst": standin_burst,
        "topology": {
            "max_instances": deployed.max_instances,
            "concurrency": deployed.concurrency,
            "slack_hold_seconds": deployed.slack_hold_seconds,
            "retry_backoff_seconds": [deployed.min_retry_backoff_seconds, deployed.max_retry_backoff_seconds],
            "max_delivery_attempts": deployed.max_delivery_attempts,
        },
    }


def _quiet_first_posts(burst: _Burst, channels: int) -> list[float]:
    """Per channel of the quiet half (the fewest statuses), its first post after the publish."""
    quiet = {f"C0ORG{c:03d}" for c in range(channels // 2, channels)}
    first_post: dict[str, float] = {}
    for job, channel in burst.plan:
        if channel in quiet and (t := burst.log.first(job)) is not None:
            first_post[channel] = min(first_post.get(channel, t), t)
    return [t - burst.start for t in first_post.values()]


def _probe_latencies(burst: _Burst, first_pass: float) -> tuple[list[float], list[float]]:
    """Publish → post of the probes published after the first pass, and of those before it.

    Probes published after it meet only the busy channels' queues; those published before
    it also wait in the subscription's backlog behind the burst itself.
    """
    after, during = [], []
    for job, published in burst.probes.items():
        if (t := burst.log.first(job)) is not None:
            (after if published - burst.start >= first_pass else during).append(t - published)
    return after, during


def _outcome(burst: _Burst, observed: dict[str, Any], slack: SlackStandin, channels: int) -> dict[str, Any]:
    """Lost, duplicated, dead-lettered, the time against the bound, and what the function logged."""
    posts = burst.log.counts()
    total = observed["finished"] - burst.start
    after, during = _probe_latencies(burst, observed["first_pass"])
    function_log, relay = observed["function_log"], observed["relay"]
    return {
        "lost": sum(1 for job in [*burst.jobs, *burst.probes] if posts.get(job, 0) == 0),
        "duplicated": sum(c - 1 for c in posts.values() if c > 1),
        "dead_lettered": observed["dead_lettered"],
        "unsettled": observed["unsettled"],
        "total_s": total,
        "lower_bound_s": burst.bound,
        "ratio_to_bound": total / burst.bound,
        "slack_attempts": slack.attempts,
        "slack_429s": slack.rate_limited,
        "handed_back": relay["by_status"].get("429", 0),
        "relay": relay,
        "claims_pending_redelivered": function_log.count("another delivery is posting"),
        "claims_taken_over": function_log.count("Took over an expired claim"),
        "duplicates_suppressed": function_log.count("Duplicate delivery"),
        "first_pass_s": observed["first_pass"],
        "quiet_first_post_s": summary(_quiet_first_posts(burst, channels)),
        "probe_latency_s": summary(after),
        "probe_latency_during_first_pass_s": summary(during),
        "probes": len(burst.probes),
        "killed": burst.killed,
        "memory": observed["memory"],
        "paging": observed["paging"],
    }


def _channel_of_each(counts: list[int]) -> list[int]:
    return [c for c, count in enumerate(counts) for _ in range(count)]


def _kill_and_restart(stack: LocalStack, workdir: Path, start: float) -> dict[str, float]:
    """SIGKILL the instance's whole process group, then start a fresh one on the same port."""
    at = time.monotonic()
    stack.function.kill()
    stack.function = stack.function.restart(workdir)
    return {"killed_at_s": at - start, "restart_s": time.monotonic() - at}
