"""Which calls are recorded and where their files go: the pure policy (callcenter/recordings/policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath

import pytest
from pydantic import ValidationError

from callcenter.dialplan.model import Dialplan, RecordingPolicy
from callcenter.recordings.policy import expires_at, plan_for, policy_for, sampled, storage_path

LINE = "+78005553535"


def _dialplan(queue_policy: dict[str, object] | None, line_policy: dict[str, object] | None) -> Dialplan:
    queue: dict[str, object] = {"name": "Support"}
    if queue_policy is not None:
        queue["recording"] = queue_policy
    number: dict[str, object] = {"name": "Support line", "menu": "main"}
    if line_policy is not None:
        number["recording"] = line_policy
    return Dialplan.checked(
        {
            "numbers": {LINE: number},
            "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "queue", "queue": "support"}}}},
            "queues": {"support": queue},
        }
    )


def test_the_queue_policy_wins_over_the_number_policy() -> None:
    dialplan = _dialplan({"mode": "never"}, {"mode": "always"})
    policy = policy_for(dialplan, "support", LINE)
    assert policy is not None and policy.mode == "never"


def test_a_queue_without_a_policy_takes_the_number_policy() -> None:
    dialplan = _dialplan(None, {"mode": "always", "retention_days": 7})
    assert plan_for(policy_for(dialplan, "support", LINE), "1.1").record == "always"
    assert plan_for(policy_for(dialplan, "support", LINE), "1.1").retention_days == 7


def test_no_policy_anywhere_means_not_recorded_and_not_on_demand() -> None:
    plan = plan_for(policy_for(_dialplan(None, None), "support", LINE), "1.1")
    assert plan.record is None and not plan.on_demand and not plan.may_record


def test_an_unknown_line_or_queue_falls_back_to_no_policy() -> None:
    assert policy_for(_dialplan(None, {"mode": "always"}), "support", "+70000000000") is None
    assert policy_for(_dialplan({"mode": "always"}, None), "elsewhere", None) is None


def test_on_demand_is_not_recorded_at_the_answer_but_may_be() -> None:
    plan = plan_for(RecordingPolicy(mode="on_demand", retention_days=365), "1.1")
    assert plan.record is None and plan.on_demand and plan.may_record and plan.retention_days == 365


def test_sampling_picks_about_the_percentage_and_the_same_call_every_time() -> None:
    policy = RecordingPolicy(mode="sampled", percent=20)
    calls = [f"1732400000.{n}" for n in range(5000)]
    chosen = [linkedid for linkedid in calls if plan_for(policy, linkedid).record == "sampled"]
    assert 0.17 < len(chosen) / len(calls) < 0.23
    assert all(sampled(linkedid, 20) for linkedid in chosen)  # stable: a transfer or a requeue decides alike
    assert set(chosen) <= {linkedid for linkedid in calls if sampled(linkedid, 50)}  # nested: 20 % within 50 %


def test_percent_goes_with_sampled_only() -> None:
    with pytest.raises(ValidationError, match="percent"):
        RecordingPolicy(mode="sampled")
    with pytest.raises(ValidationError, match="percent"):
        RecordingPolicy(mode="always", percent=10)
    with pytest.raises(ValidationError):
        RecordingPolicy(mode="sampled", percent=100)


def test_files_are_kept_by_utc_day_and_expire_after_the_retention() -> None:
    started = datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)
    assert storage_path(started, "1732.5-1", "flac") == PurePosixPath("2026/11/24/1732.5-1.flac")
    assert expires_at(started, 30) == datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)


def test_a_supervisor_may_monitor_only_agents_of_their_queues() -> None:
    dialplan = Dialplan.checked(
        {
            "numbers": {LINE: {"name": "Line", "menu": "main"}},
            "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "queue", "queue": "a"}}}},
            "queues": {"a": {"name": "A"}, "b": {"name": "B"}},
            "agents": [{"extension": "1001", "name": "Ann", "queues": ["a"]}],
            "supervisors": [
                {"extension": "1901", "name": "Boss A", "queues": ["a", "b"]},
                {"extension": "1902", "name": "Boss B", "queues": ["b"]},
            ],
        }
    )
    assert dialplan.may_monitor("1901", "1001")
    assert not dialplan.may_monitor("1902", "1001")
    assert not dialplan.may_monitor("1001", "1001")  # an agent is not a supervisor
    assert not dialplan.may_monitor("1901", "1999")  # nobody there
