"""Facet counts over *all* matching articles (not just the page): sources, sections, dates.

Counts come straight from the per-segment columns with ``bincount``; only the distinct values
(a few hundred at most, usually) are touched in Python.

A keyword facet counts what its filter matches: values are grouped by their match key
(:func:`~newsindex.schema.normalize_keyword`: "World", "world" and "WORLD" are one value,
shown in its most common spelling), so ``section:"<value>"`` added to the query finds
exactly the count shown. An author facet also counts the articles whose author has that
value as one of its words, as ``author:`` does ("Smith" counts "John Smith" too). Values
with no letter or digit, which no filter can name, are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..index.segment import Segment
from ..schema import NO_DATE, WORD_MATCHED, keyword_words, normalize_keyword
from ..search.matches import SegmentMatches

BUCKETS = ("day", "month", "year")
#: Up to this many days of span, the date histogram counts days; then months; then years.
DAY_SPAN_LIMIT = 62
MONTH_SPAN_LIMIT = 366 * 5
_EPOCH = np.datetime64("1970-01-01", "D")
#: The ends of a histogram's bars: 0 to 7 eighths of a cell.
_EIGHTHS = ("", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589")


@dataclass
class Facets:
    """Counts by value, most frequent first; ``dates`` in chronological order."""

    sources: list[tuple[str, int]] = field(default_factory=list)
    sections: list[tuple[str, int]] = field(default_factory=list)
    authors: list[tuple[str, int]] = field(default_factory=list)
    dates: list[tuple[str, int]] = field(default_factory=list)
    date_bucket: str = "month"
    undated: int = 0

    def histogram(self, width: int = 40, rows: int = 24) -> list[tuple[str, int, str]]:
        """The date counts as a bar chart: ``(bucket, count, bar)`` in date order, each bar
        ``width`` cells for the largest count, drawn in eighths of a cell with Unicode block
        characters (a count > 0 always shows at least one eighth). Buckets without stories
        are not listed; with more than ``rows`` buckets, the newest ``rows``."""
        if width < 1 or rows < 1:
            raise ConfigError(f"histogram width and rows must be >= 1, got {width!r}, {rows!r}")
        shown = self.dates[-rows:]
        top = max((count for _, count in shown), default=0)
        chart = []
        for bucket, count in shown:
            eighths = max(1, round(8 * width * count / top)) if count else 0
            full, part = divmod(eighths, 8)
            chart.append((bucket, count, "\u2588" * full + _EIGHTHS[part]))
        return chart

    def to_dict(self) -> dict:
        return {
            "sources": self.sources,
            "sections": self.sections,
            "authors": self.authors,
            "dates": self.dates,
            "date_bucket": self.date_bucket,
            "undated": self.undated,
        }


def compute_facets(
    segments: Sequence[Segment],
    matches: Iterable[tuple[int, SegmentMatches]],
    date_bucket: str | None = None,
    top: int = 20,
) -> Facets:
    """Facets of ``matches`` (a list of ``(segment index, SegmentMatches)``)."""
    if date_bucket is not None and date_bucket not in BUCKETS:
        raise ConfigError(f"date_bucket must be one of {', '.join(BUCKETS)}, got {date_bucket!r}")
    keyword, days = count_facets(segments, matches)
    return facets_from_counts(keyword, days, date_bucket, top)


def count_facets(
    segments: Sequence[Segment], matches: Iterable[tuple[int, SegmentMatches]]
) -> tuple[dict[str, Counter[str]], np.ndarray]:
    """The raw counts facets are made of: per keyword field, stored value -> articles (in
    the order first met), and the day of every match. Counts of parts of a collection (the
    shards of a sharded index) add up to the whole's: sum the counters, join the days."""
    # Per field: raw stored value -> articles, in the order first met (ties keep that order).
    keyword: dict[str, Counter[str]] = {
        "source": Counter(),
        "section": Counter(),
        "author": Counter(),
    }
    day_chunks = []
    for si, m in matches:
        if not len(m.docs):
            continue
        seg = segments[si]
        for kname, counter in keyword.items():
            # (take: faster than [] here; +1 in int32, as the column may be int8: -1, no
            # value, counts at 0)
            counts = np.bincount(np.add(seg.keyword_codes[kname].take(m.docs), 1, dtype=np.int32))
            for code in np.flatnonzero(counts[1:]).tolist():
                counter[seg.keyword_value(kname, code)] += int(counts[code + 1])
        day_chunks.append(seg.dates.take(m.docs))
    days = np.concatenate(day_chunks) if day_chunks else np.zeros(0, dtype=np.int32)
    return keyword, days


def facets_from_counts(
    keyword: dict[str, Counter[str]], days: np.ndarray, date_bucket: str | None, top: int = 20
) -> Facets:
    """Facets of raw counts (see :func:`count_facets`)."""
    dated = days[days != NO_DATE]
    by_key = {kname: _by_key(kname, raw) for kname, raw in keyword.items()}
    facets = Facets(
        sources=by_key["source"][:top],
        sections=by_key["section"][:top],
        authors=by_key["author"][:top],
        undated=int(len(days) - len(dated)),
    )
    if len(dated):
        first, last = int(dated.min()), int(dated.max())
        bucket = date_bucket or _bucket_for_span(last - first)
        unit = {"day": "D", "month": "M", "year": "Y"}[bucket]
        # Matches per day (a count, not a sort: an archive's matches are millions, its days
        # thousands), then the days' buckets: they follow the days' order, so each bucket's
        # days are one run.
        per_day = np.bincount(dated - np.int32(first))
        present = np.flatnonzero(per_day)
        day_stamps = _EPOCH + (present + first).astype("timedelta64[D]")
        stamps = day_stamps.astype(f"datetime64[{unit}]")
        starts = np.flatnonzero(np.r_[True, stamps[1:] != stamps[:-1]])
        counts = np.add.reduceat(per_day[present], starts)
        facets.dates = [(str(v), int(c)) for v, c in zip(stamps[starts], counts)]
        facets.date_bucket = bucket
    elif date_bucket:
        facets.date_bucket = date_bucket
    return facets


def _by_key(field: str, raw: Counter[str]) -> list[tuple[str, int]]:
    """``(shown value, count)`` per match key, most articles first (ties: first met)."""
    spellings: dict[str, Counter[str]] = {}
    for value, n in raw.items():
        key = normalize_keyword(value)
        if key:
            spellings.setdefault(key, Counter())[value] += n
    counts = {key: sum(c.values()) for key, c in spellings.items()}
    if field in WORD_MATCHED:  # author:smith also matches "John Smith"
        for value, n in raw.items():
            key = normalize_keyword(value)
            for word in set(keyword_words(value)):
                if word != key and word in counts:
                    counts[word] += n
    shown = {key: c.most_common(1)[0][0] for key, c in spellings.items()}
    ranked = sorted(counts, key=counts.__getitem__, reverse=True)  # stable: ties first met
    return [(shown[key], counts[key]) for key in ranked]


def _bucket_for_span(span_days: int) -> str:
    if span_days <= DAY_SPAN_LIMIT:
        return "day"
    if span_days <= MONTH_SPAN_LIMIT:
        return "month"
    return "year"
