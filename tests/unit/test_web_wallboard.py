"""The wallboard's pure state (callcenter/web/wallboard.py): today's figures from call steps, agents' panels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from callcenter.acd.events import AgentState
from callcenter.dialplan.loader import load_dialplan
from callcenter.records import CallStep, StepKind
from callcenter.web.users import Principal, Role, visible_agents, visible_queues
from callcenter.web.wallboard import Wallboard

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
