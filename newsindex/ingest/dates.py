"""Parse the date formats news data comes in, with the standard library only.

Accepted (case-insensitive, surrounding spaces ignored):

- ISO 8601: ``2016-11-09``, ``2016-11-09T10:30``, ``2016-11-09T10:30:00Z``,
  ``2016-11-09 10:30:00.123+02:00`` (any number of fraction digits, ``Z`` or ``+HH[:MM]``).
- Month names, month first or day first, optional weekday and time:
  ``November 9, 2016``, ``Nov 9, 2016``, ``Sept. 9 2016``, ``9 November 2016``,
  ``Wednesday, November 9, 2016 10:30 AM``, ``9 Nov 2016 10:30:00 GMT``.
- Reuters-21578 timestamps: ``26-FEB-1987 15:01:01.79`` (the collection's trailing
  transmission codes, as in ``27-MAR-1987 00:02:59.13RM``, are ignored).
- RFC 2822 (e-mail and RSS) through :func:`email.utils.parsedate_to_datetime`:
  ``Wed, 09 Nov 2016 10:30:00 +0000``, ``19 Mar 93 20:10:23 GMT``, ``... EST``.

A value without a time gives a :class:`datetime.date`; with a time, a :class:`datetime.datetime`
(aware when a zone is given, naive otherwise or for ``-0000``, which RFC 2822 and RFC 3339 use
for "local zone unknown"). Numeric day/month forms such as ``09/11/2016`` are
refused on purpose: they mean different days in the US and elsewhere.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import re

from ..errors import NewsIndexError

__all__ = ["DateParseError", "parse_news_date"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>[a-z]{3,9})\.?"
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6}\.?,?\s+)?"
_ORD = r"(?:st|nd|rd|th)?"
_ZONE = r"(?P<zone>z|utc|gmt|ut|[+-]\d{2}(?::?\d{2})?)"
_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?\s*" + _ZONE + "?"
)

_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[t ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"\s*" + _ZONE + "?)?"
)
_REUTERS = re.compile(
    r"(?P<day>\d{1,2})-(?P<month>[a-z]{3})-(?P<year>\d{4})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<frac>\d{1,6}))?)?"
    r"[a-z]{0,2})?"
)
_MONTH_FIRST = re.compile(
    _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})" + _ORD + r",?\s+(?P<year>\d{4})"
    r"(?:(?:,\s*|\s+)(?:at\s+)?" + _TIME + ")?"
)
_DAY_FIRST = re.compile(
    _WEEKDAY + r"(?P<day>\d{1,2})" + _ORD + r"\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})"
    r"(?:(?:,\s*|\s+)(?:at\s+)?" + _TIME + ")?"
)
# RFC 2822 always has a time; requiring one keeps email.utils from guessing at odd strings.
_RFC_HINT = re.compile(r"\d{1,2}:\d{2}")

_EXAMPLES = (
    "2016-11-09, 2016-11-09T10:30:00Z, November 9, 2016, 9 Nov 2016, "
    "26-FEB-1987 15:01:01.79 or Wed, 09 Nov 2016 10:30:00 +0000"
)


class DateParseError(NewsIndexError, ValueError):
    """A date string matched none of the accepted formats; ``.value`` is the string."""

    def __init__(self, value: object, reason: str = ""):
        self.value = value
        if reason:
            super().__init__(f"invalid date {value!r}: {reason}")
        else:
            super().__init__(f"unrecognised date {value!r}; expected e.g. {_EXAMPLES}")


def parse_news_date(value: str) -> _dt.date | _dt.datetime:
    """Parse a date as written in news data.

    Args:
        value: the text, e.g. ``"November 9, 2016"`` or ``"2016-11-09T10:30:00Z"``.

    Returns:
        A :class:`datetime.date` when the text has no time, else a :class:`datetime.datetime`
        (timezone-aware when the text names a zone).

    Raises:
        DateParseError: (a ``ValueError``) when no accepted format matches, or the day does not
            exist (``2016-02-30``); the message quotes the value.

    Example:
        >>> parse_news_date("Nov 9, 2016")
        datetime.date(2016, 11, 9)
    """
    if not isinstance(value, str):
        raise DateParseError(value, f"expected a string, got {type(value).__name__}")
    text = " ".join(value.split()).lower()
    if not text:
        raise DateParseError(value, "empty")
    for pattern in (_ISO, _REUTERS, _MONTH_FIRST, _DAY_FIRST):
        match = pattern.fullmatch(text)
        if match:
            return _build(match.groupdict(), value)
    if _RFC_HINT.search(text):
        try:
            return email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    raise DateParseError(value)


def _build(parts: dict[str, str | None], value: str) -> _dt.date | _dt.datetime:
    month_text = parts["month"] or ""
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text)
    if month is None:
        raise DateParseError(value, f"unknown month {month_text!r}")
    try:
        day = _dt.date(int(parts["year"] or 0), month, int(parts["day"] or 0))
        if parts.get("hour") is None:
            return day
        hour = _hour(int(parts["hour"] or 0), parts.get("ampm"), value)
        frac = (parts.get("frac") or "").ljust(6, "0")[:6]
        return _dt.datetime(
            day.year,
            day.month,
            day.day,
            hour,
            int(parts["minute"] or 0),
            int(parts.get("second") or 0),
            int(frac),
            tzinfo=_zone(parts.get("zone"), value),
        )
    except ValueError as exc:  # day 30 of February, hour 25 ...
        raise DateParseError(value, str(exc)) from None


def _hour(hour: int, ampm: str | None, value: str) -> int:
    if not ampm:
        return hour
    if not 1 <= hour <= 12:
        raise DateParseError(value, f"hour {hour} with am/pm")
    return hour % 12 + (12 if ampm.startswith("p") else 0)


def _zone(zone: str | None, value: str) -> _dt.tzinfo | None:
    if zone is None:
        return None
    if zone in ("z", "utc", "gmt", "ut"):
        return _dt.timezone.utc
    digits = zone[1:].replace(":", "")
    if zone[0] == "-" and not digits.strip("0"):
        return None  # "-0000": UTC time, local zone unknown (RFC 2822 3.3), naive as email.utils
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
    if minutes >= 24 * 60:
        raise DateParseError(value, f"zone offset {zone!r} out of range")
    return _dt.timezone(_dt.timedelta(minutes=-minutes if zone[0] == "-" else minutes))
