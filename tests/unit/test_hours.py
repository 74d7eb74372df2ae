"""callcenter.dialplan.hours: business-hours schedules, their validation, is_open and next_change."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from callcenter.dialplan.hours import DAY_NAMES, NEXT_CHANGE_HORIZON, DateRange, Schedule, TimeRange

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")

# A week with no holidays in it: 2026-06-08 is a Monday.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 6, 8) + timedelta(days=n) for n in range(7))

EXAMPLE_YAML = """\
hours:
  support:
    timezone: Europe/Moscow
    weekly:
      mon-fri: "09:00-21:00"
      sat: ["10:00-14:00", "15:00-18:00"]
      sun: closed
    holidays:
      - 2027-01-01..2027-01-08
      - 2027-02-23
    special:
      2026-12-31: "09:00-15:00"
      2027-03-07: closed
  always:
    weekly: {mon-sun: "00:00-24:00"}
"""


def schedule(**fields: Any) -> Schedule:
    return Schedule.model_validate(fields)


def at(day: date, clock: str, zone: ZoneInfo = MOSCOW) -> datetime:
    """An aware instant: ``clock`` ("HH:MM" or "HH:MM:SS") on ``day`` in ``zone``."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=zone)


def rejection(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(data)
    return str(caught.value)


# --- Accepting the admin's YAML ---------------------------------------------------------------------------------


def test_the_documented_example_is_accepted_as_yaml_loads_it() -> None:
    hours = TypeAdapter(dict[str, Schedule]).validate_python(yaml.safe_load(EXAMPLE_YAML)["hours"])
    support = hours["support"]
    assert support.hours_on(MON) == (TimeRange(start=9 * 60, end=21 * 60),)
    assert [str(r) for r in support.hours_on(SAT)] == ["10:00-14:00", "15:00-18:00"]
    assert support.hours_on(SUN) == ()
    assert support.holidays == (
        DateRange(first=date(2027, 1, 1), last=date(2027, 1, 8)),
        DateRange(first=date(2027, 2, 23), last=date(2027, 2, 23)),
    )
    assert [str(r) for r in support.hours_on(date(2026, 12, 31))] == ["09:00-15:00"]
    assert support.hours_on(date(2027, 3, 7)) == ()
    assert hours["always"].timezone == "Europe/Moscow"
    assert all(hours["always"].hours_on(MON + timedelta(days=n)) == (TimeRange(start=0, end=1440),) for n in range(7))


def test_dates_written_as_text_mean_the_same_as_yaml_dates() -> None:
    # The dialplan loader keeps mapping keys as the text written, so special days arrive as strings.
    as_text = schedule(holidays=["2027-02-23", "2027-01-01..2027-01-08"], special={"2026-12-31": "09:00-15:00"})
    as_dates = schedule(
        holidays=[date(2027, 2, 23), "2027-01-01..2027-01-08"], special={date(2026, 12, 31): "09:00-15:00"}
    )
    assert as_text == as_dates


def test_timezone_defaults_to_moscow() -> None:
    assert schedule().timezone == "Europe/Moscow"
    assert schedule().zone == MOSCOW


def test_a_schedule_survives_a_dump_and_reload() -> None:
    hours = TypeAdapter(dict[str, Schedule]).validate_python(yaml.safe_load(EXAMPLE_YAML)["hours"])
    for original in hours.values():
        dumped = original.model_dump(mode="json")
        assert Schedule.model_validate(dumped) == original
        assert Schedule.model_validate_json(original.model_dump_json()) == original
    assert hours["support"].model_dump(mode="json")["holidays"] == ["2027-01-01..2027-01-08", "2027-02-23"]


def test_a_schedule_is_immutable() -> None:
    with pytest.raises(ValidationError):
        schedule().timezone = "UTC"


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon", {"mon"}),
        ("mon-fri", {"mon", "tue", "wed", "thu", "fri"}),
        ("fri-mon", {"fri", "sat", "sun", "mon"}),
        ("sun-mon", {"sun", "mon"}),
        ("mon-mon", {"mon"}),
        ("sun-sat", set(DAY_NAMES)),
        ("mon,wed,fri", {"mon", "wed", "fri"}),
        ("mon-tue,thu,sat-sun", {"mon", "tue", "thu", "sat", "sun"}),
        ("daily", set(DAY_NAMES)),
        ("mon-sun", set(DAY_NAMES)),
        ("Mon-Fri", {"mon", "tue", "wed", "thu", "fri"}),
        (" mon - wed , fri ", {"mon", "tue", "wed", "fri"}),
    ],
)
def test_day_specs_cover_their_weekdays(spec: str, days: set[str]) -> None:
    hours = schedule(weekly={spec: "09:00-10:00"})
    open_days = {DAY_NAMES[day.weekday()] for day in (MON, TUE, WED, THU, FRI, SAT, SUN) if hours.hours_on(day)}
    assert open_days == days


@pytest.mark.parametrize(
    ("written", "start", "end", "overnight"),
    [
        ("09:00-21:00", 540, 1260, False),
        ("00:00-24:00", 0, 1440, False),
        ("18:00-24:00", 1080, 1440, False),
        ("22:00-00:00", 1320, 1440, False),
        ("22:00-02:00", 1320, 120, True),
        ("23:59-00:01", 1439, 1, True),
        ("9:30-18:00", 570, 1080, False),
        (" 09:00 - 18:00 ", 540, 1080, False),
    ],
)
def test_time_ranges_are_read_as_minutes_after_midnight(written: str, start: int, end: int, overnight: bool) -> None:
    parsed = TimeRange.model_validate(written)
    assert (parsed.start, parsed.end, parsed.overnight) == (start, end, overnight)


@pytest.mark.parametrize("closed", ["closed", "Closed", " closed ", []])
def test_closed_and_an_empty_list_give_a_day_no_hours(closed: object) -> None:
    assert schedule(weekly={"mon-fri": "09:00-18:00", "sun": closed}).hours_on(SUN) == ()


def test_a_days_ranges_are_kept_in_order_of_start() -> None:
    hours = schedule(weekly={"sat": ["15:00-18:00", "10:00-14:00"]})
    assert [str(r) for r in hours.hours_on(SAT)] == ["10:00-14:00", "15:00-18:00"]


def test_a_day_left_out_of_weekly_is_closed() -> None:
    hours = schedule(weekly={"mon-fri": "09:00-18:00"})
    assert hours.hours_on(SAT) == ()
    assert not hours.is_open(at(SAT, "12:00"))


# --- Validation errors an admin can act on ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"weekly": {"thurs": "09:00-18:00"}}, ["unknown day 'thurs'", "did you mean 'thu'?"]),
        ({"weekly": {"monday-friday": "09:00-18:00"}}, ["unknown day 'monday'", "did you mean 'mon'?"]),
        ({"weekly": {"mon,wendesday": "09:00-18:00"}}, ["unknown day 'wendesday'", "did you mean 'wed'?"]),
        ({"weekly": {"dialy": "09:00-18:00"}}, ["unknown day 'dialy'", "did you mean 'daily'?"]),
        ({"weekly": {"xyz": "09:00-18:00"}}, ["unknown day 'xyz'", "mon, tue, wed, thu, fri, sat, sun, or daily"]),
        ({"weekly": {"mon-wed-fri": "09:00-18:00"}}, ["'mon-wed-fri'", "not a day or a range of days"]),
        ({"weekly": {"mon,,fri": "09:00-18:00"}}, ["in 'mon,,fri' is not a day"]),
        ({"weekly": {"mon-": "09:00-18:00"}}, ["'mon-'", "not a day or a range of days"]),
        ({"weekly": {"": "09:00-18:00"}}, ["not a day or a range of days"]),
    ],
)
def test_an_unknown_day_is_named_with_a_suggestion(data: dict[str, Any], expected: list[str]) -> None:
    message = rejection(data)
    for text in expected:
        assert text in message


@pytest.mark.parametrize(
    ("weekly", "day", "first", "second"),
    [
        ({"mon-fri": "09:00-18:00", "wed": "10:00-12:00"}, "wed", "mon-fri", "wed"),
        ({"daily": "09:00-18:00", "sun": "closed"}, "sun", "daily", "sun"),
        ({"fri-mon": "09:00-18:00", "mon,wed": "10:00-12:00"}, "mon", "fri-mon", "mon,wed"),
        ({"sat": "10:00-12:00", "Sat": "13:00-15:00"}, "sat", "sat", "Sat"),
    ],
)
def test_a_day_covered_twice_names_the_day_and_both_specs(
    weekly: dict[str, str], day: str, first: str, second: str
) -> None:
    message = rejection({"weekly": weekly})
    assert f"{day} is covered twice in weekly, by {first!r} and by {second!r}" in message


@pytest.mark.parametrize(("spec", "day"), [("mon-fri,wed", "wed"), ("daily,sun", "sun"), ("fri-tue,mon", "mon")])
def test_a_day_named_twice_in_one_spec_is_rejected(spec: str, day: str) -> None:
    assert f"{day} is named twice in {spec!r}" in rejection({"weekly": {spec: "09:00-18:00"}})


@pytest.mark.parametrize(
    ("ranges", "first", "second"),
    [
        (["10:00-14:00", "13:00-18:00"], "10:00-14:00", "13:00-18:00"),
        (["13:00-18:00", "10:00-14:00"], "10:00-14:00", "13:00-18:00"),
        (["09:00-18:00", "12:00-13:00"], "09:00-18:00", "12:00-13:00"),
        (["09:00-12:00", "09:00-10:00"], "09:00-12:00", "09:00-10:00"),
        (["20:00-02:00", "22:00-23:00"], "20:00-02:00", "22:00-23:00"),
        (["00:00-24:00", "23:00-23:30"], "00:00-24:00", "23:00-23:30"),
    ],
)
def test_overlapping_ranges_within_a_day_are_named(ranges: list[str], first: str, second: str) -> None:
    message = rejection({"weekly": {"sat": ranges}})
    assert f"ranges '{first}' and '{second}' overlap" in message
    assert "weekly.sat" in message


def test_overlapping_ranges_of_a_special_day_are_named() -> None:
    message = rejection({"special": {"2026-12-31": ["09:00-15:00", "14:00-16:00"]}})
    assert "ranges '09:00-15:00' and '14:00-16:00' overlap" in message


def test_ranges_that_only_touch_do_not_overlap() -> None:
    hours = schedule(weekly={"sat": ["10:00-14:00", "14:00-18:00"]})
    assert hours.is_open(at(SAT, "13:59")) and hours.is_open(at(SAT, "14:00"))


@pytest.mark.parametrize(
    ("weekly", "expected"),
    [
        (
            {"fri": "22:00-02:00", "sat": "01:00-05:00"},
            "'22:00-02:00' on fri (from 'fri') runs past midnight into sat "
            "and overlaps '01:00-05:00' there (from 'sat')",
        ),
        ({"sun": "23:00-03:00", "mon-fri": "02:00-05:00"}, "on sun (from 'sun') runs past midnight into mon"),
        ({"daily": ["00:00-03:00", "22:00-03:00"]}, "'22:00-03:00' on mon (from 'daily') runs past midnight into tue"),
    ],
)
def test_an_overnight_range_overlapping_the_next_days_hours_is_rejected(weekly: dict[str, Any], expected: str) -> None:
    assert expected in rejection({"weekly": weekly})


def test_an_overnight_range_may_end_where_the_next_day_starts() -> None:
    hours = schedule(weekly={"fri": "22:00-02:00", "sat": "02:00-05:00"})
    assert hours.is_open(at(SAT, "01:59")) and hours.is_open(at(SAT, "02:00"))


@pytest.mark.parametrize("empty", ["09:00-09:00", "00:00-00:00", "24:00-24:00"])
def test_a_zero_length_range_is_rejected(empty: str) -> None:
    message = rejection({"weekly": {"mon": empty}})
    assert repr(empty) in message
    assert "starts and ends at the same time" in message or "can only end a range" in message


def test_a_zero_length_range_is_rejected_when_built_from_minutes_too() -> None:
    with pytest.raises(ValidationError, match="starts and ends at the same time"):
        TimeRange(start=540, end=540)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("9-18", "'9-18' is not a time range: write HH:MM-HH:MM"),
        ("0900-1800", "'0900-1800' is not a time range"),
        ("09:00", "'09:00' is not a time range"),
        ("09:00\u201318:00", "is not a time range"),  # an en dash, as word processors write it
        ("", "'' is not a time range"),
        ("25:00-26:00", "'25:00' in '25:00-26:00' is not a time: hours go from 00 to 23"),
        ("09:00-25:00", "'25:00' in '09:00-25:00' is not a time: hours go from 00 to 23"),
        ("09:00-24:30", "'24:30' in '09:00-24:30' is not a time"),
        ("09:60-18:00", "'09:60' in '09:60-18:00' is not a time: minutes go from 00 to 59"),
        ("09:00-18:75", "'18:75' in '09:00-18:75' is not a time: minutes go from 00 to 59"),
        ("24:00-06:00", "'24:00-06:00' starts at 24:00, which can only end a range"),
    ],
)
def test_a_malformed_time_is_named(written: str, expected: str) -> None:
    assert expected in rejection({"weekly": {"mon": written}})


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (False, "False is not hours (YAML reads off/no/false as false): write closed"),
        (None, "None is not hours: write a range like '09:00-18:00', a list of ranges, or closed"),
        (900, "900 is not hours"),
        (["09:00-12:00", "closed"], "lists 'closed' among hours: write closed alone"),
        ([900], "900 is not a time range"),
    ],
)
def test_hours_of_the_wrong_kind_are_explained(hours: object, expected: str) -> None:
    assert expected in rejection({"weekly": {"mon": hours}})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Europe/Moskow", "unknown time zone 'Europe/Moskow' (did you mean 'Europe/Moscow'?)"),
        ("europe/moscow", "(did you mean 'Europe/Moscow'?)"),
        ("Moscow", "(did you mean 'Europe/Moscow'?)"),
        ("Asia/Vladivostock", "(did you mean 'Asia/Vladivostok'?)"),
        ("Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'; use an IANA name like 'Europe/Moscow'"),
        ("", "unknown time zone ''"),
        ("../etc/passwd", "unknown time zone '../etc/passwd'"),
        ("/etc/localtime", "unknown time zone '/etc/localtime'"),
        ("Europe", "unknown time zone 'Europe'"),
    ],
)
def test_an_unknown_time_zone_is_named_with_a_suggestion(name: str, expected: str) -> None:
    assert expected in rejection({"timezone": name})


@pytest.mark.parametrize("name", ["Europe/Moscow", "Asia/Vladivostok", "UTC", "America/New_York", "Etc/GMT-3"])
def test_iana_time_zones_are_accepted(name: str) -> None:
    assert schedule(timezone=name).zone == ZoneInfo(name)


@pytest.mark.parametrize(
    ("holiday", "expected"),
    [
        ("2027-01-08..2027-01-01", "date range '2027-01-08..2027-01-01' ends before it starts"),
        ("2027-13-01", "'2027-13-01' is not a date: month must be in 1..12"),
        ("2027-02-30", "'2027-02-30' is not a date: day is out of range for month"),
        ("01.01.2027", "'01.01.2027' is not a date: write YYYY-MM-DD"),
        ("20270101", "'20270101' is not a date: write YYYY-MM-DD"),
        ("2027-01-01..", "'' is not a date"),
        ("2027-01-01..2027-1-8", "'2027-1-8' is not a date"),
        (datetime(2027, 1, 1, 10, 0), "'2027-01-01 10:00:00' has a time of day: give only the date"),
        (20270101, "20270101 is not a date"),
    ],
)
def test_a_bad_holiday_is_named(holiday: object, expected: str) -> None:
    assert expected in rejection({"holidays": [holiday]})


def test_a_holiday_range_built_from_dates_must_be_in_order_too() -> None:
    with pytest.raises(ValidationError, match="ends before it starts"):
        DateRange(first=date(2027, 1, 8), last=date(2027, 1, 1))


@pytest.mark.parametrize("key", ["2026-31-12", "31.12.2026", "tomorrow"])
def test_a_bad_special_date_is_named(key: str) -> None:
    assert f"{key!r} is not a date" in rejection({"special": {key: "09:00-15:00"}})


@pytest.mark.parametrize(
    ("holidays", "special", "day", "holiday"),
    [
        (["2027-01-01..2027-01-08"], {"2027-01-03": "closed"}, "2027-01-03", "2027-01-01..2027-01-08"),
        ([date(2027, 2, 23)], {date(2027, 2, 23): "10:00-14:00"}, "2027-02-23", "2027-02-23"),
        (["2027-01-01..2027-01-08"], {"2027-01-08": "10:00-14:00"}, "2027-01-08", "2027-01-01..2027-01-08"),
    ],
)
def test_a_date_both_holiday_and_special_is_rejected(
    holidays: list[object], special: dict[object, str], day: str, holiday: str
) -> None:
    message = rejection({"holidays": holidays, "special": special})
    assert f"{day} is both a holiday (in '{holiday}') and a special day" in message


def test_the_same_special_date_written_two_ways_is_rejected() -> None:
    message = rejection({"special": {"2026-12-31": "09:00-15:00", date(2026, 12, 31): "closed"}})
    assert "special day 2026-12-31 is given twice" in message


@pytest.mark.parametrize("key", ["weeky", "holiday", "tz"])
def test_an_unknown_key_is_rejected(key: str) -> None:
    assert key in rejection({key: {}})


# --- is_open -----------------------------------------------------------------------------------------------------

WORKDAYS = schedule(weekly={"mon-fri": "09:00-21:00"})


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(MON, "08:59:59"), False),
        (at(MON, "09:00"), True),
        (at(MON, "12:00"), True),
        (at(MON, "20:59:59"), True),
        (at(MON, "21:00"), False),
        (at(MON, "23:59:59"), False),
        (at(FRI, "09:00"), True),
        (at(SAT, "12:00"), False),
        (at(SUN, "12:00"), False),
        (datetime(2026, 6, 8, 5, 59, 59, 999999, tzinfo=UTC), False),  # 08:59:59.999999 in Moscow
        (datetime(2026, 6, 8, 6, 0, tzinfo=UTC), True),  # 09:00 in Moscow
    ],
)
def test_weekday_hours_open_at_start_and_close_at_end(instant: datetime, expected: bool) -> None:
    assert WORKDAYS.is_open(instant) is expected


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 6, 8, 6, 30, tzinfo=UTC),
        datetime(2026, 6, 8, 9, 30, tzinfo=timezone(timedelta(hours=3))),
        datetime(2026, 6, 8, 8, 30, tzinfo=BERLIN),
        datetime(2026, 6, 8, 16, 30, tzinfo=VLADIVOSTOK),
    ],
)
def test_an_instant_is_judged_the_same_whatever_zone_it_is_given_in(instant: datetime) -> None:
    assert WORKDAYS.is_open(instant)
    assert WORKDAYS.next_change(instant) == at(MON, "21:00")


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone: pass an aware datetime"):
        WORKDAYS.is_open(datetime(2026, 6, 8, 12, 0))
    with pytest.raises(ValueError, match="has no time zone"):
        WORKDAYS.next_change(datetime(2026, 6, 8, 12, 0))


def test_a_range_ending_at_24_00_is_open_until_midnight() -> None:
    hours = schedule(weekly={"mon": "18:00-24:00"})
    assert hours.is_open(at(MON, "23:59:59"))
    assert not hours.is_open(at(TUE, "00:00"))
    assert hours.next_change(at(MON, "19:00")) == at(TUE, "00:00")


def test_a_whole_day_range_on_every_day_is_always_open() -> None:
    hours = schedule(weekly={"daily": "00:00-24:00"})
    assert all(hours.is_open(at(MON, "00:00") + timedelta(minutes=37 * n)) for n in range(7 * 24 * 60 // 37))


OVERNIGHT = schedule(weekly={"fri": "22:00-02:00", "sun": "22:00-06:00"})


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(FRI, "21:59:59"), False),
        (at(FRI, "22:00"), True),
        (at(FRI, "23:59:59"), True),
        (at(SAT, "00:00"), True),
        (at(SAT, "01:00"), True),
        (at(SAT, "01:59:59"), True),
        (at(SAT, "02:00"), False),
        (at(THU, "01:00"), False),  # Wednesday has no hours to spill over
        (at(SAT, "23:00"), False),
        (at(SUN, "01:00"), False),
        (at(SUN, "22:00"), True),
        (at(MON + timedelta(days=7), "00:00"), True),  # Sunday night into Monday, across the week's end
        (at(MON + timedelta(days=7), "05:59:59"), True),
        (at(MON + timedelta(days=7), "06:00"), False),
        (at(MON, "05:00"), True),  # the Sunday before this week
    ],
)
def test_an_overnight_range_runs_past_midnight_into_the_next_day(instant: datetime, expected: bool) -> None:
    assert OVERNIGHT.is_open(instant) is expected


def test_a_range_ending_at_00_00_ends_at_midnight_and_spills_nothing() -> None:
    hours = schedule(weekly={"fri": "22:00-00:00"})
    assert hours.is_open(at(FRI, "23:59:59"))
    assert not hours.is_open(at(SAT, "00:00"))


SUPPORT = TypeAdapter(dict[str, Schedule]).validate_python(yaml.safe_load(EXAMPLE_YAML)["hours"])["support"]


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(date(2026, 12, 30), "20:00"), True),  # an ordinary Wednesday
        (at(date(2026, 12, 31), "14:59"), True),  # special: shortened day
        (at(date(2026, 12, 31), "15:00"), False),
        (at(date(2026, 12, 31), "20:00"), False),
        (at(date(2027, 1, 1), "12:00"), False),  # first day of the holiday range
        (at(date(2027, 1, 4), "12:00"), False),  # a Monday inside it
        (at(date(2027, 1, 8), "20:59"), False),  # its last day, inclusive
        (at(date(2027, 1, 9), "10:00"), True),  # the Saturday after
        (at(date(2027, 2, 22), "12:00"), True),
        (at(date(2027, 2, 23), "12:00"), False),  # a single-day holiday
        (at(date(2027, 2, 24), "12:00"), True),
        (at(date(2027, 3, 6), "12:00"), True),  # Saturday
        (at(date(2027, 3, 7), "12:00"), False),  # Sunday, special: closed (closed on Sundays anyway)
    ],
)
def test_holidays_and_special_days_take_precedence_over_weekly_hours(instant: datetime, expected: bool) -> None:
    assert SUPPORT.is_open(instant) is expected


def test_a_special_day_closed_closes_a_weekday() -> None:
    hours = schedule(weekly={"mon-fri": "09:00-18:00"}, special={WED: "closed"})
    assert hours.is_open(at(TUE, "12:00")) and not hours.is_open(at(WED, "12:00")) and hours.is_open(at(THU, "12:00"))


def test_a_special_day_can_open_a_day_the_week_keeps_closed() -> None:
    hours = schedule(weekly={"mon-fri": "09:00-18:00"}, special={SUN: ["10:00-12:00", "13:00-15:00"]})
    assert hours.is_open(at(SUN, "11:00")) and not hours.is_open(at(SUN, "12:30")) and hours.is_open(at(SUN, "13:00"))
    assert not hours.is_open(at(SUN + timedelta(days=7), "11:00"))


def test_a_special_days_overnight_range_spills_into_the_next_day() -> None:
    hours = schedule(weekly={"mon-fri": "09:00-18:00"}, special={SAT: "20:00-03:00"})
    assert hours.is_open(at(SUN, "02:59")) and not hours.is_open(at(SUN, "03:00"))


def test_a_holidays_own_overnight_range_does_not_run_into_the_next_morning() -> None:
    hours = schedule(weekly={"daily": "22:00-02:00"}, holidays=[FRI])
    assert not hours.is_open(at(FRI, "23:00"))
    assert not hours.is_open(at(SAT, "01:00"))  # Friday's range never started
    assert hours.is_open(at(SAT, "22:00"))


def test_the_evening_before_a_holiday_still_runs_past_midnight_into_it() -> None:
    # A range belongs to the day it starts on: Thursday's night shift is Thursday's, not the holiday's.
    hours = schedule(weekly={"daily": "22:00-02:00"}, holidays=[FRI])
    assert hours.is_open(at(FRI, "01:59"))
    assert not hours.is_open(at(FRI, "02:00"))
    assert hours.next_change(at(THU, "23:00")) == at(FRI, "02:00")


def test_the_evening_before_a_special_day_still_runs_past_midnight_into_it() -> None:
    hours = schedule(weekly={"daily": "22:00-02:00"}, special={FRI: "10:00-12:00"})
    assert hours.is_open(at(FRI, "01:00")) and hours.is_open(at(FRI, "11:00")) and not hours.is_open(at(FRI, "23:00"))


def test_a_holiday_range_closes_every_day_in_it_and_no_other() -> None:
    hours = schedule(weekly={"daily": "09:00-18:00"}, holidays=[f"{TUE}..{THU}"])
    assert [hours.is_open(at(day, "12:00")) for day in (MON, TUE, WED, THU, FRI)] == [True, False, False, False, True]


def test_the_same_instant_can_be_open_in_moscow_and_closed_in_vladivostok() -> None:
    instant = datetime(2026, 6, 10, 5, 0, tzinfo=UTC)  # 08:00 in Moscow, 15:00 in Vladivostok
    moscow = schedule(weekly={"mon-fri": "09:00-18:00"})
    vladivostok = schedule(timezone="Asia/Vladivostok", weekly={"mon-fri": "09:00-18:00"})
    assert not moscow.is_open(instant)
    assert vladivostok.is_open(instant)
    late = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, 22:00 in Vladivostok
    assert moscow.is_open(late) and not vladivostok.is_open(late)


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_hours_keep_their_wall_clock_meaning_on_dst_days(day: date) -> None:
    hours = schedule(timezone="Europe/Berlin", weekly={"daily": "09:00-17:00"})
    assert hours.is_open(at(day, "09:30", BERLIN))
    assert not hours.is_open(at(day, "08:59", BERLIN))
    change = hours.next_change(at(day, "09:30", BERLIN))
    assert change is not None
    assert change.replace(tzinfo=None) == datetime.combine(day, time(17, 0))
    assert change == at(day, "17:00", BERLIN)
    assert hours.next_change(at(day, "01:00", BERLIN)) == at(day, "09:00", BERLIN)


def test_dst_day_closing_is_at_the_shifted_utc_instant() -> None:
    hours = schedule(timezone="Europe/Berlin", weekly={"daily": "09:00-17:00"})
    assert hours.next_change(at(date(2026, 3, 28), "10:00", BERLIN)) == datetime(2026, 3, 28, 16, 0, tzinfo=UTC)
    assert hours.next_change(at(date(2026, 3, 29), "10:00", BERLIN)) == datetime(2026, 3, 29, 15, 0, tzinfo=UTC)
    assert hours.next_change(at(date(2026, 10, 25), "10:00", BERLIN)) == datetime(2026, 10, 25, 16, 0, tzinfo=UTC)


# --- next_change -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(MON, "07:00"), at(MON, "09:00")),
        (at(MON, "08:59:59.500000"), at(MON, "09:00")),
        (at(MON, "09:00"), at(MON, "21:00")),  # exactly at opening: the next change is the closing
        (at(MON, "12:00"), at(MON, "21:00")),
        (at(MON, "21:00"), at(TUE, "09:00")),
        (at(FRI, "22:00"), at(MON + timedelta(days=7), "09:00")),  # over the weekend
        (at(SAT, "12:00"), at(MON + timedelta(days=7), "09:00")),
    ],
)
def test_next_change_is_the_next_opening_or_closing(instant: datetime, expected: datetime) -> None:
    assert WORKDAYS.next_change(instant) == expected


def test_next_change_is_given_in_the_schedules_zone() -> None:
    change = WORKDAYS.next_change(datetime(2026, 6, 8, 0, 0, tzinfo=UTC))
    assert change is not None
    assert change.tzinfo == MOSCOW
    assert (change.hour, change.minute) == (9, 0)


def test_next_change_skips_over_holidays_and_honours_special_days() -> None:
    assert SUPPORT.next_change(at(date(2026, 12, 31), "10:00")) == at(date(2026, 12, 31), "15:00")
    assert SUPPORT.next_change(at(date(2026, 12, 31), "15:00")) == at(date(2027, 1, 9), "10:00")
    assert SUPPORT.next_change(at(date(2027, 2, 22), "21:00")) == at(date(2027, 2, 24), "09:00")


def test_next_change_goes_straight_past_adjoining_ranges() -> None:
    hours = schedule(weekly={"mon": ["09:00-12:00", "12:00-18:00"], "fri": "22:00-02:00", "sat": "02:00-04:00"})
    assert hours.next_change(at(MON, "10:00")) == at(MON, "18:00")
    assert hours.next_change(at(FRI, "23:00")) == at(SAT, "04:00")


def test_next_change_finds_the_end_of_an_overnight_range() -> None:
    assert OVERNIGHT.next_change(at(FRI, "23:00")) == at(SAT, "02:00")
    assert OVERNIGHT.next_change(at(SUN, "23:00")) == at(MON + timedelta(days=7), "06:00")


@pytest.mark.parametrize(
    "hours",
    [
        schedule(weekly={"daily": "00:00-24:00"}),
        schedule(weekly={"daily": "00:00-24:00"}, timezone="Europe/Berlin"),
        schedule(weekly={"daily": ["00:00-12:00", "12:00-24:00"]}),
        schedule(weekly={"mon-fri": "00:00-24:00", "sat-sun": "00:00-24:00"}, special={SUN: "00:00-24:00"}),
        schedule(),
        schedule(weekly={"mon": "closed"}, timezone="America/New_York"),
    ],
)
def test_next_change_is_none_when_nothing_ever_changes(hours: Schedule) -> None:
    instant = at(MON, "10:00")
    assert hours.next_change(instant) is None
    assert hours.next_change(instant + timedelta(days=200)) is None


def test_next_change_looks_ahead_400_days_and_no_further() -> None:
    start = at(date(2026, 1, 1), "00:00")
    within = schedule(special={start.date() + timedelta(days=399): "10:00-11:00"})
    beyond = schedule(special={start.date() + timedelta(days=401): "10:00-11:00"})
    assert within.next_change(start) == at(start.date() + timedelta(days=399), "10:00")
    assert beyond.next_change(start) is None
    assert beyond.next_change(start + timedelta(days=2)) == at(start.date() + timedelta(days=401), "10:00")
    assert timedelta(days=400) == NEXT_CHANGE_HORIZON


def test_a_range_starting_in_the_skipped_dst_hour_opens_when_the_clocks_jump() -> None:
    # Berlin skips 02:00-03:00 on 2026-03-29: the clocks go from 02:00 CET straight to 03:00 CEST.
    hours = schedule(timezone="Europe/Berlin", special={"2026-03-29": "02:30-05:00"})
    opening = hours.next_change(at(date(2026, 3, 29), "01:00", BERLIN))
    assert opening == datetime(2026, 3, 29, 1, 0, tzinfo=UTC) == at(date(2026, 3, 29), "03:00", BERLIN)
    assert hours.is_open(opening)
    # Arithmetic on an aware datetime is on its wall clock, so step back in UTC.
    assert not hours.is_open(opening.astimezone(UTC) - timedelta(microseconds=1))


def test_a_repeated_dst_hour_is_judged_by_its_wall_clock_both_times() -> None:
    # Berlin repeats 02:00-03:00 on 2026-10-25; 02:30-04:00 is open in both 02:30s and closed in the second 02:00.
    hours = schedule(timezone="Europe/Berlin", special={"2026-10-25": "02:30-04:00"})
    changes: list[datetime | None] = []
    instant: datetime | None = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    while instant is not None and len(changes) < 5:
        instant = hours.next_change(instant)
        # In UTC: Python never finds a time in the repeated hour equal to one in another zone.
        changes.append(None if instant is None else instant.astimezone(UTC))
    assert changes == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST: opens
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # clocks go back to 02:00 CET: before 02:30 again
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET: opens again
        datetime(2026, 10, 25, 3, 0, tzinfo=UTC),  # 04:00 CET: closes
        None,
    ]


# --- Generated schedules against a brute-force reference ---------------------------------------------------------

ZONES = ["Europe/Moscow", "Europe/Berlin", "Asia/Vladivostok", "America/New_York"]
# DST changes in the generated period, so that some instants are near one.
DST_CHANGES = {
    "Europe/Berlin": ["2026-03-29T01:00", "2026-10-25T01:00", "2027-03-28T01:00", "2027-10-31T01:00"],
    "America/New_York": ["2026-03-08T07:00", "2026-11-01T06:00", "2027-03-14T07:00", "2027-11-07T06:00"],
}
PERIOD_START = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD_DAYS = 365


@dataclass
class Reference:
    """A schedule as plain data, with a deliberately simple-minded is_open."""

    zone: ZoneInfo
    week: list[list[tuple[int, int]]]  # per weekday, (start, end) minutes; end <= start runs into the next day
    holidays: set[date] = field(default_factory=set)
    special: dict[date, list[tuple[int, int]]] = field(default_factory=dict)

    def ranges(self, day: date) -> list[tuple[int, int]]:
        if day in self.holidays:
            return []
        return self.special.get(day, self.week[day.weekday()])

    def is_open(self, instant: datetime) -> bool:
        wall = instant.astimezone(self.zone).replace(tzinfo=None)
        for day in (wall.date(), wall.date() - timedelta(days=1)):
            midnight = datetime.combine(day, time())
            for start, end in self.ranges(day):
                length = end - start if end > start else end + 1440 - start
                opens = midnight + timedelta(minutes=start)
                if opens <= wall < opens + timedelta(minutes=length):
                    return True
        return False

    def next_change(self, instant: datetime, within: timedelta) -> datetime | None:
        """Minute by minute (every boundary and DST change is on a whole minute in these zones)."""
        state = self.is_open(instant)
        minute = instant.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while minute <= instant + within:
            if self.is_open(minute) != state:
                return minute
            minute += timedelta(minutes=1)
        return None


def random_minute(rng: random.Random) -> int:
    # Often near 01:00-04:00, where DST changes happen, and near midnight.
    return rng.choice(
        [rng.randrange(1, 1440), rng.randrange(60, 240), rng.randrange(120, 180), rng.randrange(1380, 1440)]
    )


def random_ranges(rng: random.Random, most: int = 3) -> list[tuple[int, int]]:
    points = sorted({random_minute(rng) for _ in range(2 * rng.randrange(most + 1))})
    if len(points) % 2:
        points.pop()
    if rng.random() < 0.1:
        return [(0, 1440)]
    ranges = list(zip(points[::2], points[1::2], strict=True))
    if ranges and rng.random() < 0.2:
        ranges[-1] = (ranges[-1][0], 1440)
    return ranges


def clock(minutes: int, rng: random.Random, start: int = 0) -> str:
    if minutes == 1440 and start > 0 and rng.random() < 0.5:
        return "00:00"  # midnight as an end, written the other way
    return f"{minutes // 60:02}:{minutes % 60:02}"


def written(ranges: list[tuple[int, int]], rng: random.Random) -> object:
    texts = [f"{clock(start, rng)}-{clock(end, rng, start)}" for start, end in ranges]
    if not texts:
        return rng.choice(["closed", []])
    return texts[0] if len(texts) == 1 and rng.random() < 0.5 else texts


def day_spec(days: list[int], rng: random.Random) -> str:
    if len(days) == 7 and rng.random() < 0.5:
        return "daily"
    first = days[0]
    if days == [(first + n) % 7 for n in range(len(days))] and len(days) > 1:
        return f"{DAY_NAMES[first]}-{DAY_NAMES[days[-1]]}"
    return ",".join(DAY_NAMES[day] for day in rng.sample(days, len(days)))


def random_schedule(rng: random.Random) -> tuple[dict[str, Any], Reference]:
    # Weekdays in groups sharing one spec: runs that may wrap past Sunday, and scattered lists.
    order = list(range(7))
    start = rng.randrange(7)
    order = order[start:] + order[:start]
    groups: list[list[int]] = []
    while order:
        take = rng.randint(1, len(order))
        run, order = order[:take], order[take:]
        if rng.random() < 0.3 and groups:
            groups[rng.randrange(len(groups))] += run  # a list like mon,wed,fri
        else:
            groups.append(run)
    group_ranges = [random_ranges(rng) for _ in groups]
    first_start = [1440] * 7
    for group, ranges in zip(groups, group_ranges, strict=True):
        for day in group:
            first_start[day] = ranges[0][0] if ranges else 1440
    # Some groups' last range runs past midnight, ending no later than the next day's first opening.
    for index, (group, ranges) in enumerate(zip(groups, group_ranges, strict=True)):
        if ranges and ranges[-1][1] == 1440 and ranges[-1][0] > 0 and rng.random() < 0.6:
            latest = min([first_start[(day + 1) % 7] for day in group] + [ranges[-1][0] - 1])
            if latest >= 1:
                group_ranges[index][-1] = (ranges[-1][0], rng.randint(1, latest))
    zone = rng.choice(ZONES)
    week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    weekly: dict[str, object] = {}
    for group, ranges in zip(groups, group_ranges, strict=True):
        if ranges or rng.random() < 0.5:  # a closed group may be left out
            weekly[day_spec(sorted(group) if rng.random() < 0.5 else group, rng)] = written(ranges, rng)
        for day in group:
            week[day] = ranges
    reference = Reference(ZoneInfo(zone), week)
    holidays: list[object] = []
    for _ in range(rng.randrange(6)):
        first = PERIOD_START.date() + timedelta(days=rng.randrange(PERIOD_DAYS))
        last = first + timedelta(days=rng.choice([0, 0, 1, 3, 10]))
        holidays.append(first if first == last and rng.random() < 0.5 else f"{first}..{last}")
        reference.holidays |= {first + timedelta(days=n) for n in range((last - first).days + 1)}
    special: dict[object, object] = {}
    for _ in range(rng.randrange(8)):
        when = PERIOD_START.date() + timedelta(days=rng.randrange(PERIOD_DAYS))
        if when in reference.holidays or when in reference.special:
            continue
        ranges = random_ranges(rng)
        if ranges and ranges[-1][1] == 1440 and ranges[-1][0] > 1 and rng.random() < 0.5:
            ranges[-1] = (ranges[-1][0], rng.randint(1, ranges[-1][0]))  # may overlap the next day: that is allowed
            if ranges[-1][0] == ranges[-1][1]:
                ranges.pop()
        reference.special[when] = ranges
        special[when if rng.random() < 0.5 else str(when)] = written(ranges, rng)
    data = {"timezone": zone, "weekly": weekly, "holidays": holidays, "special": special}
    return data, reference


def random_instant(rng: random.Random, reference: Reference) -> datetime:
    changes = DST_CHANGES.get(str(reference.zone), [])
    if changes and rng.random() < 0.3:
        change = datetime.fromisoformat(rng.choice(changes)).replace(tzinfo=UTC)
        return change + timedelta(minutes=rng.randrange(-6 * 60, 2 * 60))
    return PERIOD_START + timedelta(minutes=rng.randrange(PERIOD_DAYS * 24 * 60))


@pytest.mark.parametrize("seed", range(8))
def test_is_open_agrees_with_a_brute_force_reference_on_random_schedules(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        data, reference = random_schedule(rng)
        hours = Schedule.model_validate(data)
        for _ in range(300):
            instant = random_instant(rng, reference)
            assert hours.is_open(instant) == reference.is_open(instant), (data, instant.isoformat())


@pytest.mark.parametrize("seed", range(4))
def test_next_change_agrees_with_a_brute_force_reference_on_random_schedules(seed: int) -> None:
    rng = random.Random(1000 + seed)
    within = timedelta(days=2)
    for _ in range(15):
        data, reference = random_schedule(rng)
        hours = Schedule.model_validate(data)
        for _ in range(4):
            instant = random_instant(rng, reference) + timedelta(seconds=rng.randrange(60))
            expected = reference.next_change(instant, within)
            change = hours.next_change(instant)
            if expected is None:
                assert change is None or change > instant + within, (data, instant.isoformat())
            else:
                assert change is not None and change.tzinfo == reference.zone
                assert change.astimezone(UTC) == expected, (data, instant.isoformat())


def test_generated_schedules_exercise_overnight_ranges_lists_and_wrapping_specs() -> None:
    # Guards the generator itself: the interesting shapes must actually occur.
    rng = random.Random(0)
    specs: list[str] = []
    overnight = 0
    for _ in range(200):
        data, reference = random_schedule(rng)
        specs += data["weekly"]
        overnight += any(end < start for ranges in reference.week for start, end in ranges)
    assert overnight > 20
    assert any("," in spec for spec in specs)
    assert "daily" in specs
    assert any("-" in spec and DAY_NAMES.index(spec[:3]) > DAY_NAMES.index(spec[-3:]) for spec in specs)
