"""The wallboard's pure state (callcenter/web/wallboard.py): today's figures from call steps, agents' panels."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callcenter.acd.events import AgentState
from callcenter.dialplan.loader import load_dialplan
from callcenter.kpi.contacts import contacts_from_steps
from callcenter.kpi.measures import Thresholds, measure
from callcenter.records import CallStep, StepKind
from callcenter.web.users import Principal, Role, visible_agents, visible_queues
from callcenter.web.wallboard import FOLD_AFTER_END, Wallboard

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"
DIALPLAN = load_dialplan(SAMPLE)
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def step(linkedid: str, seconds_after: float, kind: StepKind, **values: object) -> CallStep:
    return CallStep("n1", linkedid, T0 + timedelta(seconds=seconds_after), kind, **values)  # type: ignore[arg-type]


def feed(board: Wallboard, *steps: CallStep) -> None:
    for item in steps:
        board.step(item)


def test_todays_offered_answered_abandoned_and_service_level_per_queue() -> None:
    board = Wallboard(UTC)
    feed(
        board,
        # answered after 10 s: within T = 20
        step("a", 0, StepKind.QUEUED, queue="support"),
        step("a", 10, StepKind.CONNECTED, queue="support", agent="1001", seconds=10.0),
        # answered after 30 s: outside T
        step("b", 0, StepKind.QUEUED, queue="support"),
        step("b", 30, StepKind.CONNECTED, queue="support", agent="1002", seconds=30.0),
        # abandoned after 3 s: a short abandon, out of the SL denominator
        step("c", 0, StepKind.QUEUED, queue="support"),
        step("c", 3, StepKind.ABANDONED, queue="support", seconds=3.0),
        # abandoned after 40 s: counts against SL
        step("d", 0, StepKind.QUEUED, queue="support"),
        step("d", 40, StepKind.ABANDONED, queue="support", seconds=40.0),
        step("e", 0, StepKind.QUEUED, queue="sales"),
    )
    shown = board.board(T0 + timedelta(minutes=1), DIALPLAN, {"support": (0, 0.0), "sales": (1, 60.0)}, {})
    support = next(q for q in shown.queues if q.name == "support")
    assert (support.today.offered, support.today.answered, support.today.abandoned) == (4, 2, 2)
    assert support.today.sl_offered == 1 / 3
    sales = next(q for q in shown.queues if q.name == "sales")
    assert (sales.waiting, sales.longest_wait, sales.today.offered) == (1, 60.0, 1)


def test_a_new_day_starts_the_figures_again_and_yesterdays_calls_never_count() -> None:
    board = Wallboard(UTC)
    feed(board, step("a", 0, StepKind.QUEUED, queue="support"))
    tomorrow = T0 + timedelta(days=1)
    shown = board.board(tomorrow, DIALPLAN, {}, {})
    assert next(q for q in shown.queues if q.name == "support").today.offered == 0
    board.step(step("a", 86_400 + 5, StepKind.ABANDONED, queue="support", seconds=5.0))  # yesterday's call ends
    shown = board.board(tomorrow, DIALPLAN, {}, {})
    assert next(q for q in shown.queues if q.name == "support").today.abandoned == 0


def test_an_agents_panel_has_state_time_in_state_and_current_call() -> None:
    board = Wallboard(UTC)
    board.agent_state("1001", AgentState.AVAILABLE, "", T0)
    board.agent_state("1001", AgentState.ON_CALL, "", T0 + timedelta(seconds=30))
    board.step(step("a", 30, StepKind.CONNECTED, queue="support", agent="1001", seconds=4.0))
    states = {"1001": (AgentState.ON_CALL, "")}
    shown = board.board(T0 + timedelta(seconds=90), DIALPLAN, {}, states)
    panel = next(a for a in shown.agents if a.extension == "1001")
    assert panel.state is AgentState.ON_CALL and panel.call is not None and panel.call.queue == "support"
    assert panel.to_json(shown.at)["seconds_in_state"] == 60
    board.step(step("a", 100, StepKind.ENDED, queue="support", agent="1001", seconds=70.0))
    board.agent_state("1001", AgentState.WRAP_UP, "", T0 + timedelta(seconds=100))
    shown = board.board(T0 + timedelta(seconds=101), DIALPLAN, {}, {"1001": (AgentState.WRAP_UP, "")})
    panel = next(a for a in shown.agents if a.extension == "1001")
    assert panel.call is None and panel.to_json(shown.at)["seconds_in_state"] == 1


def test_queue_panels_count_the_queues_agents_by_state() -> None:
    board = Wallboard(UTC)
    states = {"1001": (AgentState.AVAILABLE, ""), "1002": (AgentState.PAUSED, "lunch")}
    shown = board.board(T0, DIALPLAN, {}, states)
    support = next(q for q in shown.queues if q.name == "support")  # 1001 and 1002 work support
    assert support.agents["available"] == 1 and support.agents["paused"] == 1 and support.agents["logged_out"] == 0
    sales = next(q for q in shown.queues if q.name == "sales")  # 1002 and 1003
    assert sales.agents["paused"] == 1 and sales.agents["logged_out"] == 1


def test_a_board_restricted_to_a_sales_supervisor_and_to_an_agent() -> None:
    shown = Wallboard(UTC).board(T0, DIALPLAN, {}, {})
    sales = Principal("s", Role.SUPERVISOR, "1902")
    mine = shown.restricted(visible_queues(sales, DIALPLAN), visible_agents(sales, DIALPLAN))
    assert [q.name for q in mine.queues] == ["sales"]
    assert [a.extension for a in mine.agents] == ["1002", "1003"]
    agent = Principal("a", Role.AGENT, "1003")
    own = shown.restricted(visible_queues(agent, DIALPLAN), visible_agents(agent, DIALPLAN))
    assert own.queues == () and [a.extension for a in own.agents] == ["1003"]


def test_the_current_call_comes_from_the_live_legs_while_the_steps_tell_of_it_only_at_its_end() -> None:
    board = Wallboard(UTC)
    board.agent_state("1002", AgentState.ON_CALL, "", T0)
    states = {"1002": (AgentState.ON_CALL, "")}
    shown = board.board(T0 + timedelta(seconds=5), DIALPLAN, {}, states, {"1002": ("call-7", "sales")})
    panel = next(a for a in shown.agents if a.extension == "1002")
    assert panel.call is not None and (panel.call.linkedid, panel.call.queue, panel.call.since) == (
        "call-7",
        "sales",
        T0,
    )
    # Not on a call (any more): no call shown, whatever a late lookup says.
    shown = board.board(T0, DIALPLAN, {}, {"1002": (AgentState.WRAP_UP, "")}, {"1002": ("call-7", "sales")})
    assert next(a for a in shown.agents if a.extension == "1002").call is None


# --- a busy day in flat memory --------------------------------------------------------------------------------------


def _random_call(rng: random.Random, linkedid: str, start: float) -> list[CallStep]:
    """One call's steps in a queue: answered (maybe held, maybe transferred to another queue), abandoned,
    overflowed, or still waiting."""
    queue = rng.choice(["support", "sales"])
    wait = rng.uniform(0, 90)
    steps = [step(linkedid, start, StepKind.QUEUED, queue=queue)]
    fate = rng.random()
    if fate < 0.6:
        agent = rng.choice(["1001", "1002", "1003"])
        talk = rng.uniform(10, 300)
        steps.append(step(linkedid, start + wait, StepKind.CONNECTED, queue=queue, agent=agent, seconds=wait))
        if rng.random() < 0.2:
            steps.append(step(linkedid, start + wait + 5, StepKind.HOLD, queue=queue, agent=agent, seconds=4.0))
        steps.append(step(linkedid, start + wait + talk, StepKind.ENDED, queue=queue, agent=agent, seconds=talk))
        if rng.random() < 0.1:  # handed to the other queue at once: the same call, more steps
            other = "sales" if queue == "support" else "support"
            later = start + wait + talk
            steps.append(step(linkedid, later + 1, StepKind.QUEUED, queue=other))
            steps.append(step(linkedid, later + 20, StepKind.ABANDONED, queue=other, seconds=19.0))
    elif fate < 0.85:
        steps.append(step(linkedid, start + wait, StepKind.ABANDONED, queue=queue, seconds=wait))
    elif fate < 0.95:
        steps.append(step(linkedid, start + wait, StepKind.OVERFLOWED, queue=queue, seconds=wait, result="max_wait"))
    return steps  # else: still waiting (its end never written)


@pytest.mark.parametrize("seed", range(5))
def test_a_busy_day_keeps_only_recent_calls_and_figures_equal_the_measures_of_all_of_them(seed: int) -> None:
    rng = random.Random(seed)
    calls = [_random_call(rng, f"c{n}", n * 7.0) for n in range(2_000)]  # one call every 7 s, ~3.9 h
    board = Wallboard(UTC)
    most_kept = 0
    for item in sorted((s for steps in calls for s in steps), key=lambda s: s.at):
        board.step(item)
        most_kept = max(most_kept, board.calls_kept)
    # Calls end within ~7 min and are folded 2 min after: about (7 + 2) * 60 / 7 calls at once, not 2,000;
    # the never-ended ones wait FOLD_AFTER (4 h), longer than this day's traffic.
    never_ended = sum(1 for steps in calls if steps[-1].kind is StepKind.QUEUED)
    assert most_kept < 150 + never_ended
    now = T0 + timedelta(hours=4)
    shown = board.board(now, DIALPLAN, {}, {})
    for panel in shown.queues:
        mine = [c for steps in calls for c in contacts_from_steps(steps) if c.queue == panel.name]
        want = measure(mine, Thresholds())
        for name, value in dataclasses.asdict(want).items():
            assert getattr(panel.today, name) == pytest.approx(value), (panel.name, name)


def test_a_call_is_folded_two_minutes_after_its_end_and_a_later_step_of_it_is_not_counted() -> None:
    board = Wallboard(UTC)
    feed(
        board,
        step("a", 0, StepKind.QUEUED, queue="support"),
        step("a", 10, StepKind.CONNECTED, queue="support", agent="1001", seconds=10.0),
        step("a", 70, StepKind.ENDED, queue="support", agent="1001", seconds=60.0),
        step("w", 80, StepKind.QUEUED, queue="sales"),  # waiting, no end: kept
    )
    assert board.calls_kept == 2
    board.step(step("x", 70 + FOLD_AFTER_END.total_seconds() + 31, StepKind.QUEUED, queue="sales"))
    assert board.calls_kept == 2  # "a" folded; "w" and "x" kept
    # A late step of a folded call changes nothing; its entering a queue again is a new visit, and counts.
    board.step(step("a", 300, StepKind.HOLD, queue="support", agent="1001", seconds=3.0))
    shown = board.board(T0 + timedelta(minutes=6), DIALPLAN, {}, {})
    support = next(q for q in shown.queues if q.name == "support")
    assert (support.today.offered, support.today.answered, support.today.asa_seconds) == (1, 1, 10.0)
    assert support.today.hold_seconds == 0.0
    board.step(step("a", 400, StepKind.QUEUED, queue="sales"))
    shown = board.board(T0 + timedelta(minutes=7), DIALPLAN, {}, {})
    assert next(q for q in shown.queues if q.name == "sales").today.offered == 3


def test_folded_contacts_keep_the_thresholds_of_the_moment_they_were_folded() -> None:
    limits = {"support": Thresholds(service_seconds=5.0, short_abandon_seconds=1.0)}
    board = Wallboard(UTC, lambda queue: limits.get(queue, Thresholds()))
    feed(
        board,
        step("a", 0, StepKind.QUEUED, queue="support"),
        step("a", 10, StepKind.CONNECTED, queue="support", agent="1001", seconds=10.0),
        step("a", 70, StepKind.ENDED, queue="support", agent="1001", seconds=60.0),
        step("b", 500, StepKind.QUEUED, queue="sales"),  # later than the fold delay: "a" goes into sums
    )
    assert board.calls_kept == 1
    shown = board.board(T0 + timedelta(minutes=9), DIALPLAN, {}, {})  # the dialplan says T = 20 s
    support = next(q for q in shown.queues if q.name == "support")
    assert support.today.answered == 1 and support.today.answered_within_target == 0  # 10 s > 5 s when folded
