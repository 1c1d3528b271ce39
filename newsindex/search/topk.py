"""Top-k selection per segment and the merge across segments."""

from __future__ import annotations

import math
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

    Ties on score go to the newer article, so equal scores list news newest first.
    """
    cands: _Cands = []
    total = 0
    for si, m in matches_by_segment:
        n = len(m.docs)
        total += n
        if not n or k <= 0:
            continue
        docs, scores = m.docs, m.scores
        if n > k:
            if sort == "relevance":
                kth = np.partition(scores, n - k)[n - k]
                sel = (scores >= kth).nonzero()[0]
                if len(sel) > k:  # ties at the boundary: keep the newest (highest doc ids)
                    sel = sel[np.lexsort((-docs[sel], -scores[sel]))[:k]]
                docs, scores = docs[sel], scores[sel]
            elif sort == "date":
                docs, scores = docs[n - k :], scores[n - k :]
            else:
                docs, scores = docs[:k], scores[:k]
        cands.append((si, docs, scores, segments[si].dates.take(docs)))
    if not cands:
        return [], total
    if sum(len(c[1]) for c in cands) <= _PYTHON_SORT_MAX:
        picked = _python_order(cands, k, sort)
        if picked is not None:
            return picked, total
    return _numpy_order(cands, k, sort), total


def _python_order(cands: _Cands, k: int, sort: str) -> list[Pick] | None:
    """The same orders as _numpy_order's lexsorts ((segment, doc) is unique, so no ties are
    left); None when a score is NaN, which only numpy orders consistently."""
    rows: list[tuple[float, int, int, int]] = []
    for si, docs, scores, days in cands:
        rows.extend(zip(scores.tolist(), days.tolist(), [si] * len(docs), docs.tolist()))
    if math.isnan(sum(r[0] for r in rows)):
        return None
    if sort == "relevance":  # score, day, segment, doc: all descending
        rows.sort(reverse=True)
    elif sort == "date":  # day, score, segment, doc: all descending
        rows.sort(key=lambda r: (r[1], r[0], r[2], r[3]), reverse=True)
    else:  # day ascending, score descending, segment and doc ascending
        rows.sort(key=lambda r: (r[1], -r[0], r[2], r[3]))
    return [(si, doc, score, day) for score, day, si, doc in rows[:k]]


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
