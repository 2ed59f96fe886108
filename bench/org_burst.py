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
    # Claims and streaks of their own: a second burst (the killed one) reuses the job ids.
    run_id = int(time.time() * 1000)
    env = {
        "LOG_FORMAT": "json",
        "SLACK_MAX_PER_SECOND": f"{RATE:g}",
        **firestore.env,
        "DEDUP_COLLECTION": f"bench-org-{run_id}",
        "STREAKS_COLLECTION": f"bench-org-streaks-{run_id}",
        "ROUTES": json.dumps(PAGED),
    }
    pagerduty = PagerDutyStandin(routing_keys=tuple(PAGERDUTY_SERVICES.values()), rate_per_minute=120)
    teams = TeamsStandin(rate_per_second=4)
    stack = LocalStack.start(
        workdir, emulator=emulator, slack=slack, pagerduty=pagerduty, teams=teams, env=env
    )
    sampler: GroupMemorySampler | None = None
    memory: dict[str, Any] = {}
    killed: dict[str, float] = {}
    probes: dict[str, float] = {}
    try:
        route = stack.add_deployed_route()
        assert route.relay is not None
        warm(stack, route, log, 1, "C0ORGWARM")
        for job, channel in plan:
            stack.vertex.add_job(job_json(job, channel))
        slack.reset()
        if kill_at is None:
            sampler = GroupMemorySampler(stack.function.process.pid, interval=0.25).start()

        bound = counts[0] / RATE
        start = time.monotonic()
        ids: set[str] = set()
        for first in range(0, len(plan), PUBLISH_CHUNK):
            chunk = plan[first : first + PUBLISH_CHUNK]
            batch = [(status_bytes(job), {"slack_channel_id": channel}) for job, channel in chunk]
            ids.update(publish_batch(emulator.host, route.topic, batch))
        burst_ids = set(ids)

        jobs = [job for job, _ in plan]
        paged = [job for job in jobs if job.endswith("0")]
        next_probe = start + probe_every
        kill_time = start + kill_at * bound if kill_at is not None else None

        def done() -> bool:
            nonlocal next_probe, kill_time
            now = time.monotonic()
            if kill_time is not None and now >= kill_time:
                kill_time = None
                killed.update(_kill_and_restart(stack, workdir, start))
            if now >= next_probe and not all(log.first(j) for j in jobs):
                next_probe = now + probe_every
                probe = job_id("probe", len(probes))
                channel = f"C0PROBE{len(probes):03d}"
                stack.vertex.add_job(job_json(probe, channel))
                ids.update(
                    publish_batch(
                        emulator.host, route.topic, [(status_bytes(probe), {"slack_channel_id": channel})]
                    )
                )
                probes[probe] = time.monotonic()
            return (
                all(log.first(j) for j in [*jobs, *probes])
                and _paging(pagerduty, teams, paged)["waiting"] == 0
            )

        with contextlib.suppress(WaitTimeout):  # what is missing at the deadline is reported as lost
            wait_until(done, timeout=bound * 3 + 180, interval=0.05)
        arrivals = [t for job in jobs if (t := log.first(job)) is not None]
        finished = max(arrivals, default=time.monotonic())
        # A duplicate can only come from a redelivery: wait until every message has been
        # acknowledged, so none is still on its way (a pending claim after the kill waits
        # out its lease, then its redelivery finds the claim sent or takes it over).
        settle = deployed.timeout_seconds + deployed.max_retry_backoff_seconds + 60
        with contextlib.suppress(WaitTimeout):
            wait_until(lambda: route.relay.acknowledged(ids), timeout=settle, interval=0.2)
        unsettled = len(ids - route.relay.acked_ids)
        # When the instance had taken in every message of the burst once (posted or handed back).
        first_pushes = [route.relay.first_pushed.get(i) for i in burst_ids]
        first_pass = (
            max(t for t in first_pushes if t is not None) - start if all(first_pushes) else float("nan")
        )
        if sampler is not None:
            memory = sampler.stop()
            sampler = None
        dead_lettered = len(emulator.pull(route.dead_letter_subscription, max_messages=1000))
        relay = route.relay.stats.as_dict()
        function_log = stack.function.log_text()
        paging = _paging(pagerduty, teams, paged)
    finally:
        if sampler is not None:
            sampler.stop()
        stack.stop()

    posts = log.counts()
    # The quiet half: the channels with the fewest statuses.
    quiet = {f"C0ORG{c:03d}" for c in range(channels // 2, channels)}
    first_post: dict[str, float] = {}
    for job, channel in plan:
        if channel in quiet and (t := log.first(job)) is not None:
            first_post[channel] = min(first_post.get(channel, t), t)
    quiet_first = [t - start for t in first_post.values()]
    # Probes published after the first pass meet only the busy channels' queues; those
    # published before it also wait in the subscription's backlog behind the burst itself.
    after, during = [], []
    for job, published in probes.items():
        if (t := log.first(job)) is not None:
            (after if published - start >= first_pass else during).append(t - published)
    total = finished - start
    return {
        "messages": messages,
        "channels": channels,
        "busiest": counts[0],
        "counts_top5": counts[:5],
        "quiet_channels": len(quiet),
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
        "lost": sum(1 for job in [*jobs, *probes] if posts.get(job, 0) == 0),
        "duplicated": sum(c - 1 for c in posts.values() if c > 1),
        "dead_lettered": dead_lettered,
        "unsettled": unsettled,
        "total_s": total,
        "lower_bound_s": bound,
        "ratio_to_bound": total / bound,
        "slack_attempts": slack.attempts,
        "slack_429s": slack.rate_limited,
        "handed_back": relay["by_status"].get("429", 0),
        "relay": relay,
        "claims_pending_redelivered": function_log.count("another delivery is posting"),
        "claims_taken_over": function_log.count("Took over an expired claim"),
        "duplicates_suppressed": function_log.count("Duplicate delivery"),
        "first_pass_s": first_pass,
        "quiet_first_post_s": summary(quiet_first),
        "probe_latency_s": summary(after),
        "probe_latency_during_first_pass_s": summary(during),
        "probes": len(probes),
        "killed": killed,
        "memory": memory,
        "paging": paging,
    }


def _paging(pagerduty: PagerDutyStandin, teams: TeamsStandin, paged: list[str]) -> dict[str, int]:
    """Incidents and cards per paged job: how many are missing or came twice; the 429s.

    A page is an incident: a trigger repeated with the same key (a redelivery after a kill)
    adds to it and pages no one again, so incidents are counted, not events.
    """
    pages = Counter(
        str(a.events[0].payload.get("custom_details", {}).get("run", "")) for a in pagerduty.alerts()
    )
    cards = Counter(job for post in teams.posts for job in ids_in(post.card))
    missing_pages = sum(1 for job in paged if not pages[job])
    missing_cards = sum(1 for job in paged if not cards[job])
    return {
        "paged": len(paged),
        "pages_lost": missing_pages,
        "pages_duplicated": sum(pages[job] - 1 for job in paged if pages[job] > 1),
        "pagerduty_events": len(pagerduty.events),
        "pagerduty_429s": sum(1 for status, _ in pagerduty.refused if status == 429),
        "cards_lost": missing_cards,
        "cards_duplicated": sum(cards[job] - 1 for job in paged if cards[job] > 1),
        "teams_429s": sum(1 for status, _ in teams.refused if status == 429),
        "waiting": missing_pages + missing_cards,
    }


def _channel_of_each(counts: list[int]) -> list[int]:
    return [c for c, count in enumerate(counts) for _ in range(count)]


def _kill_and_restart(stack: LocalStack, workdir: Path, start: float) -> dict[str, float]:
    """SIGKILL the instance's whole process group, then start a fresh one on the same port."""
    at = time.monotonic()
    stack.function.kill()
    stack.function = stack.function.restart(workdir)
    return {"killed_at_s": at - start, "restart_s": time.monotonic() - at}
