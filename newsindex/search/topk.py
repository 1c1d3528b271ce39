"""Top-k selection per segment and the merge across segments."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence

import numpy as np

from ..index.segment import Segment
from .matches import SegmentMatches

#: One hit: (segment index, doc, score, day).
Pick = tuple[int, int, float, int]
#: One segment's candidates: (segment index, docs, scores, days), the arrays aligned.
_Cands = list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]

SORTS = ("relevance", "date", "oldest")
#: Up to this many candidates, the final order is a Python sort of tuples: on a page of hits
#: that beats a dozen numpy calls on tiny arrays.
_PYTHON_SORT_MAX = 64


def select(
    matches_by_segment: Iterable[tuple[int, SegmentMatches]],
    segments: Sequence[Segment],
    k: int,
    sort: str,
) -> tuple[list[Pick], int]:
    """The best ``k`` (segment index, doc, score, day) of all segments and the total match count.

    Each sort is one total order, used both to cut each segment's candidates and to order
    the page, so a page is always the start of any longer page (paging never repeats or
    skips a hit):

    - ``relevance``: score, then day, then segment, then doc, all descending (equal scores
      list the newer article first, then the one indexed later);
    - ``date``: day, score, segment, doc, all descending;
    - ``oldest``: day ascending, score descending, then segment and doc ascending.

    Undated articles have the smallest day: last under ``date``, first under ``oldest``.
    """
    cands: _Cands = []
    total = 0
    for si, m in matches_by_segment:
        n = len(m.docs)
        total += n if m.count is None else m.count
        if not n or k <= 0:
            continue
        docs, scores = m.docs, m.scores
        if n > k:
            sel: np.ndarray | slice
            if sort == "relevance":
                sel = _best(docs, scores, k, newest=True)
            else:
                sel = _by_day(segments[si], docs, scores, k, newest=sort == "date")
            if isinstance(sel, slice):
                docs, scores = docs[sel], scores[sel]
            else:
                docs, scores = docs.take(sel), scores.take(sel)
        cands.append((si, docs, scores, segments[si].dates.take(docs)))
    if not cands:
        return [], total
    size = sum(len(c[1]) for c in cands)
    if sort == "relevance" and size > max(k, _PYTHON_SORT_MAX):
        cands = _above_kth(cands, k)
        size = sum(len(c[1]) for c in cands)
    if size <= _PYTHON_SORT_MAX:
        picked = _python_order(cands, k, sort)
        if picked is not None:
            return picked, total
    return _numpy_order(cands, k, sort), total


def _above_kth(cands: _Cands, k: int) -> _Cands:
    """``cands`` without the rows scored below the k-th best score of them all: they cannot
    rank by relevance (many segments each give ``k``). Unchanged when a score is NaN (which
    the order puts last, where the k-th best would count it first)."""
    scores = np.concatenate([c[2] for c in cands])
    if np.isnan(scores.sum()):
        return cands
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    out: _Cands = []
    for si, docs, sc, days in cands:
        keep = sc >= kth
        if keep.all():
            out.append((si, docs, sc, days))
        elif keep.any():
            out.append((si, docs[keep], sc[keep], days[keep]))
    return out


def _best(docs: np.ndarray, scores: np.ndarray, k: int, newest: bool) -> np.ndarray:
    """Indices of the ``k`` best by score, ties to the higher (``newest``) or lower doc."""
    n = len(docs)
    if n <= k:
        return np.arange(n)
    kth = np.partition(scores, n - k)[n - k]
    sel = (scores >= kth).nonzero()[0]
    if len(sel) > k:  # ties at the boundary: the doc order decides
        tie = -docs.take(sel) if newest else docs.take(sel)
        sel = sel[np.lexsort((tie, -scores.take(sel)))[:k]]
    return sel


def _by_day(
    seg: Segment, docs: np.ndarray, scores: np.ndarray, k: int, newest: bool
) -> np.ndarray | slice:
    """Indices of the first ``k`` of ``docs`` (sorted, so in day order: a segment's documents
    are date-sorted) by day (newest or oldest first), then score, then doc.

    Every doc of a day before the cut is in; of the day the cut falls in, the best scored
    (or all of it, as a slice, when that adds at most ``k`` candidates: the merge orders them).
    """
    n = len(docs)
    dates = seg.dates
    if newest:
        day = dates[docs[n - k]]
        if dates[docs[n - k - 1]] != day:  # the cut falls between two days
            return slice(n - k, n)
    else:
        day = dates[docs[k - 1]]
        if dates[docs[k]] != day:
            return slice(0, k)
    days, starts = seg.day_starts()
    i = bisect_left(days, int(day))
    lo = starts[i]
    hi = starts[i + 1] if i + 1 < len(starts) else seg.ndocs
    # (bounds of the docs' own dtype: mixed dtypes would make numpy convert all of docs)
    a, b = docs.searchsorted(np.array((lo, hi), dtype=docs.dtype)).tolist()
    if newest:
        if n - a <= 2 * k:  # a few extra candidates cost less than choosing among them here
            return slice(a, n)
        return np.concatenate(
            (a + _best(docs[a:b], scores[a:b], k - (n - b), True), np.arange(b, n))
        )
    if b <= 2 * k:
        return slice(0, b)
    return np.concatenate((np.arange(a), a + _best(docs[a:b], scores[a:b], k - a, False)))


def _python_order(cands: _Cands, k: int, sort: str) -> list[Pick] | None:
    """The same orders as _numpy_order's lexsorts ((segment, doc) is unique, so no ties are
    left); None when a score is NaN, which only numpy orders consistently.

    Rows are built with their fields in sort-key order, so one plain tuple sort orders them
    (no key function called per row)."""
    rows: list[tuple[float, float, int, int]] = []
    check = 0.0  # NaN if any score is NaN (scores are never negative, so no inf - inf)
    for si, docs, scores, days in cands:
        sc = scores.tolist()
        check += sum(sc)
        segs = [si] * len(sc)
        if sort == "relevance":  # score, day, segment, doc: all descending
            rows.extend(zip(sc, days.tolist(), segs, docs.tolist()))
        elif sort == "date":  # day, score, segment, doc: all descending
            rows.extend(zip(days.tolist(), sc, segs, docs.tolist()))
        else:  # day ascending, score descending (negated), segment and doc ascending
            rows.extend(zip(days.tolist(), (-scores).tolist(), segs, docs.tolist()))
    if math.isnan(check):
        return None
    if sort == "relevance":
        rows.sort(reverse=True)
        return [(si, doc, score, int(day)) for score, day, si, doc in rows[:k]]
    if sort == "date":
        rows.sort(reverse=True)
        return [(si, doc, score, int(day)) for day, score, si, doc in rows[:k]]
    rows.sort()
    return [(si, doc, -neg, int(day)) for day, neg, si, doc in rows[:k]]


def _numpy_order(cands: _Cands, k: int, sort: str) -> list[Pick]:
    seg = np.concatenate([np.full(len(c[1]), c[0], dtype=np.int64) for c in cands])
    doc = np.concatenate([c[1].astype(np.int64) for c in cands])
    score = np.concatenate([c[2] for c in cands])
    day = np.concatenate([c[3].astype(np.int64) for c in cands])
    if sort == "relevance":
        order = np.lexsort((-doc, -seg, -day, -score))
    elif sort == "date":
        order = np.lexsort((-doc, -seg, -score, -day))
    else:
        order = np.lexsort((doc, seg, -score, day))
    order = order[:k]
    return list(
        zip(seg[order].tolist(), doc[order].tolist(), score[order].tolist(), day[order].tolist())
    )


def article_ids(segments: Sequence[Segment], picked: Sequence[Pick]) -> list[str]:
    """The article id of each pick, read a segment at a time (StringTable.many)."""
    sis = {p[0] for p in picked}
    if len(sis) == 1:
        return segments[picked[0][0]].ids.many([p[1] for p in picked])
    found: dict[tuple[int, int], str] = {}
    for si in sis:
        docs = [p[1] for p in picked if p[0] == si]
        found.update(zip([(si, doc) for doc in docs], segments[si].ids.many(docs)))
    return [found[p[0], p[1]] for p in picked]
