"""Date filter values: validated at parse time, resolved to inclusive day-number ranges later.

Grammar of a value (after ``date:``)::

    spec     := endpoint | [endpoint] ".." [endpoint] | (">=" | ">" | "<=" | "<") endpoint
    endpoint := YYYY | YYYY-MM | YYYY-MM-DD | "today" | "yesterday" | "last-" N ("d"|"w"|"m"|"y")

Every endpoint is a span of days: ``2016`` is 2016-01-01..2016-12-31, ``last-7d`` is the 7 days
ending today (today included). A range starts at the first day of its start endpoint and ends
at the last day of its end endpoint, so ``2016-01..2016-03`` is 2016-01-01..2016-03-31;
``>X`` starts the day after X ends and ``<X`` ends the day before X starts.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass

from ..errors import NewsIndexError
from ..schema import day_number

_POINT = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_LAST = re.compile(r"last-(\d{1,6})([dwmy])")
_DAY_RANGE = re.compile(r"(?:(\d{4})-(\d{2})-(\d{2}))?\.\.(?:(\d{4})-(\d{2})-(\d{2}))?")
EXPECTED = (
    "expected a date such as 2016, 2016-11, 2016-11-09, 2016-11-01..2016-11-30, >=2016-11-01, "
    "<2017, today, yesterday or last-7d (d, w, m, y)"
)
#: Any fixed day: validating absolute ranges does not depend on the clock.
_ANY_DAY = _dt.date(2000, 1, 1)


class DateSpecError(NewsIndexError, ValueError):
    """A bad date value: ``reason`` says why, ``offset`` is where in the value."""

    def __init__(self, reason: str, offset: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


@dataclass(frozen=True)
class _Endpoint:
    """A span of days: absolute (``first``/``last`` set) or relative to today."""

    first: _dt.date | None = None
    last: _dt.date | None = None
    relative: str = ""  # "today", "yesterday" or "last"
    count: int = 0
    unit: str = ""

    def span(self, today: _dt.date) -> tuple[int | None, int]:
        """(first, last) day numbers; first is None when it falls before year 1."""
        if not self.relative:
            return day_number(self.first), day_number(self.last)
        end = day_number(today)
        if self.relative == "today":
            return end, end
        if self.relative == "yesterday":
            return end - 1, end - 1
        if self.unit in "dw":
            days = self.count * (7 if self.unit == "w" else 1)
            return end - days + 1, end
        months = self.count * (12 if self.unit == "y" else 1)
        start = _months_before(today, months)
        return (None if start is None else day_number(start) + 1), end


@dataclass(frozen=True)
class DateSpec:
    """A parsed value: an inclusive range whose ends are taken from endpoints."""

    start: _Endpoint | None
    start_after: bool  # ">X": start the day after X ends
    end: _Endpoint | None
    end_before: bool  # "<X": end the day before X starts

    @property
    def relative(self) -> bool:
        return any(e is not None and e.relative for e in (self.start, self.end))

    def resolve(self, today: _dt.date) -> tuple[int | None, int | None]:
        """Inclusive (start, end) day numbers; None is open. Raises on an empty range."""
        start = end = None
        if self.start is not None:
            first, last = self.start.span(today)
            start = last + 1 if self.start_after else first
        if self.end is not None:
            first, last = self.end.span(today)
            if self.end_before:
                end = None if first is None else first - 1
                if end is None:  # "before the start of time": nothing qualifies
                    raise DateSpecError("empty date range: it ends before year 1")
            else:
                end = last
        if start is not None and end is not None and end < start:
            raise DateSpecError("empty date range: the end is before the start")
        return start, end


def _months_before(day: _dt.date, months: int) -> _dt.date | None:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        return None
    return _dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _endpoint(text: str, offset: int) -> _Endpoint:
    if text in ("today", "yesterday"):
        return _Endpoint(relative=text)
    m = _LAST.fullmatch(text)
    if m is not None:
        count = int(m.group(1))
        if count < 1:
            raise DateSpecError(f"'{text}': the count must be at least 1", offset)
        return _Endpoint(relative="last", count=count, unit=m.group(2))
    m = _POINT.fullmatch(text)
    if m is None:
        raise DateSpecError(EXPECTED, offset)
    year = int(m.group(1))
    try:
        if m.group(2) is None:
            return _Endpoint(_dt.date(year, 1, 1), _dt.date(year, 12, 31))
        month = int(m.group(2))
        if m.group(3) is None:
            days = calendar.monthrange(year, month)[1] if 1 <= month <= 12 and year else 0
            return _Endpoint(_dt.date(year, month, 1), _dt.date(year, month, days or 1))
        day = _dt.date(year, month, int(m.group(3)))
        return _Endpoint(day, day)
    except ValueError as exc:  # datetime says what is wrong: "month must be in 1..12", ...
        reason = str(exc)
        if "year" in reason:
            reason = "year must be between 0001 and 9999"
        raise DateSpecError(reason, offset) from None


def parse_spec(spec: str) -> DateSpec:
    """Parse a lowercased date value; raises :class:`DateSpecError` (bad date, empty range)."""
    if spec[:2] in (">=", "<="):
        op, rest, offset = spec[:2], spec[2:], 2
    elif spec[:1] in (">", "<"):
        op, rest, offset = spec[:1], spec[1:], 1
    else:
        op, rest, offset = "", spec, 0
    if op:
        point = _endpoint(rest, offset)
        if op[0] == ">":
            parsed = DateSpec(point, op == ">", None, False)
        else:
            parsed = DateSpec(None, False, point, op == "<")
    elif ".." in spec:
        left, _, right = spec.partition("..")
        if not left and not right:
            raise DateSpecError("expected a date before or after '..'", 0)
        start = _endpoint(left, 0) if left else None
        end = _endpoint(right, len(left) + 2) if right else None
        parsed = DateSpec(start, False, end, False)
    else:
        point = _endpoint(spec, 0)
        parsed = DateSpec(point, False, point, False)
    if not parsed.relative:
        parsed.resolve(_ANY_DAY)  # an empty absolute range is a syntax error, found now
    return parsed


def resolve(spec: str, today: _dt.date | None) -> tuple[int | None, int | None]:
    """Inclusive (start, end) day numbers of a date value, ``today`` (None: the system date)
    anchoring relative dates."""
    days = _day_range(spec)
    if days is not None:
        return days
    return parse_spec(spec).resolve(today or _dt.date.today())


def _day_range(spec: str) -> tuple[int | None, int | None] | None:
    """``YYYY-MM-DD..YYYY-MM-DD`` (either end may be left out), the shape programs send, read
    without building a DateSpec; None for anything else, or anything wrong (the general path
    then says what)."""
    m = _DAY_RANGE.fullmatch(spec)
    if m is None or not (m.group(1) or m.group(4)):
        return None
    y1, m1, d1, y2, m2, d2 = m.groups()
    try:
        start = day_number(_dt.date(int(y1), int(m1), int(d1))) if y1 else None
        end = day_number(_dt.date(int(y2), int(m2), int(d2))) if y2 else None
    except ValueError:
        return None
    if start is not None and end is not None and end < start:
        return None
    return start, end
