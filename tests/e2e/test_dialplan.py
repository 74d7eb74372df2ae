"""The sample dialplan over real Asterisk: nested menus, inputs, languages, lists, hours, reload."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.config import Settings
from tests.e2e.conftest import ALWAYS_OPEN_HOURS, CALLCENTER, REPO, ServiceProcess, service_env, wait_for_record
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

SUPPORT = "88005553535"
SALES = "88005553536"


def call(target: tuple[str, int], number: str, caller: str, work_dir: Path, script: CallScript) -> None:
    result = run_sipp("carrier_call.xml", target, number, caller, work_dir, script)
    assert result.ok, result.output


def reload(expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CALLCENTER, "reload"], env=service_env(), cwd=REPO, capture_output=True, text=True, timeout=30, check=False
    )
    assert (done.returncode == 0) == expect_ok, done.stdout + done.stderr
    return done


@pytest.fixture
def hours_file(settings: Settings, service: ServiceProcess) -> Iterator[Path]:
    """The test copy's hours.yaml; whatever a test writes there, the always-open hours come back after."""
    path = settings.dialplan_dir / "hours.yaml"
    yield path
    path.write_text(ALWAYS_OPEN_HOURS)
    reload()


def test_an_order_number_typed_in_a_submenu_is_stored_and_the_call_goes_to_its_queue(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    keys = ((1500, "1"), (1500, "1"), *((300, digit) for digit in "23456"), (300, "#"))
    call(target, SUPPORT, caller, sipp_dir, CallScript(keys=keys))
    record = wait_for_record(caller)
    assert record["inputs"] == {"order_number": "123456"}
    assert record["ivr_path"] == [
        {"menu": "support-main", "key": "1"},
        {"menu": "support-main", "key": "123456"},
    ]
    # Nobody is logged in: orders overflows to support, which overflows to its voicemail.
    assert (record["outcome"], record["outcome_reason"]) == (
        "voicemail",
        "overflow_no_agents",
    )
    assert (record["queue"], record["destination"]) == ("support", "voicemail:support")


def test_the_english_branch_speaks_english_and_star_goes_back_to_the_russian_menu(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    call(target, SUPPORT, caller, sipp_dir, CallScript(keys=((1500, "9"), (1500, "*"), (1500, "2"))))
    record = wait_for_record(caller)
    assert [step["menu"] for step in record["ivr_path"]] == ["support-main", "support-english", "support-main"]
    assert record["language"] == "ru"
    assert record["queue"] == "support"


def test_english_callers_who_stay_in_english_are_recorded_in_english(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    call(target, SUPPORT, caller, sipp_dir, CallScript(keys=((1500, "9"), (1500, "2"))))
    record = wait_for_record(caller)
    assert (record["language"], record["queue"]) == ("en", "support")


def test_a_blacklisted_caller_hears_the_refusal_and_is_not_served(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    started = datetime.now(UTC).isoformat()
    call(target, SUPPORT, "+79001112233", sipp_dir, CallScript())  # +7900111* is blacklisted
    record = wait_for_record("+79001112233", since=started)
    assert (record["outcome"], record["outcome_reason"]) == ("refused", "blacklisted")
    assert record["ivr_path"] == []


def test_voicemail_option_hands_the_call_to_the_mailbox(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    call(target, SUPPORT, caller, sipp_dir, CallScript(keys=((1500, "3"),), hang_up_after_ms=5000))
    record = wait_for_record(caller)
    assert (record["outcome"], record["destination"]) == ("voicemail", "voicemail:support")


def test_transfer_option_sends_the_call_to_the_number_through_the_carrier(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    carrier_dir = sipp_dir / "carrier"
    carrier_dir.mkdir()
    with ThreadPoolExecutor(1) as pool:
        # The carrier's far side: SIPp on the trunk address, port 5060, answering the transfer with 486.
        far_side = pool.submit(
            run_sipp,
            "carrier_uas_busy.xml",
            target,
            "uas",
            "far-side",
            carrier_dir,
            None,
            "127.0.0.2",
            30,
            ("-p", "5060"),
        )
        call(target, SALES, caller, sipp_dir, CallScript(keys=((1500, "2"),)))
        transfer = far_side.result(timeout=40)
    assert transfer.ok, transfer.output
    assert "INVITE sip:+74951234567@127.0.0.2:5060" in transfer.messages
    record = wait_for_record(caller)
    assert (record["outcome"], record["destination"]) == ("transferred", "number:+74951234567")


def test_on_a_holiday_the_line_plays_closed_and_records_it(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path, hours_file: Path
) -> None:
    today = datetime.now(ZoneInfo("Europe/Moscow")).date().isoformat()
    hours_file.write_text(
        ALWAYS_OPEN_HOURS.replace(
            '  support:\n    weekly: {daily: "00:00-24:00"}\n',
            f'  support:\n    weekly: {{daily: "00:00-24:00"}}\n    holidays: ["{today}"]\n',
        )
    )
    reload()  # the service may have seen the change already by itself: either way it is live now
    caller = new_caller()
    call(target, SUPPORT, caller, sipp_dir, CallScript())
    record = wait_for_record(caller)
    assert (record["outcome"], record["outcome_reason"]) == ("closed", "closed")


def test_out_of_hours_the_sales_line_takes_a_voicemail(
    service: ServiceProcess, target: tuple[str, int], sipp_dir: Path, hours_file: Path
) -> None:
    hours_file.write_text(
        ALWAYS_OPEN_HOURS.replace('  sales:\n    weekly: {daily: "00:00-24:00"}\n', "  sales:\n    weekly: {}\n")
    )
    reload()
    caller = new_caller()
    call(target, SALES, caller, sipp_dir, CallScript(hang_up_after_ms=5000))
    record = wait_for_record(caller)
    assert (record["outcome"], record["outcome_reason"], record["destination"]) == (
        "voicemail",
        "closed",
        "voicemail:sales",
    )


def test_an_invalid_dialplan_is_refused_with_its_line_and_the_old_one_keeps_serving(
    service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    broken = settings.dialplan_dir / "zz-broken.yaml"
    broken.write_text("menus:\n  extra:\n    greeting: [cc/connecting]\n    optoins: {}\n")
    try:
        done = reload(expect_ok=False)
        assert f"{broken}:4:5: menus.extra.optoins: unknown key 'optoins'" in done.stderr
        assert "unchanged" in done.stderr
        caller = new_caller()
        call(target, SUPPORT, caller, sipp_dir, CallScript(keys=((1500, "2"),)))
        assert wait_for_record(caller)["queue"] == "support"
    finally:
        broken.unlink()
        reload()


def test_a_reload_during_a_call_leaves_that_call_on_its_version_and_new_calls_get_the_new_one(
    service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    lines = settings.dialplan_dir / "lines.yaml"
    original = lines.read_text()
    changed = original.replace(
        '"2": {action: queue, queue: support, prompts: [cc/connecting]}',
        '"2": {action: queue, queue: sales, prompts: [cc/connecting]}',
    )
    assert changed != original
    first, second = new_caller(), new_caller()
    try:
        with ThreadPoolExecutor(1) as pool:
            mark = service.mark()
            # The first caller listens to the menu for 6 s before pressing 2; the reload happens meanwhile.
            in_progress = pool.submit(call, target, SUPPORT, first, sipp_dir, CallScript(keys=((6000, "2"),)))
            service.wait_for(rf"from \+{first}", start=mark)
            lines.write_text(changed)
            reload()
            in_progress.result(timeout=60)
        call(target, SUPPORT, second, sipp_dir, CallScript(keys=((1500, "2"),)))
    finally:
        lines.write_text(original)
        reload()
    assert wait_for_record(first)["queue"] == "support"
    assert wait_for_record(second)["queue"] == "sales"


def test_an_agent_added_to_the_dialplan_can_register_after_a_reload(
    service: ServiceProcess, settings: Settings, sipp_dir: Path
) -> None:
    agents = settings.dialplan_dir / "agents.yaml"
    original = agents.read_text()
    new_agent = '  - extension: "1004"\n    name: Dmitry Orlov\n    queues: [support]\n    skills: {support: 1}\n'
    try:
        mark = service.mark()
        agents.write_text(original.replace("\nsupervisors:", new_agent + "\nsupervisors:"))
        reload()
        service.wait_for(r"Asterisk config updated", start=mark, timeout=20)
        password = json.loads((settings.run_dir / "secrets.json").read_text())["phone_passwords"]["1004"]
        result = run_sipp(
            "phone_register.xml",
            (settings.sip_host, settings.sip_port),
            "register",
            "1004",
            sipp_dir,
            local_ip="127.0.0.3",
            timeout_s=15,
            extra=("-key", "user", "1004", "-au", "1004", "-ap", password),
        )
        assert result.ok, result.output
    finally:
        agents.write_text(original)
        reload()


QUICK_LINE = """\
numbers:
  "+78005550000":
    name: Quick test line
    menu: quick
menus:
  quick:
    greeting: [silence/1]
    timeout: 1
    retries: 2
    no_input: [vm-goodbye]
    options:
      "1": {action: hangup}
"""


def test_a_caller_who_presses_nothing_hears_the_menu_retries_times_then_goodbye(
    service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    extra = settings.dialplan_dir / "zz-quick.yaml"
    extra.write_text(QUICK_LINE)  # a line of its own in a file of its own: the set is merged
    try:
        reload()
        caller = new_caller()
        call(target, "+78005550000", caller, sipp_dir, CallScript())
        record = wait_for_record(caller)
        assert record["ivr_path"] == [{"menu": "quick", "key": None}, {"menu": "quick", "key": None}]
        assert record["outcome"] == "no_valid_input"
    finally:
        extra.unlink()
        reload()
