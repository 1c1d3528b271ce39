"""What a clause matches in one segment, and the sorted-array set operations that combine
matches (union with score sums, intersection, optional clauses, difference)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMPTY_DOCS = np.zeros(0, dtype=np.int32)
EMPTY_SCORES = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class ColumnTest:
    """A keyword filter applied lazily to candidate docs: ``column[doc] in codes``."""

    column: np.ndarray
    codes: np.ndarray
    negate: bool = False

    def allowed(self, docs: np.ndarray) -> np.ndarray:
        values = self.column.take(docs)  # take: faster than [] with int32 indices
        if len(self.codes) == 1:
            ok = values == self.codes[0]
        else:
            ok = np.isin(values, self.codes)
        return ~ok if self.negate else ok

    def allowed_range(self, lo: int, hi: int) -> np.ndarray:
        """:meth:`allowed` of the docs ``lo`` to ``hi - 1``."""
        values = self.column[lo:hi]
        if len(self.codes) == 1:
            ok = values == self.codes[0]
        else:
            ok = np.isin(values, self.codes)
        return ~ok if self.negate else ok


@dataclass
class Restrict:
    """Documents a clause may match in one segment: ``[lo, hi)``, and if set, ``mask`` and
    the column ``tests`` (checked on candidates only, never over the whole segment)."""

    lo: int
    hi: int
    mask: np.ndarray | None
    tests: tuple[ColumnTest, ...] = ()
    _bounds: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def span(self, docs: np.ndarray) -> tuple[int, int]:
        """``(a, b)`` such that ``docs[a:b]`` are the (sorted) ``docs`` inside ``[lo, hi)``."""
        if docs.dtype != np.int32:
            return int(docs.searchsorted(self.lo)), int(docs.searchsorted(self.hi))
        # One call for both ends, with the bounds made once for every term of the query.
        if self._bounds is None:
            self._bounds = np.array((self.lo, self.hi), dtype=np.int32)
        a, b = docs.searchsorted(self._bounds).tolist()
        return a, b

    def allowed(self, docs: np.ndarray) -> np.ndarray | None:
        """Boolean mask over ``docs`` (None: all allowed), ignoring the range."""
        keep = None if self.mask is None else self.mask.take(docs)
        for test in self.tests:
            ok = test.allowed(docs)
            keep = ok if keep is None else (keep & ok)
        return keep


@dataclass
class SegmentMatches:
    """Matching docs of one segment (sorted, unique) with their scores.

    ``count``, when set, is how many documents match in the segment: a pruned top-k search
    returns only the docs that may rank (every one of them scored exactly) and counts the
    others without scoring them. None: every match is in ``docs``. ``exact`` False: a search
    that did not ask for the total left out matches that cannot rank uncounted, and
    ``count`` is a lower bound.
    """

    docs: np.ndarray
    scores: np.ndarray
    count: int | None = None
    exact: bool = True


def union(matches: list[SegmentMatches], n: int) -> SegmentMatches:
    matches = [m for m in matches if len(m.docs)]
    if not matches:
        return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES)
    if len(matches) == 1:
        return matches[0]
    total = sum(len(m.docs) for m in matches)
    if total * 2 >= n:  # measured: dense accumulation beats sorting past ~n/2 postings
        return dense_sum([m.docs for m in matches], [m.scores for m in matches], n)
    docs = np.concatenate([m.docs for m in matches])
    scores = np.concatenate([m.scores for m in matches])
    order = np.argsort(docs, kind="stable")
    docs, scores = docs[order], scores[order]
    first = np.empty(len(docs), dtype=bool)  # each doc's first row
    first[0] = True
    np.not_equal(docs[1:], docs[:-1], out=first[1:])
    starts = first.nonzero()[0]
    # (add.reduceat sums a run of 3+ pairwise, not one after the other: prune.py, whose
    # scores must equal these to the bit, does the same.)
    return SegmentMatches(docs[starts], np.add.reduceat(scores, starts))


def dense_sum(docs: list[np.ndarray], scores: list[np.ndarray], n: int) -> SegmentMatches:
    """The docs of all clauses (each sorted, unique) with each one's scores added one after
    the other in clause order (``0 + s1 + s2 ...``, the order a loop of ``acc[docs] +=
    scores`` adds them in), in one bincount over a doc-id accumulator of ``n``."""
    # bincount adds its weights in input order, so the clauses' concatenation keeps the
    # loop's order to the bit; intp indices spare bincount and the scatter a conversion.
    at = np.concatenate(docs).astype(np.intp) if len(docs) > 1 else docs[0].astype(np.intp)
    acc = np.bincount(at, np.concatenate(scores) if len(scores) > 1 else scores[0], n)
    hit = np.zeros(n, dtype=bool)
    hit[at] = True
    found = np.flatnonzero(hit)
    return SegmentMatches(found.astype(np.int32), acc.take(found))


def intersect(a: SegmentMatches, b: SegmentMatches) -> SegmentMatches:
    docs, ia, ib = np.intersect1d(a.docs, b.docs, assume_unique=True, return_indices=True)
    return SegmentMatches(docs.astype(np.int32), a.scores[ia] + b.scores[ib])


def add_optional(base: SegmentMatches, extras: list[SegmentMatches]) -> SegmentMatches:
    scores = base.scores.copy()
    for m in extras:
        if not len(m.docs):
            continue
        idx = np.searchsorted(base.docs, m.docs)
        idx_c = np.minimum(idx, len(base.docs) - 1)
        found = base.docs[idx_c] == m.docs
        scores[idx_c[found]] += m.scores[found]
    return SegmentMatches(base.docs, scores)


def difference(a: SegmentMatches, remove: np.ndarray) -> SegmentMatches:
    if not len(remove):
        return a
    idx = np.minimum(np.searchsorted(remove, a.docs), len(remove) - 1)
    keep = remove[idx] != a.docs
    return SegmentMatches(a.docs[keep], a.scores[keep])


def all_docs(r: Restrict) -> SegmentMatches:
    docs = np.arange(r.lo, max(r.lo, r.hi), dtype=np.int32)
    keep = r.allowed(docs) if len(docs) else None
    if keep is not None:
        docs = docs[keep]
    return SegmentMatches(docs, np.zeros(len(docs), dtype=np.float64))
