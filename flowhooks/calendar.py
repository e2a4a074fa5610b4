"""Business calendars: parsing what a caller said, and finding the next open slot.

Pure functions and immutable values only, no I/O: validateDateTime and the outbound
scheduler both use it, and tests call it directly without a server.

Times are judged in the calendar's own time zone; "now" is always passed in.
A window is half-open, [open, close), in minutes of the day.
"""

from __future__ import annotations

import calendar as _stdcal
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as _holidays

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS = {name.lower(): i for i, name in enumerate(WEEKDAY_NAMES)} | {
    name[:3].lower(): i for i, name in enumerate(WEEKDAY_NAMES)
}
_MONTHS = {name.lower(): i for i, name in enumerate(_stdcal.month_name) if name} | {
    name.lower(): i for i, name in enumerate(_stdcal.month_abbr) if name
}
_MONTHS["sept"] = 9
SEARCH_DAYS = 366


def parse_weekday(text: str) -> int:
    """``"Mon"`` / ``"monday"`` -> 0 .. 6; raises ValueError naming the bad text."""
    try:
        return _WEEKDAYS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a weekday name (Mon..Sun)") from None


# -- windows ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """Opening hours of one day, half-open, in minutes since midnight."""

    open: int
    close: int

    def __post_init__(self) -> None:
        if not 0 <= self.open < self.close <= 24 * 60:
            raise ValueError(f"window {self.open}-{self.close} must open before it closes")

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"09:00-18:00"``; ``24:00`` may close a window."""
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        if not m:
            raise ValueError(f"{text!r} is not a window of the form HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{text!r} has an hour or minute out of range")
        if h1 * 60 + m1 >= h2 * 60 + m2:
            raise ValueError(f"{text!r} must open before it closes")
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def contains(self, t: time) -> bool:
        return self.open <= t.hour * 60 + t.minute < self.close

    def opening(self) -> time:
        return _minute_to_time(self.open)

    def text(self) -> str:
        """``09:00 AM to 06:00 PM``, the form flows speak and put in SMS."""
        return f"{_clock12(self.open)} to {_clock12(self.close)}"


def _minute_to_time(minute: int) -> time:
    return time(minute // 60, minute % 60)


@lru_cache(maxsize=2048)  # 1,441 minutes a clock can show
def _clock12(minute: int) -> str:
    hour, mins = divmod(minute % (24 * 60), 60)
    suffix = "AM" if hour < 12 else "PM"
    return f"{(hour % 12) or 12:02d}:{mins:02d} {suffix}"


def format_slot_time(t: time) -> str:
    return _clock12(t.hour * 60 + t.minute)


@lru_cache(maxsize=8192)  # the same openings and closings, day after day
def wall_time(d: date, t: time, zone: ZoneInfo) -> datetime:
    """Local wall time ``d t`` in ``zone``; a time in a DST gap moves forward."""
    return datetime.combine(d, t, tzinfo=zone).astimezone(UTC).astimezone(zone)


# -- holidays -----------------------------------------------------------------


@lru_cache(maxsize=256)
def holiday_table(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """Public holidays of one (country, subdivision, year), built once and cached."""
    table = _holidays.country_holidays(country, subdiv=subdivision, years=year)
    return dict(table.items())


def check_country(country: str, subdivision: str | None) -> None:
    """Raise ValueError when the holidays library does not know the country/subdivision."""
    supported = _holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"{country!r} is not a country the holidays library knows")
    if subdivision is not None and subdivision not in supported[country]:
        raise ValueError(f"{subdivision!r} is not a subdivision of {country}")


# -- calendars ----------------------------------------------------------------


@dataclass(frozen=True)
class TypeHours:
    """Per-type windows (e.g. ``Callback``) that override the calendar's."""

    hours: Window | None = None
    day_hours: Mapping[int, Window] = field(default_factory=dict)


@dataclass(frozen=True)
class BusinessCalendar:
    """One named calendar: where it is, when it works, how far ahead it books."""

    name: str
    timezone: ZoneInfo
    country: str | None = None
    subdivision: str | None = None
    extra_holidays: Mapping[date, str] = field(default_factory=dict)
    working_days: frozenset[date] = frozenset()
    workdays: frozenset[int] = frozenset(range(5))
    hours: Window = Window(9 * 60, 18 * 60)
    day_hours: Mapping[int, Window] = field(default_factory=dict)
    max_days_ahead: int = 30
    min_lead_minutes: int = 0
    types: Mapping[str, TypeHours] = field(default_factory=dict)
    # evaluate()'s answers by (inputs, today, earliest): a bounded memo, not state
    verdicts: dict[tuple[object, ...], Verdict] = field(
        default_factory=dict, compare=False, repr=False
    )
    # today and the earliest minute of the last whole second asked for (see moment())
    moments: dict[tuple[int, bool], tuple[date, datetime]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def holiday_name(self, d: date) -> str | None:
        """Name of the holiday on ``d`` (extra holidays win), or None."""
        if d in self.extra_holidays:
            return self.extra_holidays[d]
        if self.country is None:
            return None
        return holiday_table(self.country, self.subdivision, d.year).get(d)

    def is_working(self, d: date) -> bool:
        if d in self.working_days:
            return True
        return d.weekday() in self.workdays and self.holiday_name(d) is None

    def find_type(self, name: str) -> str | None:
        """The configured type matching ``name`` case-insensitively."""
        wanted = name.strip().lower()
        return next((t for t in self.types if t.lower() == wanted), None)

    def window(self, d: date, type_name: str | None = None) -> Window:
        """The window of ``d`` for a type: type day_hours, type hours, day_hours, hours."""
        wd = d.weekday()
        th = self.types.get(type_name) if type_name else None
        if th is not None:
            if wd in th.day_hours:
                return th.day_hours[wd]
            if th.hours is not None:
                return th.hours
        return self.day_hours.get(wd, self.hours)

    def years_to_warm(self, today: date) -> Iterable[int]:
        last = today + timedelta(days=self.max_days_ahead + SEARCH_DAYS)
        return range(today.year, last.year + 1)

    def warm(self, today: date) -> None:
        """Build the holiday tables a request from ``today`` can reach."""
        if self.country is not None:
            for year in self.years_to_warm(today):
                holiday_table(self.country, self.subdivision, year)

    def at(self, d: date, t: time, zone: ZoneInfo | None = None) -> datetime:
        """Local wall time ``d t`` as an aware datetime; a time in a DST gap moves forward."""
        return wall_time(d, t, zone or self.timezone)

    def earliest(self, now: datetime, zone: ZoneInfo | None = None) -> datetime:
        """now + min_lead_minutes, rounded up to the whole minute, in local time."""
        moment = now.astimezone(UTC) + timedelta(minutes=self.min_lead_minutes)
        if moment.second or moment.microsecond:
            moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return moment.astimezone(zone or self.timezone)

    def moment(self, now: datetime) -> tuple[date, datetime]:
        """(today, earliest) for ``now``; the same for every ``now`` in one whole second.

        A moment exactly on a whole second is keyed apart from the rest of that second:
        on a minute boundary it is its own earliest minute, a microsecond later is not.
        """
        key = (int(now.timestamp()), now.microsecond == 0)
        known = self.moments.get(key)
        if known is None:
            known = (now.astimezone(self.timezone).date(), self.earliest(now))
            self.moments.clear()
            self.moments[key] = known
        return known

    def next_slot(
        self,
        start: date,
        earliest: datetime,
        wanted: time | None = None,
        type_name: str | None = None,
        zone: ZoneInfo | None = None,
    ) -> datetime | None:
        """First working date from ``start`` whose window still has a minute >= earliest.

        The slot is ``wanted`` when it lies in that day's window, else the opening;
        moved up to ``earliest`` when before it. None when no date within 366 days works.
        """
        for offset in range(SEARCH_DAYS):
            d = start + timedelta(days=offset)
            if not self.is_working(d):
                continue
            win = self.window(d, type_name)
            last_minute = self.at(d, _minute_to_time(win.close - 1), zone)
            if last_minute < earliest:
                continue
            slot_time = wanted if wanted is not None and win.contains(wanted) else win.opening()
            slot = self.at(d, slot_time, zone)
            return earliest if slot < earliest else slot
        return None

    def next_open_moment(self, moment: datetime, zone: ZoneInfo | None = None) -> datetime | None:
        """``moment`` itself when the calendar is open then, else the next open minute."""
        local = moment.astimezone(zone or self.timezone)
        return self.next_slot(local.date(), local, None, zone=zone)


# -- parsing what the caller said ---------------------------------------------

_SEPARATED = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\s*[-/.]\s*(\d{2}|\d{4}))?")
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH_WORD = r"([a-z]+)\.?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_DAY_MONTH = re.compile(rf"{_DAY}\s*(?:of\s+)?{_MONTH_WORD}{_YEAR}")
_MONTH_DAY = re.compile(rf"{_MONTH_WORD}\s+{_DAY}{_YEAR}")
_RELATIVE = {"today": 0, "tomorrow": 1, "day after tomorrow": 2, "the day after tomorrow": 2}


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date the caller gave, and the time when the text carried one (ISO form)."""

    date: date
    time: time | None = None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _this_or_next_year(month: int, day: int, today: date) -> date | None:
    d = _safe_date(today.year, month, day)
    if d is not None and d >= today:
        return d
    return _safe_date(today.year + 1, month, day)


def _this_or_next_month(day: int, today: date) -> date | None:
    d = _safe_date(today.year, today.month, day)
    if d is not None and d >= today:
        return d
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return _safe_date(year, month, day)


def _full_year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _parse_digits(text: str, today: date) -> date | None:
    n = len(text)
    if n == 8:
        return _safe_date(int(text[4:]), int(text[2:4]), int(text[:2]))
    if n == 6:
        return _safe_date(2000 + int(text[4:]), int(text[2:4]), int(text[:2]))
    if n == 4:
        return _this_or_next_year(int(text[2:]), int(text[:2]), today)
    if n in (1, 2):
        return _this_or_next_month(int(text), today)
    return None


def _parse_iso(text: str, zone: ZoneInfo) -> ParsedDate | None:
    try:
        if len(text) == 10:
            return ParsedDate(date.fromisoformat(text))
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return ParsedDate(moment.date(), moment.time().replace(second=0, microsecond=0))


def _parse_month_words(text: str, today: date) -> date | None:
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        m = pattern.fullmatch(text)
        if m is None or m.group(month_group) not in _MONTHS:
            continue
        month, day = _MONTHS[m.group(month_group)], int(m.group(day_group))
        if m.group(3):
            return _safe_date(int(m.group(3)), month, day)
        return _this_or_next_year(month, day, today)
    return None


def _parse_weekday_words(text: str, today: date) -> date | None:
    name = text.removeprefix("next ").removeprefix("this ").strip()
    if name not in _WEEKDAYS:
        return None
    ahead = (_WEEKDAYS[name] - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=ahead)


@lru_cache(maxsize=4096)  # callers say the same few dates: "tomorrow", "25-12-2019", ...
def parse_date(text: str, today: date, zone: ZoneInfo) -> ParsedDate | None:
    """Parse every ``inputDate`` form of SPEC 2.1 (day before month); None if unparseable."""
    s = " ".join(text.strip().lower().split())
    if not s:
        return None
    if s.isdigit():
        d = _parse_digits(s, today)
        return ParsedDate(d) if d else None
    if re.match(r"\d{4}-\d{2}-\d{2}", s):
        return _parse_iso(s, zone)
    if s in _RELATIVE:
        return ParsedDate(today + timedelta(days=_RELATIVE[s]))
    m = _SEPARATED.fullmatch(s)
    if m:
        day, month = int(m.group(1)), int(m.group(2))
        if m.group(3):
            d = _safe_date(_full_year(m.group(3)), month, day)
        else:
            d = _this_or_next_year(month, day, today)
        return ParsedDate(d) if d else None
    d = _parse_weekday_words(s, today) or _parse_month_words(s, today)
    return ParsedDate(d) if d else None


_TIME_12 = re.compile(r"(\d{1,2})(?:\s*[:.]\s*(\d{2}))?\s*([ap])\.?\s*m\.?")
_TIME_24 = re.compile(r"(\d{1,2})\s*[:.]\s*(\d{2})(?:\s*[:.]\s*\d{2})?")


@lru_cache(maxsize=4096)
def parse_time(text: str) -> time | None:
    """Parse every ``inputTime`` form of SPEC 2.1; None if unparseable or out of range."""
    s = text.strip().lower()
    if not s:
        return None
    if m := _TIME_12.fullmatch(s):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        hour = hour % 12 + (12 if m.group(3) == "p" else 0)
        return time(hour, minute)
    if m := _TIME_24.fullmatch(s):
        hour, minute = int(m.group(1)), int(m.group(2))
    elif s.isdigit() and len(s) <= 2:
        hour, minute = int(s), 0
    elif s.isdigit() and len(s) in (3, 4):
        hour, minute = int(s[:-2]), int(s[-2:])
    else:
        return None
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


# -- validateDateTime ---------------------------------------------------------


class InvalidReason(StrEnum):
    """Why a requested date or time was refused (the first that applies)."""

    NONE = ""
    UNPARSEABLE = "unparseable"  # the date text could not be read
    PAST = "past"  # before today, or the time is before the earliest bookable minute
    TOO_FAR = "too_far"  # after today + max_days_ahead
    HOLIDAY = "holiday"  # a public or extra holiday that is not worked
    NON_WORKING_DAY = "non_working_day"  # a weekday outside workdays
    OUTSIDE_HOURS = "outside_hours"  # the time is outside the day's window (or unreadable)


@dataclass(frozen=True, eq=False)  # identity hash: the memo hands out the same object
class Verdict:
    """Everything validateDateTime answers, before it is turned into flow keys."""

    slot: datetime
    window: Window
    date_is_valid: bool
    time_is_valid: bool
    reason: InvalidReason
    holiday_name: str


def _date_reason(cal: BusinessCalendar, d: date, today: date) -> InvalidReason:
    if d < today:
        return InvalidReason.PAST
    if d > today + timedelta(days=cal.max_days_ahead):
        return InvalidReason.TOO_FAR
    if cal.is_working(d):
        return InvalidReason.NONE
    if cal.holiday_name(d) is not None:
        return InvalidReason.HOLIDAY
    return InvalidReason.NON_WORKING_DAY


MEMO_SIZE = 4096


def evaluate(
    cal: BusinessCalendar,
    now: datetime,
    input_date: str,
    input_time: str | None = None,
    type_name: str | None = None,
) -> Verdict | None:
    """The algorithm of SPEC 2.1; None when no working date lies within 366 days.

    "now" matters only through today and the earliest minute, so answers are
    memoised on those: a retried or common request costs a dict lookup.
    """
    today, earliest = cal.moment(now)
    key = (input_date, input_time, type_name, today, earliest)
    if key in cal.verdicts:
        return cal.verdicts[key]
    verdict = _evaluate(cal, today, earliest, input_date, input_time, type_name)
    if len(cal.verdicts) >= MEMO_SIZE:
        cal.verdicts.clear()
    if verdict is not None:
        cal.verdicts[key] = verdict
    return verdict


def _evaluate(
    cal: BusinessCalendar,
    today: date,
    earliest: datetime,
    input_date: str,
    input_time: str | None,
    type_name: str | None,
) -> Verdict | None:
    tz = cal.timezone
    parsed = parse_date(input_date, today, tz)
    wanted: time | None = None
    if input_time is not None and input_time.strip():
        wanted = parse_time(input_time)
        time_given = True
    else:
        time_given = False
    if parsed is not None and wanted is None and not time_given:
        wanted = parsed.time
        time_given = parsed.time is not None

    if parsed is None:
        reason, holiday = InvalidReason.UNPARSEABLE, ""
    else:
        reason = _date_reason(cal, parsed.date, today)
        name = cal.holiday_name(parsed.date)
        holiday = name if name is not None and not cal.is_working(parsed.date) else ""
    date_ok = reason is InvalidReason.NONE
    in_range = parsed is not None and reason not in (InvalidReason.PAST, InvalidReason.TOO_FAR)
    start = parsed.date if parsed is not None and in_range else today

    slot = cal.next_slot(start, earliest, wanted, type_name)
    if slot is None:
        return None
    judged_day = parsed.date if date_ok and parsed is not None else slot.date()
    window = cal.window(judged_day, type_name)

    time_ok = False
    if wanted is not None:
        requested_day = parsed.date if parsed is not None else judged_day
        too_early = cal.at(requested_day, wanted) < earliest
        time_ok = not too_early and window.contains(wanted)
        if date_ok and not time_ok:
            reason = InvalidReason.PAST if too_early else InvalidReason.OUTSIDE_HOURS
    elif time_given and date_ok:
        reason = InvalidReason.OUTSIDE_HOURS
    return Verdict(
        slot=slot,
        window=cal.window(slot.date(), type_name),
        date_is_valid=date_ok,
        time_is_valid=time_ok,
        reason=reason,
        holiday_name=holiday,
    )


class Calendars(Mapping[str, BusinessCalendar]):
    """The configured calendars by name; ``find`` also matches the name in any case."""

    def __init__(
        self, calendars: Mapping[str, BusinessCalendar], callee: Iterable[str] = ()
    ) -> None:
        self._by_name = dict(calendars)
        self._callee = frozenset(callee)

    def __getitem__(self, name: str) -> BusinessCalendar:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def find(self, name: str) -> BusinessCalendar | None:
        found = self._by_name.get(name)
        if found is not None:
            return found
        wanted = name.lower()
        return next((c for n, c in self._by_name.items() if n.lower() == wanted), None)

    def reads_callee_zone(self, name: str) -> bool:
        """True for a calling calendar read in each callee's own zone (``timezone = "callee"``)."""
        return name in self._callee

    def warm(self, now: datetime) -> None:
        """Build every holiday table a request can reach, so no request pays for it."""
        for c in self._by_name.values():
            c.warm(now.astimezone(c.timezone).date())
