"""bench/load's pure parts: the rate search, the figures read from SIPp and /metrics, the generated config.

The harness runs against the real stack (tests/e2e/test_load_smoke.py); what it decides and computes from
what it measured is checked here, synchronously.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pytest

# bench/ is not part of the installed package: import it from the checkout.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from bench.load.figures import (  # noqa: E402
    Histogram,
    agi_histograms,
    media_bound,
    memory_growth,
    merged,
    parse_sipp_stats,
)
from bench.load.plan import FULL, QUICK, SMOKE, CallTimings, RateSearch, StepResult, agents_needed  # noqa: E402
from bench.load.scenarios import agent_csv, caller_scenario  # noqa: E402
from bench.load.setup import (  # noqa: E402
    BASELINE_FILES,
    BASELINE_NUMBER,
    FULL_PATH_NUMBER,
    agent_extensions,
    agents_yaml,
    always_open_hours,
    baseline_files,
    load_queues_yaml,
)
from callcenter.dialplan.loader import load_dialplan  # noqa: E402


def _run(search: RateSearch, capacity: float) -> list[float]:
    """Drive the search against a machine that carries up to ``capacity`` calls/s."""
    rates = []
    while (rate := search.next_rate()) is not None:
        rates.append(rate)
        completed = 100 if rate <= capacity else 90
        search.record(StepResult(rate, 100, completed, 10))
    return rates


def test_search_doubles_until_a_failure_then_bisects_to_the_resolution() -> None:
    search = RateSearch(start=5, cap=1000, limit=0.01, resolution=0.1, max_steps=20)
    rates = _run(search, capacity=47)
    assert rates[:5] == [5, 10, 20, 40, 80]
    assert rates[5:] == [60, 50, 45, 47.5]
    assert search.best is not None and search.best.rate == 45
    assert not search.capped


def test_search_stops_at_the_cap_and_says_the_agents_were_the_limit() -> None:
    search = RateSearch(start=5, cap=30, limit=0.01, resolution=0.1, max_steps=20)
    assert _run(search, capacity=1000) == [5, 10, 20, 30]
    assert search.capped and search.best is not None and search.best.rate == 30


def test_search_ends_when_the_first_rate_fails_or_the_steps_run_out() -> None:
    failing = RateSearch(start=5, cap=100, limit=0.01, resolution=0.1, max_steps=20)
    assert _run(failing, capacity=1) == [5]
    assert failing.best is None
    short = RateSearch(start=5, cap=1000, limit=0.01, resolution=0.1, max_steps=3)
    assert _run(short, capacity=1000) == [5, 10, 20]


@pytest.mark.parametrize("capacity", [47, 113, 142, 149])
def test_the_full_search_finds_a_rate_within_5_percent_of_the_capacity_in_its_steps(capacity: float) -> None:
    # The ratio's target is 0.8: a 10 % search could report 110 against 140 (0.79) for 119 against 149.
    search = RateSearch(FULL.start_rate, 1000, FULL.failure_limit, FULL.resolution, FULL.max_steps)
    rates = _run(search, capacity=capacity)
    assert len(rates) <= FULL.max_steps
    assert search.best is not None and capacity / 1.05 <= search.best.rate <= capacity


def test_one_failed_call_in_a_hundred_is_a_failed_step() -> None:
    assert StepResult(10, 100, 100, 5).passed(0.01)
    assert not StepResult(10, 100, 99, 5).passed(0.01)
    assert not StepResult(10, 0, 0, 0).passed(0.01)


def test_full_mode_is_what_issue_7_asks_for() -> None:
    assert FULL.hold_calls == 200 and FULL.hold_s == 600
    assert FULL.failure_limit == 0.01
    # enough agents for the hold and for the search's cap, so the agents are not what limits a rate
    call_s = (FULL.hold.key_ms + FULL.hold.ring_ms + FULL.hold.talk_ms) / 1000 + 2
    assert agents_needed(FULL.hold_calls / call_s, FULL.hold, FULL.wrap_up_s) < FULL.agents * 0.8
    assert agents_needed(150, FULL.search, FULL.wrap_up_s) < FULL.agents * 0.8  # GUIDE 3c: ~100 calls/s IVR only
    assert QUICK.hold_s + QUICK.max_steps * 2 * QUICK.step_s < 120
    assert SMOKE.start_rate * SMOKE.step_s * SMOKE.max_steps < 10


STATS = """\
StartTime;LastResetTime;CurrentTime;TotalCallCreated;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);
a;b;c;10;10;0;0;0;0;
a;b;c;30;12;5;18;0;0;
a;b;c;30;0;3;29;0;1;
"""


def test_sipp_stats_are_the_last_line_and_the_peak_of_calls_at_once() -> None:
    stats = parse_sipp_stats(STATS)
    assert (stats.created, stats.current, stats.successful, stats.failed, stats.max_current) == (30, 0, 29, 1, 12)
    assert stats.ended == 30
    with pytest.raises(ValueError):
        parse_sipp_stats(STATS.splitlines()[0])


METRICS = """\
# HELP callcenter_agi_command_seconds FastAGI command round trips
# TYPE callcenter_agi_command_seconds histogram
callcenter_agi_command_seconds_bucket{command="SET",le="0.0005"} 80.0
callcenter_agi_command_seconds_bucket{command="SET",le="0.001"} 98.0
callcenter_agi_command_seconds_bucket{command="SET",le="0.002"} 100.0
callcenter_agi_command_seconds_bucket{command="SET",le="+Inf"} 100.0
callcenter_agi_command_seconds_count{command="SET"} 100.0
callcenter_agi_command_seconds_bucket{command="EXEC",le="0.0005"} 0.0
callcenter_agi_command_seconds_bucket{command="EXEC",le="0.001"} 0.0
callcenter_agi_command_seconds_bucket{command="EXEC",le="0.002"} 0.0
callcenter_agi_command_seconds_bucket{command="EXEC",le="+Inf"} 7.0
callcenter_calls_total{event="offered",queue="sales"} 3.0
"""


def test_agi_quantiles_from_the_histogram_interpolate_within_a_bucket() -> None:
    histograms = agi_histograms(METRICS)
    assert set(histograms) == {"SET", "EXEC"}
    set_ = histograms["SET"]
    assert set_.count == 100
    assert set_.estimate(0.5) == pytest.approx(0.0005 * 50 / 80)
    assert set_.estimate(0.99) == pytest.approx(0.001 + 0.001 * (99 - 98) / 2)
    assert set_.bucket_bound(0.99) == 0.002
    assert set_.bucket_bound(0.98) == 0.001
    assert set_.share_within(0.002) == 1.0
    assert set_.share_within(0.0005) == 0.8
    # beyond the last finite bound the estimate is that bound: all a histogram can say
    assert histograms["EXEC"].estimate(0.5) == 0.002
    assert math.isinf(histograms["EXEC"].bucket_bound(0.5))


def test_the_hold_s_latency_is_the_difference_of_two_scrapes() -> None:
    earlier = Histogram((0.001, math.inf), (10.0, 10.0))
    later = Histogram((0.001, math.inf), (10.0, 15.0))
    during = later.minus(earlier)
    assert during.cumulative == (0.0, 5.0)
    assert during.share_within(0.001) == 0.0
    both = merged([earlier, during])
    assert both is not None and both.cumulative == (10.0, 15.0)
    with pytest.raises(ValueError):
        later.minus(Histogram((0.002, math.inf), (0.0, 0.0)))


def test_memory_start_and_end_are_medians_so_one_spike_does_not_decide() -> None:
    samples = [100.0, 300.0, 101.0, 102.0, 100.0, 101.0, 100.0, 400.0, 103.0, 102.0]
    assert memory_growth(samples, 0.3) == (101.0, 103.0)  # three samples at each edge
    assert memory_growth([100.0]) == (100.0, 100.0)
    with pytest.raises(ValueError):
        memory_growth([])


def test_caller_numbers_of_a_phase_share_its_prefix_and_the_key_is_pressed_after_the_answer() -> None:
    text = caller_scenario("79771234", CallTimings(key_ms=1500, ring_ms=500, talk_ms=3000), 64000)
    assert "<sip:79771234[call_number]@" in text
    answer = text.index('<recv response="200"')
    key = text.index('<pause milliseconds="1500"/>')
    assert answer < key < text.index("play_pcap_audio") < text.index('<recv request="BYE" timeout="64000"/>')


def test_agent_passwords_go_to_sipp_as_a_whole_authentication_keyword() -> None:
    assert agent_csv({"2000": "Xq3-abcdEFGH12"}).splitlines() == [
        "SEQUENTIAL",
        "2000;[authentication username=2000 password=Xq3-abcdEFGH12]",
    ]
    with pytest.raises(ValueError):
        agent_csv({"2000": "has;semicolon1A"})


def test_the_load_dialplan_validates_with_every_agent_in_the_load_queue(tmp_path: Path) -> None:
    source = _ROOT / "dialplans"
    for path in source.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "hours.yaml").write_text(always_open_hours((source / "hours.yaml").read_text()))
    queues = tmp_path / "queues.yaml"
    queues.write_text(load_queues_yaml(queues.read_text(), 1))
    extensions = agent_extensions(25)
    (tmp_path / "agents.yaml").write_text(agents_yaml(extensions))
    dialplan = load_dialplan(tmp_path)
    assert [agent.extension for agent in dialplan.agents] == extensions
    assert dialplan.queues["sales"].wrap_up == 1
    assert all(agent.password is None for agent in dialplan.agents)  # generated strong ones, in secrets.json
    assert "88005553536" in re.sub(r"\D", "", (source / "lines.yaml").read_text())
    assert FULL_PATH_NUMBER == "88005553536"


def test_the_baseline_is_reachable_only_by_its_number_and_queues_every_agent() -> None:
    files = baseline_files(["2000", "2001"], wrap_up_s=1)
    assert tuple(files) == BASELINE_FILES
    extensions, queues, modules = files.values()
    assert f"exten => {BASELINE_NUMBER},1,Goto(cc-load-baseline,s,1)" in extensions
    assert "AGI(" not in extensions  # plain dialplan: the service is not involved
    assert "Background(/srv/callcenter/sounds/ru/cc/sales-main)" in extensions
    assert "Queue(cc-load-baseline" in extensions
    assert re.findall(r"^member => (.*)$", queues, re.MULTILINE) == ["PJSIP/2000", "PJSIP/2001"]
    assert "wrapuptime = 1" in queues
    assert modules.strip().endswith("load => app_queue.so")


def test_asterisk_includes_the_baseline_only_when_generated() -> None:
    asterisk = _ROOT / "asterisk"
    for config, name in zip(("extensions.conf", "queues.conf", "modules.conf"), BASELINE_FILES, strict=True):
        text = (asterisk / config).read_text()
        assert f"#tryinclude /srv/callcenter/run/generated/{name}" in text, config
    assert "app_queue" not in re.sub(r";.*", "", (asterisk / "modules.conf").read_text())


def test_only_commands_the_service_answers_by_itself_count_for_the_agi_latency() -> None:
    control = ["SET VARIABLE", "GET VARIABLE", "GET FULL", "HANGUP", "VERBOSE", "CHANNEL STATUS"]
    media = ["ANSWER", "STREAM FILE", "GET DATA", "WAIT FOR", "EXEC Dial", "EXEC MusicOnHold", "SAY DIGITS"]
    assert [label for label in control + media if not media_bound(label)] == control
