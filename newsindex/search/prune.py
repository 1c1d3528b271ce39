"""Rank-safe top-k for disjunctions of terms: window maxima, essential terms, exact scores.

Lucene's MaxScore bulk scorer in whole-array form. A segment's doc ids are cut into windows
of ``2 ** WINDOW_SHIFT`` documents; each term's block maxima (see ``index/blocks.py``) give
it an upper bound per window under the query's scoring and the snapshot's statistics. With
``theta`` the k-th best exact score found so far (over every segment, so later segments
start with a good one), a window whose bounds add up to less than ``theta`` holds no
document that can rank; inside a window, the terms whose bounds (smallest first) add up to
less than ``theta`` are *non-essential*: a document matching only those cannot rank, so the
candidates are the documents of the essential terms only, and those whose essential scores
plus the window's non-essential bounds stay under ``theta`` are dropped before the others
are looked up. Every document kept is then scored exactly as the exhaustive path scores it
(same operations, same order), so the top-k is identical; the matches left out are counted,
not scored, so ``total`` stays exact.

Only plans that are such disjunctions (plain words, long queries, with filters, negations
and group boosts around them) take this path; everything else, and segments written before
block maxima existed, is evaluated exhaustively, which stays the reference the tests hold
this path to. A top-0 search (``Index.count``) only counts. Top-k searches prune segments
with at least :data:`SMALL` postings of the query's terms (see there why none, for now).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..bm25f import field_factors, saturate
from ..index.blocks import BLOCK_SIZE, tfn_ratio
from ..querylang import plan as P
from ..schema import TEXT_FIELDS
from .leaves import ALL_FIELDS, TermLeaf, field_indices
from .matches import EMPTY_DOCS, EMPTY_SCORES, Restrict, SegmentMatches

if TYPE_CHECKING:
    from .searcher import _Context

#: Windows of 2 ** WINDOW_SHIFT doc ids.
WINDOW_SHIFT = 9
#: Relative slack on every bound: bounds and scores are sums and quotients rounded in
#: different orders, so a bound may sit a few ulps under a score it bounds.
SLACK = 1e-9
#: Segments where the query's terms have fewer postings are evaluated exhaustively when
#: hits are wanted (a count never scores). Set past any segment: measured on 21k to 1M
#: stories (benchmarks/RESULTS.md, "Archive scale: pruning"), the windows leave most
#: postings to read and their bookkeeping costs more numpy calls per segment than the
#: exhaustive pass over cached impacts, so pruning a top-k search does not pay yet.
SMALL = 1 << 62
#: Past this share of a segment's postings to read, a pruned evaluation costs more than the
#: exhaustive one (a few whole-array passes per term).
EXHAUSTIVE_SHARE = 0.25
#: With no threshold yet, a segment with fewer postings of the query's terms is evaluated
#: whole for one (larger ones score their best windows first).
SEED_WHOLE = 100_000
#: Postings scored up front to find a first threshold, per wanted hit (and at least _SEED_MIN).
_SEED_PER_HIT = 8
_SEED_MIN = 512


@dataclass(frozen=True)
class Disjunction:
    """A plan that is an OR of unfielded terms with positive boosts, inside filters,
    negations and group boosts (innermost group first)."""

    terms: tuple[P.Term, ...]
    filters: tuple[P.Node, ...]
    nots: tuple[P.Node, ...]
    boosts: tuple[float, ...]


@lru_cache(maxsize=1024)
def disjunction(node: P.Node) -> Disjunction | None:
    """``node`` as a :class:`Disjunction`, or None when it is not one."""
    if isinstance(node, P.Term):
        return Disjunction((node,), (), (), ()) if _plain_term(node) else None
    if not isinstance(node, P.Bool) or not _positive(node.boost):
        return None
    if node.should and not node.must and not node.filter:
        if not all(isinstance(c, P.Term) and _plain_term(c) for c in node.should):
            return None
        return Disjunction(tuple(node.should), (), tuple(node.must_not), (node.boost,))
    if len(node.must) == 1 and not node.should:
        inner = disjunction(node.must[0])
        if inner is None:
            return None
        return Disjunction(
            inner.terms,
            inner.filters + tuple(node.filter),
            inner.nots + tuple(node.must_not),
            inner.boosts + (node.boost,),
        )
    return None


def _positive(boost: float) -> bool:
    return math.isfinite(boost) and boost > 0


def _plain_term(node: P.Term) -> bool:
    fields = node.fields
    return _positive(node.boost) and (fields is TEXT_FIELDS or field_indices(fields) == ALL_FIELDS)


#: Up to this ``k``, :class:`Best` keeps its scores in a heap of Python floats: a top-k
#: search asks for a threshold in every segment, and numpy's calls on a few numbers cost
#: more than the heap's steps.
HEAP_K = 64


class Best:
    """The ``k`` best exact scores seen so far: the k-th is a lower bound of the final k-th."""

    def __init__(self, k: int):
        self.k = k
        self.scores = EMPTY_SCORES
        self._pending: list[np.ndarray] = []  # merged when a threshold is asked for
        self._heap: list[float] | None = [] if 0 < k <= HEAP_K else None  # its root the k-th

    def add(self, scores: np.ndarray) -> None:
        if self.k <= 0 or not len(scores):
            return
        heap = self._heap
        if heap is None:
            self._pending.append(scores)
            return
        k = self.k
        if len(scores) > 4 * k:  # many: numpy cuts them to their k best first
            scores = np.partition(scores, len(scores) - k)[len(scores) - k :]
        for x in scores.tolist():
            if len(heap) < k:
                heapq.heappush(heap, x)
            elif x > heap[0]:
                heapq.heapreplace(heap, x)

    def threshold(self) -> float:
        heap = self._heap
        if heap is not None:
            return heap[0] if len(heap) >= self.k else 0.0
        if self._pending:
            both = np.concatenate([self.scores, *self._pending])
            self._pending.clear()
            if len(both) > self.k:
                both = np.partition(both, len(both) - self.k)[len(both) - self.k :]
            self.scores = both
        if len(self.scores) < self.k:
            return 0.0
        return float(self.scores.min())


def run(
    ctx: _Context, node: P.Node, dis: Disjunction, k: int
) -> Iterator[tuple[int, SegmentMatches]]:
    """Per segment: the matches of ``node`` that may be among the ``k`` best (all exactly
    scored), with ``count`` set to the segment's number of matches."""
    from .searcher import _has_scoring  # (the searcher imports this module)

    searcher = ctx.searcher
    leaves = [ctx.leaf(t) for t in dis.terms]
    sizes = [
        sum(e - s for s, e in (leaf.slices[si] for leaf in leaves))
        for si in range(len(searcher.segments))
    ]
    if k > 0 and max(sizes, default=0) < SMALL:
        # Nothing big enough to prune: exactly the exhaustive loop, at its cost.
        for si in range(len(searcher.segments)):
            yield si, ctx.evaluate(node, si, searcher.base_restrict(si))
        return
    best = Best(k)
    group = 1.0
    for g in dis.boosts:
        group *= g
    pending = []
    for si, seg in enumerate(searcher.segments):
        if not seg.has_blocks or (sizes[si] < SMALL and k > 0):
            m = ctx.evaluate(node, si, searcher.base_restrict(si))
            best.add(m.scores)
            yield si, m
            continue
        r = searcher.base_restrict(si)
        for f in dis.filters:
            r = ctx.restrict(f, si, r)
        scored_nots = []
        for f in dis.nots:
            if _has_scoring(f):
                scored_nots.append(f)  # the exhaustive path takes these out after the union
            else:
                r = ctx.restrict(f, si, r, negate=True)
        union_r = r
        for f in scored_nots:
            r = ctx.restrict(f, si, r, negate=True)
        part = _Segment(ctx, node, si, r, union_r, leaves, dis.boosts, group)
        pending.append(part)
    if len(pending) > 1 and k > 0:
        # The segments that can score highest first: their hits raise the threshold the
        # others must reach, and a segment whose bound stays under it is only counted.
        pending.sort(key=lambda part: (-part.prepare(), part.si))
    for part in pending:
        yield part.si, part.top(best)


class _Segment:
    """One segment's pruned evaluation."""

    def __init__(
        self,
        ctx: _Context,
        node: P.Node,
        si: int,
        r: Restrict,
        union_r: Restrict,
        leaves: list[TermLeaf],
        boosts: tuple[float, ...],
        group: float,
    ):
        self.ctx = ctx
        self.node = node
        self.si = si
        self.seg = ctx.searcher.segments[si]
        self.r = r
        self.union_r = union_r  # what the exhaustive union's clauses are restricted to
        self.lo, self.hi = r.lo, min(r.hi, self.seg.ndocs)
        self.boosts = boosts
        self.group = group
        # Clause order is kept: exact scores are summed in it, as the exhaustive union does.
        self.leaves = [(leaf, *leaf.slices[si]) for leaf in leaves]
        self.leaves = [(leaf, s, e) for leaf, s, e in self.leaves if e > s]
        self.docs = [self.seg.docs(s, e) for _, s, e in self.leaves]
        self.size = sum(e - s for _, s, e in self.leaves)
        self.bound = 0.0  # of any document's score in the segment, before the group boosts
        self.bounds: list[np.ndarray] = []

    def prepare(self) -> float:
        """Work out the window bounds; returns the segment's bound."""
        if self.bounds or self.lo >= self.hi or not self.leaves:
            return self.bound
        ctx, si = self.ctx, self.si
        self.nwin = nwin = ((self.seg.ndocs - 1) >> WINDOW_SHIFT) + 1
        searcher = ctx.searcher
        self.bounds = [
            searcher.window_bounds(si, leaf, s, e, nwin) * leaf.node.boost
            for leaf, s, e in self.leaves
        ]
        self.w_lo, self.w_hi = self.lo >> WINDOW_SHIFT, ((self.hi - 1) >> WINDOW_SHIFT) + 1
        self.total = self.bounds[0][self.w_lo : self.w_hi].copy()
        for b in self.bounds[1:]:
            self.total += b[self.w_lo : self.w_hi]
        self.bound = float(self.total.max())
        return self.bound

    def top(self, best: Best) -> SegmentMatches:
        """The segment's docs that may rank, exactly scored (their scores go into ``best``)."""
        if self.lo >= self.hi or not self.leaves:
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES, 0)
        searcher = self.ctx.searcher
        if best.k > 0 and best.threshold() <= 0 and self.size < SEED_WHOLE:
            # No threshold yet: this segment (the one that can score highest) evaluated
            # whole gives its exact k-th best, a better start than a few windows.
            m = self.ctx.evaluate(self.node, self.si, searcher.base_restrict(self.si))
            best.add(m.scores)
            return m
        count = self._count()
        if best.k <= 0 or not count:
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES, count)
        if self.prepare() * (1.0 + SLACK) < best.threshold() / self.group:
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES, count)
        self.edges = [
            searcher.window_edges(self.si, leaf, s, e, self.nwin) for leaf, s, e in self.leaves
        ]
        w_lo, w_hi, total = self.w_lo, self.w_hi, self.total
        windows = np.arange(w_lo, w_hi)
        docs_out: list[np.ndarray] = []
        scores_out: list[np.ndarray] = []
        # Windows with the highest bounds first, a few postings' worth at a time, until the
        # k best so far give a threshold; then every window that can still hold a hit.
        order = np.argsort(-total, kind="stable")
        sizes = np.diff(self.edges[0][w_lo : w_hi + 1])
        for edges in self.edges[1:]:
            sizes += np.diff(edges[w_lo : w_hi + 1])
        reach = np.cumsum(sizes.take(order))
        want = max(_SEED_PER_HIT * best.k, _SEED_MIN)
        done = 0
        while done < len(order):
            theta = best.threshold() / self.group
            if theta > 0:
                chosen = order[done:]
                chosen = chosen[total.take(chosen) * (1.0 + SLACK) >= theta]
                done = len(order)
            else:
                upto = int(np.searchsorted(reach, reach[done - 1] + want if done else want)) + 1
                chosen = order[done:upto]
                done = upto
                want *= 2
            budget = int(EXHAUSTIVE_SHARE * self.size) if theta > 0 else None
            found = self._windows(windows.take(np.sort(chosen)), theta, budget)
            if found is None:
                # Too little to skip: the exhaustive path, on the whole segment, is cheaper.
                m = self.ctx.evaluate(self.node, self.si, searcher.base_restrict(self.si))
                fresh = m.scores
                if docs_out:
                    fresh = fresh[~np.isin(m.docs, np.concatenate(docs_out))]
                best.add(fresh)  # each doc once: a threshold counted twice would be too high
                return m
            d, sc = found
            best.add(sc)
            docs_out.append(d)
            scores_out.append(sc)
        if len(docs_out) == 1:
            docs, scores = docs_out[0], scores_out[0]
        elif not docs_out:
            docs, scores = EMPTY_DOCS, EMPTY_SCORES
        else:
            docs = np.concatenate(docs_out)
            scores = np.concatenate(scores_out)
            order = np.argsort(docs, kind="stable")
            docs, scores = docs.take(order), scores.take(order)
        return SegmentMatches(docs.astype(np.int32), scores, count)

    def _count(self) -> int:
        """How many allowed documents match any of the terms, without scoring them."""
        r, lo, hi = self.r, self.lo, self.hi
        spans = []
        for docs in self.docs:
            if lo > 0 or hi < self.seg.ndocs:
                a, b = r.span(docs)
                docs = docs[a:b]
            if len(docs):
                spans.append(docs)
        if not spans:
            return 0
        if len(spans) == 1:
            if r.mask is None and not r.tests:
                return len(spans[0])
            keep = r.allowed(spans[0])
            return len(spans[0]) if keep is None else int(np.count_nonzero(keep))
        hit = np.zeros(hi - lo, dtype=bool)
        for docs in spans:
            hit[docs - lo if lo else docs] = True
        if not r.tests:
            if r.mask is not None:
                hit &= r.mask[lo:hi]
            return int(np.count_nonzero(hit))
        found = hit.nonzero()[0] + lo
        keep = r.allowed(found)
        return len(found) if keep is None else int(np.count_nonzero(keep))

    def _contribution(self, i: int, idx: np.ndarray) -> np.ndarray:
        """Term ``i``'s scores of its postings ``idx`` (relative to its slice), computed with
        the very operations of ``Searcher.term_impacts`` and ``TermLeaf.match``."""
        leaf, s, e = self.leaves[i]
        searcher = self.ctx.searcher
        impacts = searcher.cached_impacts(self.si, leaf, s, e)
        if impacts is None and 2 * len(idx) >= e - s:
            impacts = searcher.term_impacts(self.si, leaf, s, e)  # most of it: keep it all
        if impacts is not None:
            scores = impacts.take(idx)
        else:
            seg = self.seg
            docs = self.docs[i].take(idx)
            norms = leaf.ctx.norms(self.si)
            tfs = seg.tfs(s, e)
            tfn = tfs[0].take(idx) * norms[0].take(docs)
            for fi in ALL_FIELDS[1:]:
                tfn += tfs[fi].take(idx) * norms[fi].take(docs)
            scores = saturate(tfn, leaf.ctx.scoring.k1)
            scores *= leaf.idf
        if leaf.node.boost != 1.0:
            scores = scores * leaf.node.boost
        return scores

    def _windows(
        self, windows: np.ndarray, theta: float, budget: int | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact final scores of the docs of ``windows`` (sorted) that may reach ``theta``
        (in scores before the group boosts); sorted docs. None when that means reading
        more than ``budget`` postings."""
        if not len(windows):
            return EMPTY_DOCS, EMPTY_SCORES
        nterms = len(self.leaves)
        bounds = np.stack([b.take(windows) for b in self.bounds])
        if theta > 0 and nterms > 1:
            order = np.argsort(bounds, axis=0, kind="stable")
            ranked = np.take_along_axis(bounds, order, axis=0)
            lesser = np.cumsum(ranked, axis=0) * (1.0 + SLACK) < theta  # a prefix per window
            rest = np.where(lesser, ranked, 0.0).sum(axis=0)
            essential = np.empty_like(lesser)
            np.put_along_axis(essential, order, ~lesser, axis=0)
        else:
            essential = np.ones(bounds.shape, dtype=bool)
            rest = np.zeros(len(windows))
        wanted = []
        for i in range(nterms):
            mine = windows[essential[i]]
            if len(mine):
                edges = self.edges[i]
                wanted.append((i, _ranges(edges.take(mine), edges.take(mine + 1))))
        if budget is not None and sum(len(idx) for _, idx in wanted) > budget:
            return None
        parts_d: list[np.ndarray] = []
        parts_s: list[np.ndarray] = []
        clip = self.lo > 0 or self.hi < self.seg.ndocs
        for i, idx in wanted:
            if not len(idx):
                continue
            docs = self.docs[i].take(idx)
            if clip:
                inside = (docs >= self.lo) & (docs < self.hi)
                idx, docs = idx[inside], docs[inside]
            parts_d.append(docs)
            parts_s.append(self._contribution(i, idx))
        if not parts_d:
            return EMPTY_DOCS, EMPTY_SCORES
        if len(parts_d) == 1:
            cand, part = parts_d[0], parts_s[0]
        else:
            d = np.concatenate(parts_d)
            if not len(d):  # (every window's postings outside the filter's range)
                return EMPTY_DOCS, EMPTY_SCORES
            order = np.argsort(d, kind="stable")
            d = d.take(order)
            first = np.empty(len(d), dtype=bool)
            first[0] = True
            np.not_equal(d[1:], d[:-1], out=first[1:])
            cand = d[first]
            part = np.bincount(np.cumsum(first) - 1, weights=np.concatenate(parts_s).take(order))
        if theta > 0:
            where = np.searchsorted(windows, cand >> WINDOW_SHIFT)
            keep = (part + rest.take(where)) * (1.0 + SLACK) >= theta
            cand, part = cand[keep], part[keep]
        keep = self.r.allowed(cand)
        if keep is not None:
            cand, part = cand[keep], part[keep]
        if nterms == 1:
            scores = part  # its only term's scores, exactly
        else:
            rows: list[np.ndarray] = []
            values: list[np.ndarray] = []
            for i in range(nterms):
                docs = self.docs[i]
                pos = np.minimum(docs.searchsorted(cand), len(docs) - 1)
                found = docs.take(pos) == cand
                if found.any():
                    rows.append(np.flatnonzero(found))
                    values.append(self._contribution(i, pos[found]))
            scores = self._sums(len(cand), rows, values)
        for g in self.boosts:
            if g != 1.0:
                scores = scores * g
        return cand, scores

    def _sums(self, n: int, rows: list[np.ndarray], values: list[np.ndarray]) -> np.ndarray:
        """Each candidate's total of its terms' scores (``values[i]`` for the candidates
        ``rows[i]``), added as the exhaustive union adds them, to the bit: one after the
        other in clause order where it accumulates densely, add.reduceat where sparse."""
        scores = np.zeros(n)
        if not rows:
            pass
        elif len(rows) == 1:
            scores[rows[0]] = values[0]
        elif self._dense():
            for at, value in zip(rows, values):
                scores[at] += value
        else:
            at = np.concatenate(rows)
            order = np.argsort(at, kind="stable")  # each candidate's rows in clause order
            at = at.take(order)
            first = np.empty(len(at), dtype=bool)
            first[0] = True
            np.not_equal(at[1:], at[:-1], out=first[1:])
            starts = first.nonzero()[0]
            scores[at.take(starts)] = np.add.reduceat(np.concatenate(values).take(order), starts)
        return scores

    def _dense(self) -> bool:
        """Whether the exhaustive union would accumulate this segment densely (its test)."""
        r, n = self.union_r, self.seg.ndocs
        total = 0
        for docs in self.docs:
            if r.lo > 0 or r.hi < n:
                a, b = r.span(docs)
                docs = docs[a:b]
            keep = r.allowed(docs) if len(docs) else None
            total += len(docs) if keep is None else int(np.count_nonzero(keep))
        return total * 2 >= n


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, e)`` for each pair."""
    lens = ends - starts
    keep = lens > 0
    if not keep.all():
        starts, lens = starts[keep], lens[keep]
    if not len(lens):
        return np.zeros(0, dtype=np.int64)
    before = np.cumsum(lens) - lens
    return np.repeat(starts - before, lens) + np.arange(int(before[-1] + lens[-1]))


def block_bounds(ctx: _Context, si: int, leaf: TermLeaf) -> np.ndarray:
    """Per block of ``leaf``'s postings in segment ``si``, an upper bound of its unboosted
    score of any of the block's documents, from the term's block maxima."""
    searcher = ctx.searcher
    seg = searcher.segments[si]
    scoring = ctx.scoring
    b0, b1 = seg.term_blocks(leaf.node.term)
    params = seg.tfn_params
    if params is not None:
        ratio = tfn_ratio(params, scoring, searcher.avg_lengths)
        if ratio < math.inf:  # the search scores as the blocks' tfn were made: the tight bound
            tfn = seg.block_tfn(b0, b1).astype(np.float64)
            if ratio != 1.0:
                tfn *= ratio
            bound = saturate(tfn, scoring.k1)
            bound *= leaf.idf
            return bound
    top_tf, low_len = seg.block_maxima(b0, b1)
    tfn = np.zeros(b1 - b0)
    for fi, fname in enumerate(TEXT_FIELDS):
        factor = field_factors(
            low_len[fi],
            searcher.avg_lengths[fi],
            scoring.b_for(fname),
            scoring.weight(fname),
        )
        tfn += top_tf[fi] * factor
    bound = saturate(tfn, scoring.k1)
    bound *= leaf.idf
    return bound


def window_bounds(ctx: _Context, si: int, leaf: TermLeaf, s: int, e: int, nwin: int) -> np.ndarray:
    """Per window of segment ``si``, an upper bound of ``leaf``'s unboosted score of any of
    its documents there (0 where it has none), from the term's block maxima."""
    seg = ctx.searcher.segments[si]
    bound = ctx.searcher.block_bounds(si, leaf)
    nblocks = len(bound)
    docs = seg.docs(s, e)
    first = docs[::BLOCK_SIZE] >> WINDOW_SHIFT
    last = docs.take(np.minimum(np.arange(1, nblocks + 1) * BLOCK_SIZE, e - s) - 1)
    span = (last >> WINDOW_SHIFT) - first + 1
    block = np.repeat(np.arange(nblocks), span)
    windows = first.take(block) + _ranges(np.zeros(len(span), dtype=np.int64), span)
    values = bound.take(block)
    out = np.zeros(nwin)
    # Blocks are in doc order, so the windows are sorted: one max per run of equal windows.
    starts = np.flatnonzero(np.concatenate(([True], windows[1:] != windows[:-1])))
    out[windows.take(starts)] = np.maximum.reduceat(values, starts)
    return out


def window_edges(seg_docs: np.ndarray, nwin: int) -> np.ndarray:
    """Where each window starts in a term's (sorted) postings, and the end."""
    return seg_docs.searchsorted(np.arange(nwin + 1, dtype=np.int64) << WINDOW_SHIFT)
