"""The fields of an article and how each is indexed: text (analyzed, scored), keyword, date."""

from __future__ import annotations

import datetime as _dt
import re

from .analysis.filters import fold_accents

#: Analyzed, positional, scored with BM25F. Order matters: it is the on-disk field order.
TEXT_FIELDS = ("title", "body")
#: Exact-value columns used as filters and facets; matched after :func:`normalize_keyword`.
KEYWORD_FIELDS = ("source", "section", "author")
DATE_FIELD = "date"
#: Stored only (returned with hits, not searchable).
STORED_ONLY = ("url", "extra")
#: The fields a query may name.
QUERY_FIELDS = TEXT_FIELDS + KEYWORD_FIELDS + (DATE_FIELD,)
#: The text field whose analyzer reads query words that name no field (such words search
#: every text field); also the fallback for a field without an analyzer of its own.
UNFIELDED_ANALYZER = "body"

#: Day number stored for an article without a date: sorts before every real date.
NO_DATE = -(2**31)
_EPOCH = _dt.date(1970, 1, 1)
_NON_ALNUM = re.compile(r"[\W_]+")


def normalize_keyword(value: str) -> str:
    """The match key of a keyword value: folded, lowercased, spaces and punctuation removed.

    ``"TRT World"``, ``"trt-world"`` and ``"trtworld"`` all give ``"trtworld"``.
    """
    return _NON_ALNUM.sub("", fold_accents(value.lower()))


def keyword_words(value: str) -> list[str]:
    """The normalized words of a keyword value (``"Staff Reporter"`` -> staff, reporter)."""
    return [w for w in _NON_ALNUM.split(fold_accents(value.lower())) if w]


#: Keyword fields whose single words match too (``author:smith`` finds "John Smith"); sections
#: and sources match whole values only, so ``section:gas`` does not find "nat-gas".
WORD_MATCHED = frozenset({"author"})


def keyword_keys(value: str, field: str) -> set[str]:
    """The normalized query keys that match a stored keyword value of ``field``."""
    keys = {normalize_keyword(value)}
    if field in WORD_MATCHED:
        keys.update(keyword_words(value))
    return keys


def keyword_matches(value: str, key: str, field: str = "author") -> bool:
    """Whether a stored keyword value of ``field`` matches a normalized query key."""
    return key in keyword_keys(value, field)


def day_number(day: _dt.date | None) -> int:
    """Days since 1970-01-01 (a datetime's time ignored); :data:`NO_DATE` for None."""
    if day is None:
        return NO_DATE
    if isinstance(day, _dt.datetime):
        day = day.date()
    return (day - _EPOCH).days


def day_from_number(number: int) -> _dt.date | None:
    """Inverse of :func:`day_number`."""
    if number == NO_DATE:
        return None
    return _EPOCH + _dt.timedelta(days=int(number))
