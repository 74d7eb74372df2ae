"""callcenter.web.metrics: what /metrics says, from the journalled steps and the live sources, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from callcenter.acd.events import AgentState
from callcenter.records import CallStep, StepKind
from callcenter.web.metrics import LiveSources, ServiceMetrics, start_metrics

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _metrics() -> ServiceMetrics:
    metrics = ServiceMetrics()
    for kind, queue in [
        (StepKind.QUEUED, "support"),
        (StepKind.QUEUED, "support"),
        (StepKind.OFFERED, "support"),  # an offer to an agent is not a call offered to the queue
        (StepKind.CONNECTED, "support"),
        (StepKind.QUEUED, "sales"),
        (StepKind.ABANDONED, "sales"),
    ]:
        metrics.step(CallStep("node1", "1.1", AT, kind, queue))
    metrics.agi_command("stream", 0.0004)  # the first word of the command, as the AGI server gives it
    metrics.agi_command("STREAM", 0.003)
    metrics.add_live(
        LiveSources(
            queue_waits=lambda: {"support": (2, 41.5), "sales": (0, 0.0)},
            agent_states=lambda: {"1001": (AgentState.ON_CALL, ""), "1002": (AgentState.PAUSED, "lunch")},
            records_pending=lambda: 3,
            record_lag=lambda: 1.25,
            ami_reconnects=lambda: 1,
        )
    )
    return metrics


def test_calls_are_counted_per_queue_from_the_steps_and_gauges_read_at_the_scrape() -> None:
    samples = _samples(_metrics().exposition().decode())
    calls = "callcenter_calls_total"
    assert samples[(calls, (("event", "offered"), ("queue", "support")))] == 2
    assert samples[(calls, (("event", "answered"), ("queue", "support")))] == 1
    assert samples[(calls, (("event", "abandoned"), ("queue", "sales")))] == 1
    assert samples[("callcenter_queue_waiting_calls", (("queue", "support"),))] == 2
    assert samples[("callcenter_queue_longest_wait_seconds", (("queue", "support"),))] == 41.5
    assert samples[("callcenter_agents", (("state", "on_call"),))] == 1
    assert samples[("callcenter_agents", (("state", "paused"),))] == 1
    assert samples[("callcenter_agents", (("state", "available"),))] == 0
    assert samples[("callcenter_records_spooled", ())] == 3
    assert samples[("callcenter_record_write_lag_seconds", ())] == 1.25
    assert samples[("callcenter_ami_reconnects_total", ())] == 1
    histogram = "callcenter_agi_command_seconds"
    assert samples[(f"{histogram}_count", (("command", "STREAM"),))] == 2
    assert samples[(f"{histogram}_bucket", (("command", "STREAM"), ("le", "0.001")))] == 1


async def test_metrics_and_health_are_served_without_a_token() -> None:
    runner = await start_metrics(_metrics(), "127.0.0.1", 0)
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200 and response.content_type == "text/plain"
                assert "callcenter_queue_waiting_calls" in await response.text()
            async with session.get(f"http://127.0.0.1:{port}/health") as response:
                assert (response.status, await response.text()) == (200, "ok\n")
            async with session.get(f"http://127.0.0.1:{port}/api/agents") as response:
                assert response.status == 404  # nothing else is served here
    finally:
        await runner.cleanup()


def test_the_rollup_maintainers_marks_are_counted_processed_and_set_aside() -> None:
    metrics = ServiceMetrics()
    metrics.rollup_marks(50)
    metrics.rollup_marks(7)
    metrics.rollup_marks_set_aside(1)
    samples = _samples(metrics.exposition().decode())
    assert samples[("callcenter_rollup_marks_total", (("result", "processed"),))] == 57
    assert samples[("callcenter_rollup_marks_total", (("result", "set_aside"),))] == 1
