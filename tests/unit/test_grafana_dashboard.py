"""The Grafana dashboard under docker/ plots what the service exports, under the names it exports them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callcenter.acd.events import AgentState
from callcenter.records import CallStep, StepKind
from callcenter.web.metrics import LiveSources, ServiceMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "callcenter-dashboard.json"
METRIC_NAME = re.compile(r"\bcallcenter_[a-z_]+\b")
EVENT_LABEL = re.compile(r'event=~?"([a-z|]+)"')


def _exported() -> tuple[set[str], set[str]]:
    """Sample names a scrape carries, and the values of the calls counter's ``event`` label."""
    metrics = ServiceMetrics()
    metrics.add_live(
        LiveSources(
            lambda: {"support": (1, 12.0)},
            lambda: {"1001": (AgentState.AVAILABLE, "")},
            lambda: 0,
            lambda: 0.0,
            lambda: 0,
        )
    )
    at = datetime(2026, 11, 24, tzinfo=UTC)
    for kind in StepKind:
        metrics.step(CallStep("node", "1.1", at, kind, queue="support"))
    metrics.agi_command("stream file", 0.001)
    names: set[str] = set()
    events: set[str] = set()
    for family in metrics.registry.collect():
        for sample in family.samples:
            names.add(sample.name)
            if sample.name == "callcenter_calls_total":
                events.add(sample.labels["event"])
    return names, events


def _expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_metric_the_dashboard_queries_is_exported_by_the_service() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported, events = _exported()
    referenced = {name for expr in _expressions(dashboard) for name in METRIC_NAME.findall(expr)}
    assert referenced, "the dashboard queries nothing"
    assert referenced <= exported, f"not exported: {sorted(referenced - exported)}"
    used_events = {
        value for expr in _expressions(dashboard) for group in EVENT_LABEL.findall(expr) for value in group.split("|")
    }
    assert used_events <= events, f"no such event label: {sorted(used_events - events)}"


def test_the_dashboard_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        mine = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
