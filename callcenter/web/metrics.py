"""Prometheus metrics of the running service, and the small app that serves them (no log-in: it may bind
to an address of its own, ``CALLCENTER_METRICS_HOST``/``_PORT``).

    GET /metrics   the text exposition format
    GET /health    200 "ok" while the service runs

Counters of calls come from the call steps as they are journalled (``ServiceMetrics.step``: queued is
offered, connected is answered, abandoned is abandoned), so they count exactly what the records say.
Gauges are read when scraped from the parts that know them (``LiveSources``): callers waiting and the
longest wait per queue (the ACD), agents by state, records not yet in PostgreSQL and how long the oldest
has waited (the writer), AMI reconnects. AGI command latency is observed by the FastAGI server. Each
service has a registry of its own (no module-level singleton), so tests build as many as they like.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.acd.events import AgentState
from callcenter.records import CallStep, StepKind
from callcenter.web.server import listen

__all__ = ["LiveSources", "RecordingDiskSources", "ServiceMetrics", "start_metrics"]

log = logging.getLogger(__name__)

# AGI round trips are ~0.3 ms idle on loopback; the target is p99 <= 2 ms under load.
_AGI_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_COUNTED = {StepKind.QUEUED: "offered", StepKind.CONNECTED: "answered", StepKind.ABANDONED: "abandoned"}


@dataclass(frozen=True)
class LiveSources:
    """Where the gauges are read at each scrape."""

    queue_waits: Callable[[], dict[str, tuple[int, float]]]  # queue -> (waiting, longest wait s)
    agent_states: Callable[[], dict[str, tuple[AgentState, str]]]
    records_pending: Callable[[], int]
    record_lag: Callable[[], float]  # seconds the oldest record not yet in PostgreSQL has waited
    ami_reconnects: Callable[[], int]


class _LiveCollector(Collector):
    def __init__(self, sources: LiveSources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "callcenter_queue_waiting_calls", "Callers waiting in the queue now", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "callcenter_queue_longest_wait_seconds", "The longest wait of a caller waiting now", labels=["queue"]
        )
        for queue, (count, seconds) in sorted(self._sources.queue_waits().items()):
            waiting.add_metric([queue], count)
            longest.add_metric([queue], seconds)
        agents = GaugeMetricFamily("callcenter_agents", "Agents by ACD state", labels=["state"])
        tally = Tally(state for state, _ in self._sources.agent_states().values())
        for state in AgentState:
            agents.add_metric([str(state)], tally.get(state, 0))
        pending = GaugeMetricFamily("callcenter_records_spooled", "Records journalled, not yet in PostgreSQL")
        pending.add_metric([], self._sources.records_pending())
        lag = GaugeMetricFamily("callcenter_record_write_lag_seconds", "Age of the oldest record not yet written")
        lag.add_metric([], self._sources.record_lag())
        reconnects = CounterMetricFamily("callcenter_ami_reconnects", "AMI connections re-established")
        reconnects.add_metric([], self._sources.ami_reconnects())
        yield from (waiting, longest, agents, pending, lag, reconnects)


@dataclass(frozen=True)
class RecordingDiskSources:
    """The recordings disk alarm's gauges (callcenter/recordings/disk.py), read at each scrape."""

    free_bytes: Callable[[], int | None]  # None until first read
    alarm: Callable[[], bool]  # low on space, or recordings cannot be written
    unfinished: Callable[[], int]  # recordings Asterisk closed that could not be written yet


class _RecordingDiskCollector(Collector):
    def __init__(self, sources: RecordingDiskSources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        free = self._sources.free_bytes()
        if free is not None:
            yield GaugeMetricFamily(
                "callcenter_recordings_disk_free_bytes", "Free space for finished recordings", value=free
            )
        yield GaugeMetricFamily(
            "callcenter_recordings_disk_alarm",
            "1 while the recordings disk is low on space or recordings cannot be written",
            value=int(self._sources.alarm()),
        )
        yield GaugeMetricFamily(
            "callcenter_recordings_unfinished",
            "Recordings Asterisk has closed that could not be written yet",
            value=self._sources.unfinished(),
        )


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._calls = Counter(
            "callcenter_calls", "Calls by what happened to them in a queue", ["queue", "event"], registry=self.registry
        )
        self._agi = Histogram(
            "callcenter_agi_command_seconds",
            "FastAGI command round trips",
            ["command"],
            buckets=_AGI_BUCKETS,
            registry=self.registry,
        )
        # Hostile SIP input (callcenter/security/): Asterisk's security events, and the addresses blocked now.
        self._sip_security_events = Counter(
            "callcenter_sip_security_events",
            "Failed SIP requests Asterisk reported (security events), by event",
            ["event"],
            registry=self.registry,
        )
        self._sip_blocked = Gauge(
            "callcenter_sip_blocked_addresses", "SIP source addresses blocked now", registry=self.registry
        )
        self._rollup_marks = Counter(
            "callcenter_rollup_marks",
            "Changed calls and agent events the rollup maintainer processed, or set aside as unprocessable",
            ["result"],
            registry=self.registry,
        )

    def step(self, step: CallStep) -> None:
        """A call step journalled: count it if it is an offer, an answer or an abandon."""
        event = _COUNTED.get(step.kind)
        if event is not None and step.queue:
            self._calls.labels(step.queue, event).inc()

    def agi_command(self, command: str, seconds: float) -> None:
        self._agi.labels(command.upper()).observe(seconds)

    def sip_security_event(self, event: str) -> None:
        self._sip_security_events.labels(event).inc()

    def sip_blocked(self, addresses: int) -> None:
        self._sip_blocked.set(addresses)

    def rollup_marks(self, processed: int) -> None:
        self._rollup_marks.labels("processed").inc(processed)

    def rollup_marks_set_aside(self, count: int) -> None:
        """Marks moved to rollup_marks_failed: a record the reports leave out until someone looks (alert on > 0)."""
        self._rollup_marks.labels("set_aside").inc(count)

    def add_live(self, sources: LiveSources) -> None:
        self.registry.register(_LiveCollector(sources))

    def add_recording_disk(self, sources: RecordingDiskSources) -> None:
        self.registry.register(_RecordingDiskCollector(sources))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _app(metrics: ServiceMetrics) -> web.Application:
    async def scrape(request: web.Request) -> web.Response:
        body = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    app.router.add_get("/health", health)
    return app


async def start_metrics(metrics: ServiceMetrics, host: str, port: int) -> web.AppRunner:
    """Serve /metrics and /health on ``host:port``; stop with ``await runner.cleanup()``."""
    runner = await listen(_app(metrics), host, port, "METRICS", 1.0)
    bound_host, bound_port = runner.addresses[0][:2]
    log.info("metrics on http://%s:%d/metrics", bound_host, bound_port)
    return runner
