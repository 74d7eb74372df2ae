"""A carrier call into the sample 8-800 line, end to end: SIPp -> Asterisk -> FastAGI -> PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, run_sipp

pytestmark = pytest.mark.e2e

_callers = random.Random()


def new_caller() -> str:
    """A caller ID no earlier run used, so a test finds its own record."""
    return "7916" + "".join(_callers.choice("0123456789") for _ in range(7))


@pytest.mark.parametrize("dialled", ["88005553535", "78005553535", "+78005553535"])
def test_each_form_of_the_toll_free_number_reaches_the_ivr_and_the_key_is_recorded(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path, dialled: str
) -> None:
    caller = new_caller()
    result = run_sipp("carrier_call.xml", target, dialled, caller, sipp_dir, CallScript(keys=((1500, "2"),)))
    assert result.ok, result.output

    record = wait_for_record(caller)
    assert record["dialled_raw"] == dialled
    assert record["dialled_number"] == "+78005553535"
    assert record["digits"] == "2"
    assert record["ivr_path"] == [{"menu": "support-main", "key": "2"}]
    # The support queue has nobody logged in: its overflow rule sends the caller to voicemail.
    assert (record["queue"], record["outcome"], record["outcome_reason"]) == (
        "support",
        "voicemail",
        "overflow_no_agents",
    )
    assert record["destination"] == "voicemail:support"
    assert record["language"] == "ru"
    assert record["answered_at"] is not None
    assert record["started_at"] <= record["answered_at"] <= record["ended_at"]
    assert record["linkedid"] and record["node"]


def test_unknown_number_is_refused_with_404_and_leaves_a_record(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    result = run_sipp("carrier_unknown_number.xml", target, "88001112233", caller, sipp_dir)
    assert result.ok, result.output  # the scenario accepts a 404 and nothing else

    record = wait_for_record(caller)
    assert record["dialled_number"] == "+78001112233"
    assert record["outcome"] == "refused"
    assert record["outcome_reason"] == "unknown_number"
    assert record["answered_at"] is None
    assert record["digits"] == ""


def test_invalid_key_is_explained_and_the_menu_asks_again(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    # 5 is not an option: "invalid", the greeting again (pressed into, with barge-in), then 2.
    script = CallScript(keys=((1500, "5"), (2500, "2")))
    result = run_sipp("carrier_call.xml", target, "+78005553535", caller, sipp_dir, script)
    assert result.ok, result.output

    record = wait_for_record(caller)
    assert record["ivr_path"] == [{"menu": "support-main", "key": "5"}, {"menu": "support-main", "key": "2"}]
    assert record["queue"] == "support"


def test_caller_hanging_up_in_the_menu_is_recorded_as_abandoned(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    result = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(hang_up_after_ms=1500))
    assert result.ok, result.output

    record = wait_for_record(caller)
    assert record["outcome"] == "abandoned"
    assert record["digits"] == ""
    assert record["answered_at"] is not None
