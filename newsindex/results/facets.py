"""Facet counts over *all* matching articles (not just the page): sources, sections, dates.

Counts come straight from the per-segment columns with ``bincount``; only the distinct values
(a few hundred at most, usually) are touched in Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..index.segment import Segment
from ..schema import NO_DATE
from ..search.matches import SegmentMatches

BUCKETS = ("day", "month", "year")
#: Up to this many days of span, the date histogram counts days; then months; then years.
DAY_SPAN_LIMIT = 62
MONTH_SPAN_LIMIT = 366 * 5
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Facets:
    """Counts by value, most frequent first; ``dates`` in chronological order."""

    sources: list[tuple[str, int]] = field(default_factory=list)
    sections: list[tuple[str, int]] = field(default_factory=list)
    authors: list[tuple[str, int]] = field(default_factory=list)
    dates: list[tuple[str, int]] = field(default_factory=list)
    date_bucket: str = "month"
    undated: int = 0

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
            counts = np.bincount(seg.keyword_codes[kname][m.docs] + 1)
            for code in np.flatnonzero(counts[1:]).tolist():
                counter[seg.keyword_value(kname, code)] += int(counts[code + 1])
        day_chunks.append(seg.dates[m.docs])
    days = np.concatenate(day_chunks) if day_chunks else np.zeros(0, dtype=np.int32)
    dated = days[days != NO_DATE].astype(np.int64)
    facets = Facets(
        sources=keyword["source"].most_common(top),
        sections=keyword["section"].most_common(top),
        authors=keyword["author"].most_common(top),
        undated=int(len(days) - len(dated)),
    )
    if len(dated):
        bucket = date_bucket or _bucket_for_span(int(dated.max() - dated.min()))
        unit = {"day": "D", "month": "M", "year": "Y"}[bucket]
        stamps = (_EPOCH + dated.astype("timedelta64[D]")).astype(f"datetime64[{unit}]")
        values, counts = np.unique(stamps, return_counts=True)
        facets.dates = [(str(v), int(c)) for v, c in zip(values, counts)]
        facets.date_bucket = bucket
    elif date_bucket:
        facets.date_bucket = date_bucket
    return facets


def _bucket_for_span(span_days: int) -> str:
    if span_days <= DAY_SPAN_LIMIT:
        return "day"
    if span_days <= MONTH_SPAN_LIMIT:
        return "month"
    return "year"
