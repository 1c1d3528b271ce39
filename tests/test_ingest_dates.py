"""Date parsing: every accepted format, the date/datetime distinction, errors, and real data."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsindex.errors import NewsIndexError
from newsindex.ingest import DateParseError, parse_news_date

UTC = dt.timezone.utc
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2016-11-09", dt.date(2016, 11, 9)),
        (" 2016-11-09 ", dt.date(2016, 11, 9)),
        ("2016-11-09T10:30", dt.datetime(2016, 11, 9, 10, 30)),
        ("2016-11-09T10:30:00Z", dt.datetime(2016, 11, 9, 10, 30, tzinfo=UTC)),
        (
            "2016-11-09 10:30:00+02:00",
            dt.datetime(2016, 11, 9, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        ),
        (
            "2016-11-09T10:30:00-0530",
            dt.datetime(
                2016, 11, 9, 10, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))
            ),
        ),
        ("1987-02-26T15:01:01.790", dt.datetime(1987, 2, 26, 15, 1, 1, 790000)),
        ("2016-11-09T10:30:00.123456789Z", dt.datetime(2016, 11, 9, 10, 30, 0, 123456, tzinfo=UTC)),
        ("November 9, 2016", dt.date(2016, 11, 9)),
        ("Nov 9, 2016", dt.date(2016, 11, 9)),
        ("NOV 9 2016", dt.date(2016, 11, 9)),
        ("Sept. 9, 2016", dt.date(2016, 9, 9)),
        ("9 November 2016", dt.date(2016, 11, 9)),
        ("9th of November, 2016", dt.date(2016, 11, 9)),
        ("Wednesday, November 9, 2016", dt.date(2016, 11, 9)),
        ("November 9, 2016 10:30 PM", dt.datetime(2016, 11, 9, 22, 30)),
        ("November 9, 2016, 12:05 a.m. GMT", dt.datetime(2016, 11, 9, 0, 5, tzinfo=UTC)),
        ("26-FEB-1987 15:01:01.79", dt.datetime(1987, 2, 26, 15, 1, 1, 790000)),
        ("3-MAR-1987  09:15:05.40", dt.datetime(1987, 3, 3, 9, 15, 5, 400000)),
        ("27-MAR-1987 00:02:59.13RM", dt.datetime(1987, 3, 27, 0, 2, 59, 130000)),
        ("26-FEB-1987", dt.date(1987, 2, 26)),
        ("Wed, 09 Nov 2016 10:30:00 +0000", dt.datetime(2016, 11, 9, 10, 30, tzinfo=UTC)),
        ("19 Mar 93 20:10:23 GMT", dt.datetime(1993, 3, 19, 20, 10, 23, tzinfo=UTC)),
        (
            "Wed, 09 Nov 2016 10:30:00 EST",
            dt.datetime(2016, 11, 9, 10, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5))),
        ),
    ],
)
def test_formats(text, expected):
    value = parse_news_date(text)
    assert value == expected
    assert type(value) is type(expected)  # a date stays a date: no invented midnight
    if isinstance(expected, dt.datetime):
        assert value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "soon",
        "09/11/2016",
        "2016-02-30",
        "Nov 31, 2016",
        "2016-11-09T25:00",
        "13:00",
        "Smarch 9, 2016",
        "2016-11",
        "13:00 PM November 9, 2016",
        "November 9, 2016 13:00 PM",
        "2016-11-09T10:30+25:00",
    ],
)
def test_unparseable_dates_raise_a_value_error_quoting_the_value(text):
    with pytest.raises(DateParseError) as info:
        parse_news_date(text)
    assert isinstance(info.value, ValueError) and isinstance(info.value, NewsIndexError)
    assert repr(text) in str(info.value)
    assert info.value.value == text


def test_non_strings_are_refused():
    with pytest.raises(DateParseError, match="expected a string, got int"):
        parse_news_date(20161109)  # type: ignore[arg-type]


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_every_day_round_trips_through_the_written_forms(day):
    for form in ("%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%A, %B %d, %Y", "%d-%b-%Y"):
        assert parse_news_date(day.strftime(form)) == day, form


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_iso_datetimes_round_trip(moment):
    assert parse_news_date(moment.isoformat()) == moment
    aware = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    assert parse_news_date(aware.isoformat()) == aware


@pytest.mark.parametrize("name", ["reuters21578", "20newsgroups"])
def test_raw_dates_of_real_collections_match_their_converted_dates(name):
    """The converters' ``date`` is the reference for our parse of their ``extra.date_raw``."""
    path = DATA / name / "docs.jsonl.gz"
    if not path.exists():
        pytest.skip(f"../shared/data/{name} not present")
    checked = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, 3000):
            doc = json.loads(line)
            raw, converted = doc["extra"].get("date_raw"), doc["date"]
            if not raw or not converted:
                continue
            ours, theirs = parse_news_date(raw), dt.datetime.fromisoformat(converted)
            if re.search(r"[+-]\d\d$", raw):
                # email.utils (the converter) reads a 2-digit zone "+02" as 2 minutes; it is hours.
                assert ours.replace(tzinfo=None) == theirs.replace(tzinfo=None), raw
                assert ours.utcoffset() == dt.timedelta(hours=int(raw[-3:])), raw
            else:
                assert ours == theirs, raw
            checked += 1
    assert checked > 2000
