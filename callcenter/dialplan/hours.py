"""Business hours: when a named schedule of the call centre is open.

Admins write schedules in the dialplan YAML::

    hours:
      support:
        timezone: Europe/Moscow          # the default
        weekly:
          mon-fri: "09:00-21:00"
          sat: ["10:00-14:00", "15:00-18:00"]
          sun: closed                     # or left out
        holidays: [2027-01-01..2027-01-08, 2027-02-23]
        special:
          2026-12-31: "09:00-15:00"
          2027-03-07: closed

Times are wall-clock times in the schedule's zone. A range belongs to the day it
starts on; one whose end is before its start runs past midnight into the next day
("22:00-02:00"). What a day's own ranges are, in order of precedence:

1. a holiday has none (closed all day);
2. a special day has its special ranges (``closed`` for none), instead of the weekly ones;
3. any other day has its weekday's ranges from ``weekly`` (none if its weekday is not given).

An instant is open when it falls in a range of its own day, or in the after-midnight
part of an overnight range of the day before. Because a range belongs to the day it
starts on, a holiday or a special day replaces only the ranges starting on it: Friday's
"22:00-02:00" still runs until 02:00 on a Saturday holiday, and a holiday Friday has no
range spilling into Saturday morning. "Closed all day" thus means "no hours start that
day"; to close the early morning too, close the evening before (a special day).

Across a DST change a range keeps its wall-clock meaning: a wall time that happens twice
is treated the same both times, and one that is skipped never happens, so a range
starting in the skipped hour opens when the clocks jump past it.

Nothing here reads a clock or does I/O beyond zoneinfo loading zone data.
"""

from __future__ import annotations

import difflib
import itertools
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

__all__ = ["DAY_NAMES", "NEXT_CHANGE_HORIZON", "DateRange", "Schedule", "TimeRange"]

# In date.weekday() order, so a name's index is its weekday.
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far next_change looks: beyond a year, so a long holiday season still finds the reopening.
NEXT_CHANGE_HORIZON = timedelta(days=400)

_DAY_SPELLINGS = {
    **{name: name for name in (*DAY_NAMES, "daily")},
    **dict(zip(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), DAY_NAMES, strict=True)),
}
_MINUTES_PER_DAY = 24 * 60
_TIME_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
# date.fromisoformat would also take 20261231 and week dates; admins are asked for one form.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Zone offsets are sampled this often to find DST changes; no zone changes its offset twice in six hours.
_OFFSET_SAMPLE_SECONDS = 6 * 3600


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeRange(_Strict):
    """Open from ``start`` until just before ``end``, in minutes after local midnight.

    Written "HH:MM-HH:MM". An end before the start is on the next day; an end of
    24:00 (1440) is midnight at the end of the day, and "22:00-00:00" means the same.
    """

    start: int = Field(ge=0, lt=_MINUTES_PER_DAY)
    end: int = Field(ge=1, le=_MINUTES_PER_DAY)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, (TimeRange, dict)):
            return value
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a time range: write HH:MM-HH:MM, e.g. '09:00-18:00'")
        return _parse_time_range(value)

    @model_validator(mode="after")
    def _not_empty(self) -> TimeRange:
        if self.start == self.end:
            raise ValueError(f"{self} starts and ends at the same time; for the whole day write '00:00-24:00'")
        return self

    @property
    def overnight(self) -> bool:
        """True if the range runs past midnight into the next day."""
        return self.end < self.start

    @property
    def end_today(self) -> int:
        """Where the range ends on its own day, in minutes (1440 for an overnight range)."""
        return _MINUTES_PER_DAY if self.overnight else self.end

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


class DateRange(_Strict):
    """Whole days from ``first`` to ``last``, both included. Written "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"."""

    first: date
    last: date

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, (DateRange, dict)):
            return value
        if isinstance(value, str) and ".." in value:
            first_text, last_text = value.split("..", 1)
            first, last = _parse_date(first_text.strip()), _parse_date(last_text.strip())
            if last < first:
                raise ValueError(f"date range {value!r} ends before it starts: write the earlier date first")
            return {"first": first, "last": last}
        day = _parse_date(value)
        return {"first": day, "last": day}

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.last < self.first:
            raise ValueError(f"date range {self} ends before it starts: write the earlier date first")
        return self

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"


def _hours_or_closed(value: object) -> object:
    """A day's hours: one range, a list of ranges, or ``closed`` (an empty list means closed too)."""
    if isinstance(value, str):
        return () if value.strip().lower() == "closed" else (value,)
    if isinstance(value, bool):
        # YAML reads an unquoted off/no/false as False, which an admin may have meant as closed.
        raise ValueError(f"{value!r} is not hours (YAML reads off/no/false as false): write closed, or a time range")
    if isinstance(value, (list, tuple)):
        if any(isinstance(item, str) and item.strip().lower() == "closed" for item in value):
            raise ValueError(f"{list(value)!r} lists 'closed' among hours: write closed alone, or only the ranges")
        return value
    raise ValueError(f"{value!r} is not hours: write a range like '09:00-18:00', a list of ranges, or closed")


def _no_overlaps(ranges: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
    # Only the part of each range on its own day is compared; what an overnight range
    # does to the next day is checked where the next day is known (Schedule.weekly).
    ordered = sorted(ranges, key=lambda r: r.start)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end_today:
            raise ValueError(f"ranges '{before}' and '{after}' overlap: merge them or fix one")
    return tuple(ordered)


# One day's hours, sorted by start, no two overlapping; written as a range, a list, or closed.
DayHours = Annotated[tuple[TimeRange, ...], BeforeValidator(_hours_or_closed), AfterValidator(_no_overlaps)]


class Schedule(_Strict):
    """A named schedule's business hours; see the module docstring for the rules."""

    timezone: str = Field(default="Europe/Moscow", description="IANA time zone the hours are written in")
    weekly: dict[str, DayHours] = Field(
        default_factory=dict,
        description="Day spec (mon, mon-fri, fri-mon, mon,wed,fri, daily) to hours; a day not given is closed",
    )
    holidays: tuple[DateRange, ...] = Field(default=(), description="Days closed all day, ranges inclusive")
    special: dict[date, DayHours] = Field(
        default_factory=dict, description="Dates with their own hours instead of the weekly ones"
    )

    # Each weekday's ranges, by date.weekday(); derived from weekly once it is valid.
    _week: tuple[tuple[TimeRange, ...], ...] = PrivateAttr(default=((),) * 7)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {name!r}{_suggest_zone(name)}; use an IANA name like 'Europe/Moscow'"
            ) from None
        return name

    @field_validator("weekly")
    @classmethod
    def _each_day_once(cls, weekly: dict[str, tuple[TimeRange, ...]]) -> dict[str, tuple[TimeRange, ...]]:
        days = _days_of(weekly)
        for day, (spec, ranges) in days.items():
            following = (day + 1) % 7
            if following not in days:
                continue
            next_spec, next_ranges = days[following]
            for late in (r for r in ranges if r.overnight):
                for early in next_ranges:
                    if early.start < late.end:
                        raise ValueError(
                            f"'{late}' on {DAY_NAMES[day]} (from {spec!r}) runs past midnight into "
                            f"{DAY_NAMES[following]} and overlaps '{early}' there (from {next_spec!r})"
                        )
        return weekly

    @field_validator("special", mode="before")
    @classmethod
    def _dates_as_dates(cls, special: object) -> object:
        if not isinstance(special, dict):
            return special
        parsed: dict[date, object] = {}
        for raw, hours in special.items():
            day = _parse_date(raw)
            if day in parsed:
                raise ValueError(f"special day {day} is given twice")
            parsed[day] = hours
        return parsed

    @model_validator(mode="after")
    def _derive(self) -> Schedule:
        for day in sorted(self.special):
            for holiday in self.holidays:
                if day in holiday:
                    raise ValueError(
                        f"{day} is both a holiday (in '{holiday}') and a special day: "
                        "remove one (a holiday is closed all day; a special day has its own hours)"
                    )
        week: list[tuple[TimeRange, ...]] = [()] * 7
        for weekday, (_, ranges) in _days_of(self.weekly).items():
            week[weekday] = ranges
        self._week = tuple(week)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances by name

    def hours_on(self, day: date) -> tuple[TimeRange, ...]:
        """The ranges starting on ``day`` (a local date): none on a holiday, the special ones on a special day."""
        if any(day in holiday for holiday in self.holidays):
            return ()
        special = self.special.get(day)
        if special is not None:
            return special
        return self._week[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        """Whether the schedule is open at the aware instant ``at``."""
        local = _aware(at).astimezone(self.zone)
        # Whole seconds suffice: every boundary is on a whole minute and ranges are half-open.
        second = local.hour * 3600 + local.minute * 60 + local.second
        today = local.date()
        if any(r.start * 60 <= second < r.end_today * 60 for r in self.hours_on(today)):
            return True
        return any(r.overnight and second < r.end * 60 for r in self.hours_on(today - timedelta(days=1)))

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant after ``at`` when the schedule opens or closes, in the schedule's zone.

        None if nothing changes within NEXT_CHANGE_HORIZON of ``at`` (always open, always closed,
        or closed for longer than that). In an hour that DST repeats, Python compares the result
        equal to no datetime of another zone and adds to it on the wall clock: convert it to UTC first.
        """
        zone = self.zone
        start = _aware(at).astimezone(UTC)
        limit = start + NEXT_CHANGE_HORIZON
        # Open or closed can only flip where the wall clock reaches a range boundary or jumps (DST),
        # so those instants are the candidates, and is_open is the judge: the two always agree.
        candidates = set(_offset_changes(zone, start, limit))
        first_day = start.astimezone(zone).date() - timedelta(days=1)  # its overnight range may still run
        last_day = limit.astimezone(zone).date() + timedelta(days=1)
        for wall in _boundaries(self, first_day, last_day):
            candidates.update(_instants(wall, zone))
        was_open = self.is_open(start)
        for candidate in sorted(c for c in candidates if start < c <= limit):
            if self.is_open(candidate) != was_open:
                return candidate.astimezone(zone)
        return None


def _boundaries(schedule: Schedule, first_day: date, last_day: date) -> list[datetime]:
    """Wall-clock times (naive) where open periods start or end, adjoining and overlapping ranges merged."""
    spans: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        midnight = datetime.combine(day, time())
        for r in schedule.hours_on(day):
            end = r.end + _MINUTES_PER_DAY if r.overnight else r.end
            spans.append((midnight + timedelta(minutes=r.start), midnight + timedelta(minutes=end)))
        day += timedelta(days=1)
    spans.sort()
    edges: list[datetime] = []
    for opens, closes in spans:
        if edges and opens <= edges[-1]:
            edges[-1] = max(edges[-1], closes)
        else:
            edges += [opens, closes]
    return edges


def _instants(wall: datetime, zone: ZoneInfo) -> set[datetime]:
    """The instants (UTC) at which the clock in ``zone`` shows ``wall``: none, one, or two around DST."""
    found = set()
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            found.add(instant)
    return found


def _offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Instants in [start, end] (to the second) when ``zone`` changes its UTC offset."""

    def offset(second: int) -> timedelta | None:
        return datetime.fromtimestamp(second, zone).utcoffset()

    changes: list[datetime] = []
    here = int(start.timestamp())
    stop = int(end.timestamp()) + 1
    current = offset(here)
    while here < stop:
        there = min(here + _OFFSET_SAMPLE_SECONDS, stop)
        if offset(there) != current:
            before, after = here, there
            while after - before > 1:
                middle = (before + after) // 2
                if offset(middle) == current:
                    before = middle
                else:
                    after = middle
            changes.append(datetime.fromtimestamp(after, UTC))
            current = offset(there)
        here = there
    return changes


def _aware(at: datetime) -> datetime:
    if at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone: pass an aware datetime, e.g. datetime.now(UTC)")
    return at


def _days_of(weekly: dict[str, tuple[TimeRange, ...]]) -> dict[int, tuple[str, tuple[TimeRange, ...]]]:
    """Each weekday covered by ``weekly``, with the spec that covers it and its ranges."""
    days: dict[int, tuple[str, tuple[TimeRange, ...]]] = {}
    for spec, ranges in weekly.items():
        for day in _parse_days(spec):
            if day in days:
                raise ValueError(
                    f"{DAY_NAMES[day]} is covered twice in weekly, by {days[day][0]!r} and by {spec!r}: "
                    "give each day once"
                )
            days[day] = (spec, ranges)
    return days


def _parse_days(spec: str) -> tuple[int, ...]:
    """The weekdays of a day spec: 'mon', 'mon-fri', 'fri-mon' (wrapping), 'mon,wed,fri', 'daily', or a mix."""
    days: list[int] = []
    for item in spec.lower().split(","):
        ends = [end.strip() for end in item.split("-")]
        if len(ends) > 2 or not all(ends):
            raise ValueError(
                f"{item.strip()!r} in {spec!r} is not a day or a range of days: write e.g. mon, mon-fri, mon,wed,fri"
            )
        if ends == ["daily"]:
            days += range(7)
            continue
        first, last = (_day_index(end, spec) for end in (ends[0], ends[-1]))
        days += [(first + step) % 7 for step in range((last - first) % 7 + 1)]
    for day in set(days):
        if days.count(day) > 1:
            raise ValueError(f"{DAY_NAMES[day]} is named twice in {spec!r}")
    return tuple(days)


def _day_index(name: str, spec: str) -> int:
    if name in DAY_NAMES:
        return DAY_NAMES.index(name)
    # Full names are matched too, so 'monday' or a misspelt 'wendesday' suggests the short name.
    close = difflib.get_close_matches(name, list(_DAY_SPELLINGS), n=1)
    hint = f" (did you mean {_DAY_SPELLINGS[close[0]]!r}?)" if close else ""
    raise ValueError(f"unknown day {name!r} in {spec!r}{hint}; days are {', '.join(DAY_NAMES)}, or daily")


def _parse_time_range(text: str) -> dict[str, int]:
    match = _TIME_RANGE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time range: write HH:MM-HH:MM, e.g. '09:00-18:00'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    for hour, minute in ((start_h, start_m), (end_h, end_m)):
        if minute > 59:
            raise ValueError(f"'{hour:02}:{minute:02}' in {text!r} is not a time: minutes go from 00 to 59")
        if hour > 24 or (hour == 24 and minute):
            raise ValueError(f"'{hour:02}:{minute:02}' in {text!r} is not a time: hours go from 00 to 23")
    if start_h == 24:
        raise ValueError(f"{text!r} starts at 24:00, which can only end a range: start at 00:00")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise ValueError(f"{text!r} starts and ends at the same time; for the whole day write '00:00-24:00'")
    # Ending at midnight is the same whichever way it is written.
    return {"start": start, "end": end or _MINUTES_PER_DAY}


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):  # a datetime is a date too; YAML makes one of '2027-01-01 10:00'
        raise ValueError(f"{value.isoformat(sep=' ')!r} has a time of day: give only the date, YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as error:
            raise ValueError(f"{value!r} is not a date: {error}") from None
    raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD")


def _suggest_zone(name: str) -> str:
    zones = sorted(available_timezones())
    by_lower = {zone.lower(): zone for zone in zones}
    wanted = name.strip().lower()
    if wanted in by_lower:
        return f" (did you mean {by_lower[wanted]!r}?)"
    city = wanted.rsplit("/", 1)[-1]
    same_city = [zone for zone in zones if zone.lower().rsplit("/", 1)[-1] == city]
    close = same_city or [by_lower[z] for z in difflib.get_close_matches(wanted, list(by_lower), n=1, cutoff=0.75)]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02}:{minutes % 60:02}"
