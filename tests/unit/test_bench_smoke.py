"""bench.acd_bench: the quick run works, and its naive baseline decides exactly as the ACD core does.

The benchmark's ratios are only honest if the naive router is the same router done by full scans, so the
same generated workload goes through both and every command they return must match.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# bench/ is not part of the installed package: import it from the checkout.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench import acd_bench  # noqa: E402
from bench.acd_bench import QUICK, Params, make_scenario, no_backlog, run  # noqa: E402

pytestmark = pytest.mark.timeout(60)

EVENTS = 2000  # phase 2 events per run: a fraction of a second each


def test_quick_benchmark_runs_and_reports_the_same_decisions(capsys: pytest.CaptureFixture[str]) -> None:
    assert acd_bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if "same decisions over" in line]
    assert len(verdicts) == 4  # two strategies, with and without a backlog
    assert all(line.endswith(": yes") for line in verdicts), verdicts
    assert "p99 per decision" in out
    assert "memory per waiting contact" in out


@pytest.mark.parametrize("params", [QUICK, no_backlog(QUICK)], ids=["backlog", "no_backlog"])
@pytest.mark.parametrize("strategy", ["longest_idle", "round_robin"])
def test_naive_router_makes_the_core_s_decisions(params: Params, strategy: str) -> None:
    scenario = make_scenario(params, strategy)
    core = run(scenario, "core", EVENTS, 20.0, record_commands=True)
    naive = run(scenario, "naive", EVENTS, 20.0, record_commands=True)
    assert len(core.phase2.latency_ns) == len(naive.phase2.latency_ns) == EVENTS
    core_offers = [offer for _, offer in core.offers]
    naive_offers = [offer for _, offer in naive.offers]
    assert len(core_offers) > 300
    assert naive_offers == core_offers
    assert naive.commands == core.commands  # state changes, cancels and overflows too, in the same order
    assert core.counts["phase1_offers"] == 0  # phase 1 really has nobody available


def test_the_workload_goes_through_every_benchmarked_path() -> None:
    core = run(make_scenario(QUICK), "core", EVENTS, 20.0)
    assert set(core.phase2.kinds) >= {
        "ContactArrived",
        "ContactAbandoned",
        "OfferAnswered",
        "OfferFailed",
        "ContactEnded",
        "TimerFired",
        "AgentPaused",
        "AgentUnpaused",
    }
    assert core.counts["failed"] > 0 and core.counts["abandoned"] > 0


def test_the_workload_is_deterministic() -> None:
    first = run(make_scenario(QUICK), "core", EVENTS, 20.0)
    second = run(make_scenario(QUICK), "core", EVENTS, 20.0)
    assert first.offers == second.offers


def test_without_a_backlog_the_strategy_chooses() -> None:
    # With contacts waiting, one agent is free at a time and the strategy never decides; without, it does,
    # so the equality test above covers the strategies' keys.
    params = no_backlog(QUICK)
    idle = run(make_scenario(params, "longest_idle"), "core", EVENTS, 20.0)
    robin = run(make_scenario(params, "round_robin"), "core", EVENTS, 20.0)
    assert [offer for _, offer in idle.offers] != [offer for _, offer in robin.offers]
