"""callcenter.ivr.simulator: `callcenter simulate` on the sample dialplans/, line by line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.dialplan.loader import load_dialplan
from callcenter.dialplan.model import Dialplan
from callcenter.ivr.simulator import simulate

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "dialplans"
MOSCOW = ZoneInfo("Europe/Moscow")
WEEKDAY = datetime(2027, 1, 12, 12, 0, tzinfo=MOSCOW)  # a Tuesday: both lines open
HOLIDAY = datetime(2027, 1, 3, 12, 0, tzinfo=MOSCOW)  # New Year holidays: both lines closed
NEW_YEARS_EVE = datetime(2026, 12, 31, 12, 0, tzinfo=MOSCOW)  # support open (short day), sales closed
SUPPORT = "8 800 555-35-35"
SALES = "88005553536"
NOTICE = "  plays cc/recording-notice"  # the support line's recording notice, before its menu
SUPPORT_MAIN = "menu support-main: plays cc/support-main; waits 5 s for a key of 1239"
SUPPORT_ENGLISH = "menu support-english: plays cc/support-main; waits 5 s for a key of 12*"
SALES_MAIN = "menu sales-main: plays cc/sales-main; waits 5 s for a key of 12*"


@pytest.fixture(scope="module")
def sample() -> Dialplan:
    return load_dialplan(SAMPLE_DIR)


def test_full_walk_of_a_vip_caller_through_the_english_menu_and_an_input(sample: Dialplan) -> None:
    assert simulate(sample, SUPPORT, "+7 916 777-77-77", WEEKDAY, ["9", "1", "123", "1234567"]) == [
        "call to +78005553535 (Support line, ru) from +79167777777 at 2027-01-12 12:00+03:00",
        "  VIP caller: queue priority 10",
        NOTICE,
        SUPPORT_MAIN,
        "  caller enters 9",
        SUPPORT_ENGLISH,
        "  caller enters 1",
        "menu support-english: plays cc/enter-order; waits 10 s for up to 10 digits for 'order_number'",
        "  caller enters 123",
        "  plays invalid",
        "menu support-english: plays cc/enter-order; waits 10 s for up to 10 digits for 'order_number'",
        "  caller enters 1234567",
        "  plays cc/order-noted",
        "ends: queued -> queue orders with priority 10",
        "  stored on the call: order_number = 1234567",
    ]


def test_back_from_the_english_menu_and_voicemail(sample: Dialplan) -> None:
    assert simulate(sample, "+78005553535", None, WEEKDAY, ["9", "*", "3"]) == [
        "call to +78005553535 (Support line, ru) from an unknown caller at 2027-01-12 12:00+03:00",
        NOTICE,
        SUPPORT_MAIN,
        "  caller enters 9",
        SUPPORT_ENGLISH,
        "  caller enters *",
        SUPPORT_MAIN,
        "  caller enters 3",
        "  plays cc/voicemail-intro",
        "ends: voicemail -> voicemail support",
    ]


def test_repeat_invalid_key_timeout_and_a_transfer_on_the_sales_line(sample: Dialplan) -> None:
    assert simulate(sample, SALES, "8 (916) 123-45-67", WEEKDAY, ["*", "7", "", "2"]) == [
        "call to +78005553536 (Sales line, ru) from +79161234567 at 2027-01-12 12:00+03:00",
        SALES_MAIN,
        "  caller enters *",
        SALES_MAIN,
        "  caller enters 7",
        "  plays invalid",
        SALES_MAIN,
        "  caller presses nothing",
        SALES_MAIN,
        "  caller enters 2",
        "ends: transferred -> number +74951234567",
    ]


def test_vip_by_prefix_is_queued_with_priority(sample: Dialplan) -> None:
    assert simulate(sample, SALES, "8 495 700-12-34", WEEKDAY, ["1"])[-3:] == [
        "  caller enters 1",
        "  plays cc/connecting",
        "ends: queued -> queue sales with priority 10",
    ]


def test_timeouts_until_the_retries_run_out(sample: Dialplan) -> None:
    assert simulate(sample, SALES, None, WEEKDAY, ["", "", ""]) == [
        "call to +78005553536 (Sales line, ru) from an unknown caller at 2027-01-12 12:00+03:00",
        SALES_MAIN,
        "  caller presses nothing",
        SALES_MAIN,
        "  caller presses nothing",
        SALES_MAIN,
        "  caller presses nothing",
        "  plays vm-goodbye",
        "ends: no_valid_input",
    ]


@pytest.mark.parametrize("caller", ["+7 999 000-00-00", "89001112233"])
def test_blacklisted_caller_hears_the_message_and_is_refused(sample: Dialplan, caller: str) -> None:
    lines = simulate(sample, SUPPORT, caller, WEEKDAY, ["2"])
    assert lines[1:] == ["  plays cc/blocked", "ends: refused (blacklisted)"]


def test_support_line_on_a_holiday_tells_the_caller_it_is_closed(sample: Dialplan) -> None:
    assert simulate(sample, SUPPORT, "+79161234567", HOLIDAY, ["2"]) == [
        "call to +78005553535 (Support line, ru) from +79161234567 at 2027-01-03 12:00+03:00",
        "  plays cc/closed",
        "ends: closed",
    ]


def test_whitelisted_caller_gets_through_on_a_holiday(sample: Dialplan) -> None:
    assert simulate(sample, SUPPORT, "+7 916 000-00-01", HOLIDAY, ["2"]) == [
        "call to +78005553535 (Support line, ru) from +79160000001 at 2027-01-03 12:00+03:00",
        NOTICE,
        SUPPORT_MAIN,
        "  caller enters 2",
        "  plays cc/connecting",
        "ends: queued -> queue support",
    ]


def test_sales_line_closed_on_new_years_eve_takes_a_voice_message(sample: Dialplan) -> None:
    assert simulate(sample, SALES, "+79161234567", NEW_YEARS_EVE, []) == [
        "call to +78005553536 (Sales line, ru) from +79161234567 at 2026-12-31 12:00+03:00",
        "  plays cc/voicemail-intro",
        "ends: voicemail (closed) -> voicemail sales",
    ]


def test_support_line_is_open_on_new_years_eve_short_day(sample: Dialplan) -> None:
    assert simulate(sample, SUPPORT, None, NEW_YEARS_EVE, [])[1] == NOTICE, SUPPORT_MAIN
    after_hours = NEW_YEARS_EVE.replace(hour=16)
    assert simulate(sample, SUPPORT, None, after_hours, [])[1:] == ["  plays cc/closed", "ends: closed"]


@pytest.mark.parametrize("dialled", ["84950000000", "1001", "not a number"])
def test_unknown_number_is_refused_before_answer(sample: Dialplan, dialled: str) -> None:
    assert simulate(sample, dialled, "+79161234567", WEEKDAY, ["1"]) == [
        f"{dialled}: not a number of this call center: refused before answer (SIP 404)"
    ]


def test_keys_running_out_leave_the_caller_in_the_menu(sample: Dialplan) -> None:
    assert simulate(sample, SUPPORT, None, WEEKDAY, ["1"]) == [
        "call to +78005553535 (Support line, ru) from an unknown caller at 2027-01-12 12:00+03:00",
        NOTICE,
        SUPPORT_MAIN,
        "  caller enters 1",
        "menu support-main: plays cc/enter-order; waits 10 s for up to 10 digits for 'order_number'",
        "  (no more keys given: the caller is still in the menu)",
    ]


def test_no_keys_at_all_leave_the_caller_at_the_first_menu(sample: Dialplan) -> None:
    assert simulate(sample, SUPPORT, None, WEEKDAY, [])[1:] == [
        NOTICE,
        SUPPORT_MAIN,
        "  (no more keys given: the caller is still in the menu)",
    ]


@pytest.mark.parametrize("caller", ["anonymous", "", None])
def test_caller_that_is_no_number_is_an_unknown_caller(sample: Dialplan, caller: str | None) -> None:
    first = simulate(sample, SUPPORT, caller, WEEKDAY, [])[0]
    assert first == "call to +78005553535 (Support line, ru) from an unknown caller at 2027-01-12 12:00+03:00"


def test_keys_after_the_end_are_ignored(sample: Dialplan) -> None:
    assert simulate(sample, SUPPORT, None, WEEKDAY, ["2", "1", "1"])[-1] == "ends: queued -> queue support"
