"""Executes a plan over a snapshot of segments: filters, vectorized BM25F, top-k merge.

Every step works on whole numpy arrays per segment: a term's postings slice is scored in one
expression, filters become a doc-id range (documents are date-sorted inside a segment) and a
boolean mask, boolean operators are sorted-array set operations. Python runs per clause and
per segment, never per posting or per candidate document.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..config import Scoring
from ..index.segment import Segment
from ..schema import NO_DATE, TEXT_FIELDS
from . import plan as P
from .scoring import Explanation, idf, length_norm, saturate

_EMPTY_DOCS = np.zeros(0, dtype=np.int32)
_EMPTY_SCORES = np.zeros(0, dtype=np.float64)
_ALL_FIELDS = tuple(range(len(TEXT_FIELDS)))
#: Memory for per-term score arrays kept by a snapshot (cleared when full).
IMPACT_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ColumnTest:
    """A keyword filter applied lazily to candidate docs: ``column[doc] in codes``."""

    column: np.ndarray
    codes: np.ndarray
    negate: bool = False

    def allowed(self, docs: np.ndarray) -> np.ndarray:
        values = self.column[docs]
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

    def allowed(self, docs: np.ndarray) -> np.ndarray | None:
        """Boolean mask over ``docs`` (None: all allowed), ignoring the range."""
        keep = None if self.mask is None else self.mask[docs]
        for test in self.tests:
            ok = test.allowed(docs)
            keep = ok if keep is None else (keep & ok)
        return keep


@dataclass
class SegmentMatches:
    """Matching docs of one segment (sorted, unique) with their scores."""

    docs: np.ndarray
    scores: np.ndarray


class Searcher:
    """A consistent view of one commit's segments, with corpus statistics for scoring."""

    def __init__(self, segments: Sequence[Segment]):
        self.segments = list(segments)
        self.doc_count = sum(s.nlive for s in self.segments)
        totals = np.zeros(len(TEXT_FIELDS), dtype=np.float64)
        for seg in self.segments:
            for fi, fname in enumerate(TEXT_FIELDS):
                totals[fi] += seg.entry["field_lengths"][fname]
                if seg.ndeleted:
                    totals[fi] -= float(seg.lengths[fi][seg.deleted].sum(dtype=np.int64))
        n = max(self.doc_count, 1)
        self.avg_lengths = tuple(float(t) / n for t in totals)
        self._norms: dict[tuple, tuple[np.ndarray, ...]] = {}
        self._impacts: dict[tuple, np.ndarray] = {}
        self._impact_bytes = 0

    # -- per-segment helpers ----------------------------------------------------------------
    def weighted_norms(self, si: int, scoring: Scoring) -> tuple[np.ndarray, ...]:
        """Per field, ``w_f / (1 - b_f + b_f * len / avglen)`` for every doc of segment ``si``."""
        key = (si, scoring.key())
        cached = self._norms.get(key)
        if cached is None:
            seg = self.segments[si]
            cached = tuple(
                scoring.weight(f) / length_norm(seg.lengths[fi], self.avg_lengths[fi], scoring.b_for(f))
                for fi, f in enumerate(TEXT_FIELDS)
            )
            if len(self._norms) > 64:
                self._norms.clear()
            self._norms[key] = cached
        return cached

    def term_impacts(self, si: int, leaf: "_TermLeaf", s: int, e: int) -> np.ndarray:
        """Unboosted scores of the postings ``[s, e)`` of a whole-document term (read-only)."""
        key = (si, leaf.node.term, leaf.ctx.scoring.key())
        found = self._impacts.get(key)
        if found is None:
            seg = self.segments[si]
            docs = seg.post_docs[s:e]
            tfs = [seg.post_tf[fi][s:e] for fi in _ALL_FIELDS]
            norms = leaf.ctx.norms(si)
            tfn = tfs[0] * norms[0][docs]
            for fi in _ALL_FIELDS[1:]:
                tfn += tfs[fi] * norms[fi][docs]
            found = saturate(tfn, leaf.ctx.scoring.k1)
            found *= leaf.idf
            found.flags.writeable = False  # shared by every query that slices it
            if self._impact_bytes > IMPACT_CACHE_BYTES:
                self._impacts.clear()
                self._impact_bytes = 0
            self._impacts[key] = found
            self._impact_bytes += found.nbytes
        return found

    def base_restrict(self, si: int) -> Restrict:
        seg = self.segments[si]
        return Restrict(0, seg.ndocs, seg.live)

    # -- execution ----------------------------------------------------------------------------
    def execute(self, node, scoring: Scoring, only: tuple[int, int] | None = None):
        """Evaluate ``node`` in every segment; yields ``(segment index, SegmentMatches)``.

        ``only=(si, doc)`` restricts evaluation to one document (used by explain).
        """
        node = _normalize(node)
        ctx = _Context(self, scoring)
        for si, seg in enumerate(self.segments):
            if only is not None:
                if only[0] != si:
                    continue
                mask = np.zeros(seg.ndocs, dtype=bool)
                mask[only[1]] = True
                if seg.live is not None:
                    mask &= seg.live
                restrict = Restrict(only[1], only[1] + 1, mask)
            else:
                restrict = self.base_restrict(si)
            yield si, ctx.evaluate(node, si, restrict)

    def explain_leaves(self, node, scoring: Scoring, si: int, doc: int) -> list[Explanation]:
        """Per scoring leaf, how it scored ``doc`` (leaves that do not match are left out)."""
        ctx = _Context(self, scoring)
        out = []
        for leaf in _leaves(_normalize(node)):
            m = ctx.leaf(leaf).match(si, Restrict(doc, doc + 1, None))
            if len(m.docs):
                out.append(ctx.leaf(leaf).explain(si, doc, float(m.scores[0])))
        return out


class _Context:
    """Per-query state: leaf statistics (computed once across segments) and the scoring."""

    def __init__(self, searcher: Searcher, scoring: Scoring):
        self.searcher = searcher
        self.scoring = scoring
        self._leaves: dict = {}
        self._norms: dict[int, tuple[np.ndarray, ...]] = {}

    def norms(self, si: int) -> tuple[np.ndarray, ...]:
        found = self._norms.get(si)
        if found is None:
            found = self._norms[si] = self.searcher.weighted_norms(si, self.scoring)
        return found

    def leaf(self, node):
        leaf = self._leaves.get(node)
        if leaf is None:
            cls = _TermLeaf if isinstance(node, P.Term) else _PhraseLeaf
            leaf = self._leaves[node] = cls(node, self)
        return leaf

    def evaluate(self, node, si: int, restrict: Restrict) -> SegmentMatches:
        if isinstance(node, P.SCORING):
            return self.leaf(node).match(si, restrict)
        if isinstance(node, P.Bool):
            return self._bool(node, si, restrict)
        # A bare filter: every doc it allows, unscored.
        return _all_docs(self.restrict(node, si, restrict))

    # -- filters ------------------------------------------------------------------------------
    def restrict(self, node, si: int, r: Restrict, negate: bool = False) -> Restrict:
        """Narrow ``r`` by a filter clause (or by its negation)."""
        seg = self.searcher.segments[si]
        if isinstance(node, P.DateRange) and not negate:
            lo, hi = _date_bounds(seg, node)
            return Restrict(max(r.lo, lo), min(r.hi, hi), r.mask, r.tests)
        if isinstance(node, P.MatchAll):
            return r if not negate else Restrict(r.lo, r.lo, r.mask, r.tests)
        if isinstance(node, P.MatchNone):
            return Restrict(r.lo, r.lo, r.mask, r.tests) if not negate else r
        if isinstance(node, P.Keyword):
            codes = seg.keyword_codes_for(node.field, node.keys)
            if not len(codes) and not negate:
                return Restrict(r.lo, r.lo, r.mask, r.tests)
            if len(codes):
                test = ColumnTest(seg.keyword_codes[node.field], codes, negate)
                return Restrict(r.lo, r.hi, r.mask, r.tests + (test,))
            return r
        allowed = self.filter_mask(node, si)
        if negate:
            allowed = ~allowed
        mask = allowed if r.mask is None else (r.mask & allowed)
        return Restrict(r.lo, r.hi, mask, r.tests)

    def filter_mask(self, node, si: int) -> np.ndarray:
        """A boolean mask over segment ``si`` of the docs ``node`` matches (scores ignored)."""
        seg = self.searcher.segments[si]
        n = seg.ndocs
        if isinstance(node, P.DateRange):
            lo, hi = _date_bounds(seg, node)
            mask = np.zeros(n, dtype=bool)
            mask[lo:hi] = True
            return mask
        if isinstance(node, P.Keyword):
            codes = seg.keyword_codes_for(node.field, node.keys)
            return np.isin(seg.keyword_codes[node.field], codes)
        if isinstance(node, P.MatchAll):
            return np.ones(n, dtype=bool)
        if isinstance(node, P.MatchNone):
            return np.zeros(n, dtype=bool)
        mask = np.zeros(n, dtype=bool)
        mask[self.evaluate(node, si, Restrict(0, n, None)).docs] = True
        return mask

    # -- boolean ------------------------------------------------------------------------------
    def _bool(self, node: P.Bool, si: int, r: Restrict) -> SegmentMatches:
        n = self.searcher.segments[si].ndocs
        if not (node.must or node.should or node.filter or node.must_not):
            return SegmentMatches(_EMPTY_DOCS, _EMPTY_SCORES)
        for f in node.filter:
            r = self.restrict(f, si, r)
        scoring_not = []
        for f in node.must_not:
            if isinstance(f, (P.DateRange, P.Keyword, P.MatchAll, P.MatchNone)) or (
                isinstance(f, P.Bool) and not _has_scoring(f)
            ):
                r = self.restrict(f, si, r, negate=True)
            else:
                scoring_not.append(f)
        if r.lo >= r.hi:
            return SegmentMatches(_EMPTY_DOCS, _EMPTY_SCORES)
        scored_must = [c for c in node.must if not _is_match_all(c)]
        if scored_must:
            result = self.evaluate(scored_must[0], si, r)
            for c in scored_must[1:]:
                if not len(result.docs):
                    break
                result = _intersect(result, self.evaluate(c, si, r))
            if node.should and len(result.docs):
                result = _add_optional(result, [self.evaluate(c, si, r) for c in node.should])
        elif node.should and not node.must and not node.filter:
            result = _union([self.evaluate(c, si, r) for c in node.should], n)
        else:  # filters (or MatchAll) only, maybe with optional should clauses
            result = _all_docs(r)
            if node.should:
                result = _add_optional(result, [self.evaluate(c, si, r) for c in node.should])
        for c in scoring_not:
            if not len(result.docs):
                break
            result = _difference(result, self.evaluate(c, si, r).docs)
        if node.boost != 1.0:
            result = SegmentMatches(result.docs, result.scores * node.boost)
        return result


class _TermLeaf:
    """One term: its postings slice per segment, its global df and idf."""

    def __init__(self, node: P.Term, ctx: _Context):
        self.node = node
        self.ctx = ctx
        self.fields = _field_indices(node.fields)
        searcher = ctx.searcher
        self.slices = []
        df = 0
        for seg in searcher.segments:
            s, e = seg.term_range(node.term)
            self.slices.append((s, e))
            if e > s:
                docs = seg.post_docs[s:e]
                sel = self._field_filter(seg, s, e)
                if sel is not None:
                    docs = docs[sel]
                df += len(docs) if seg.live is None else int(np.count_nonzero(seg.live[docs]))
        self.df = df
        self.idf = idf(df, searcher.doc_count) if df else 0.0

    def _field_filter(self, seg: Segment, s: int, e: int):
        if self.fields == _ALL_FIELDS:
            return None
        sel = seg.post_tf[self.fields[0]][s:e] > 0
        for fi in self.fields[1:]:
            sel |= seg.post_tf[fi][s:e] > 0
        return sel

    def postings(self, si: int, r: Restrict):
        """(docs, [tf per field]) of the postings allowed by ``r``."""
        seg = self.ctx.searcher.segments[si]
        s, e = self.slices[si]
        if e <= s:
            return _EMPTY_DOCS, None
        docs = seg.post_docs[s:e]
        if r.lo > 0 or r.hi < seg.ndocs:
            a = int(docs.searchsorted(r.lo))
            b = int(docs.searchsorted(r.hi))
            s, e = s + a, s + b
            docs = docs[a:b]
        tfs = [seg.post_tf[fi][s:e] for fi in self.fields]
        keep = self._field_filter(seg, s, e)
        allowed = r.allowed(docs)
        if allowed is not None:
            keep = allowed if keep is None else (keep & allowed)
        if keep is not None:
            docs = docs[keep]
            tfs = [tf[keep] for tf in tfs]
        return docs, tfs

    def match(self, si: int, r: Restrict) -> SegmentMatches:
        if self.fields != _ALL_FIELDS:
            docs, tfs = self.postings(si, r)
            if not len(docs):
                return SegmentMatches(_EMPTY_DOCS, _EMPTY_SCORES)
            return SegmentMatches(docs, self.score(si, docs, tfs))
        # The common case: whole-document terms, scored once per snapshot and scoring (like
        # the impacts other engines precompute at index time), then sliced per query.
        seg = self.ctx.searcher.segments[si]
        s, e = self.slices[si]
        if e <= s:
            return SegmentMatches(_EMPTY_DOCS, _EMPTY_SCORES)
        docs = seg.post_docs[s:e]
        scores = self.ctx.searcher.term_impacts(si, self, s, e)
        if r.lo > 0 or r.hi < seg.ndocs:
            a = int(docs.searchsorted(r.lo))
            b = int(docs.searchsorted(r.hi))
            docs, scores = docs[a:b], scores[a:b]
        keep = r.allowed(docs)
        if keep is not None:
            docs, scores = docs[keep], scores[keep]
        if self.node.boost != 1.0:
            scores = scores * self.node.boost
        return SegmentMatches(docs, scores)

    def score(self, si: int, docs: np.ndarray, tfs) -> np.ndarray:
        norms = self.ctx.norms(si)
        tfn = tfs[0] * norms[self.fields[0]][docs]
        for tf, fi in zip(tfs[1:], self.fields[1:]):
            tfn += tf * norms[fi][docs]
        scores = saturate(tfn, self.ctx.scoring.k1)
        scores *= self.idf * self.node.boost
        return scores

    def explain(self, si: int, doc: int, value: float) -> Explanation:
        docs, tfs = self.postings(si, Restrict(doc, doc + 1, None))
        return _explain_leaf(self, f"term {self.node.term!r}", si, doc, [int(t[0]) for t in tfs], value)


class _PhraseLeaf:
    """A phrase: docs holding all its terms at the right relative positions (within slop)."""

    def __init__(self, node: P.Phrase, ctx: _Context):
        self.node = node
        self.ctx = ctx
        self.fields = _field_indices(node.fields)
        self.terms = [ctx.leaf(P.Term(t, node.fields)) for t in node.terms]
        self.idf = sum(t.idf for t in self.terms)

    def postings(self, si: int, r: Restrict):
        seg = self.ctx.searcher.segments[si]
        per_term = [t.postings(si, r) for t in self.terms]
        docs = per_term[0][0]
        for d, _ in per_term[1:]:
            docs = np.intersect1d(docs, d, assume_unique=True)
            if not len(docs):
                return _EMPTY_DOCS, None
        if not len(docs):
            return _EMPTY_DOCS, None
        anchors = None
        for (tdocs, _), term, offset in zip(per_term, self.terms, self.node.offsets):
            keys = _position_keys(seg, term, si, tdocs, docs) - offset
            if anchors is None:
                anchors = keys
            else:
                anchors = anchors[_near(anchors, keys, self.node.slop)]
            if not len(anchors):
                return _EMPTY_DOCS, None
        # anchors: (doc << 32 | position of the phrase start), one per occurrence.
        occ_docs = (anchors >> 32).astype(np.int32)
        occ_field = ((anchors & 0xFFFFFFFF) >> 24).astype(np.int64)
        found, inverse = np.unique(occ_docs, return_inverse=True)
        tfs = []
        for fi in self.fields:
            tfs.append(np.bincount(inverse, weights=(occ_field == fi), minlength=len(found)))
        return found, tfs

    def match(self, si: int, r: Restrict) -> SegmentMatches:
        docs, tfs = self.postings(si, r)
        if not len(docs):
            return SegmentMatches(_EMPTY_DOCS, _EMPTY_SCORES)
        return SegmentMatches(docs, _TermLeaf.score(self, si, docs, tfs))

    def explain(self, si: int, doc: int, value: float) -> Explanation:
        docs, tfs = self.postings(si, Restrict(doc, doc + 1, None))
        name = f"phrase {' '.join(self.node.terms)!r}" + (f"~{self.node.slop}" if self.node.slop else "")
        return _explain_leaf(self, name, si, doc, [int(t[0]) for t in tfs], value)


def _explain_leaf(leaf, name: str, si: int, doc: int, tfs: list[int], value: float) -> Explanation:
    searcher, scoring = leaf.ctx.searcher, leaf.ctx.scoring
    seg = searcher.segments[si]
    df = f"df={leaf.df}" if isinstance(leaf, _TermLeaf) else "sum of the terms' idf"
    details = [Explanation(leaf.idf, f"idf ({df}, N={searcher.doc_count})")]
    norms = searcher.weighted_norms(si, scoring)
    tfn = 0.0
    for fi, tf in zip(leaf.fields, tfs):
        fname = TEXT_FIELDS[fi]
        part = tf * float(norms[fi][doc])
        tfn += part
        details.append(
            Explanation(
                part,
                f"{fname}: tf={tf} x weight {scoring.weight(fname):g} / norm "
                f"(len={int(seg.lengths[fi][doc])}, avglen={searcher.avg_lengths[fi]:.2f}, "
                f"b={scoring.b_for(fname):g})",
            )
        )
    details.append(Explanation(saturate(tfn, scoring.k1), f"tfn/(tfn+k1), tfn={tfn:.6f}, k1={scoring.k1:g}"))
    if leaf.node.boost != 1.0:
        details.append(Explanation(leaf.node.boost, "boost"))
    return Explanation(value, f"{name} (BM25F)", details)


# -- set operations on sorted doc arrays ---------------------------------------------------
def _union(matches: list[SegmentMatches], n: int) -> SegmentMatches:
    matches = [m for m in matches if len(m.docs)]
    if not matches:
        return SegmentMatches(_EMPTY_DOCS, _EMPTY_SCORES)
    if len(matches) == 1:
        return matches[0]
    total = sum(len(m.docs) for m in matches)
    if total * 2 >= n:  # measured: dense accumulation beats sorting past ~n/2 postings
        acc = np.zeros(n, dtype=np.float64)
        hit = np.zeros(n, dtype=bool)
        for m in matches:
            acc[m.docs] += m.scores
            hit[m.docs] = True
        docs = np.flatnonzero(hit).astype(np.int32)
        return SegmentMatches(docs, acc[docs])
    docs = np.concatenate([m.docs for m in matches])
    scores = np.concatenate([m.scores for m in matches])
    order = np.argsort(docs, kind="stable")
    docs, scores = docs[order], scores[order]
    starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
    return SegmentMatches(docs[starts], np.add.reduceat(scores, starts))


def _intersect(a: SegmentMatches, b: SegmentMatches) -> SegmentMatches:
    docs, ia, ib = np.intersect1d(a.docs, b.docs, assume_unique=True, return_indices=True)
    return SegmentMatches(docs.astype(np.int32), a.scores[ia] + b.scores[ib])


def _add_optional(base: SegmentMatches, extras: list[SegmentMatches]) -> SegmentMatches:
    scores = base.scores.copy()
    for m in extras:
        if not len(m.docs):
            continue
        idx = np.searchsorted(base.docs, m.docs)
        idx_c = np.minimum(idx, len(base.docs) - 1)
        found = base.docs[idx_c] == m.docs
        scores[idx_c[found]] += m.scores[found]
    return SegmentMatches(base.docs, scores)


def _difference(a: SegmentMatches, remove: np.ndarray) -> SegmentMatches:
    if not len(remove):
        return a
    idx = np.minimum(np.searchsorted(remove, a.docs), len(remove) - 1)
    keep = remove[idx] != a.docs
    return SegmentMatches(a.docs[keep], a.scores[keep])


def _all_docs(r: Restrict) -> SegmentMatches:
    docs = np.arange(r.lo, max(r.lo, r.hi), dtype=np.int32)
    keep = r.allowed(docs) if len(docs) else None
    if keep is not None:
        docs = docs[keep]
    return SegmentMatches(docs, np.zeros(len(docs), dtype=np.float64))


# -- phrases -----------------------------------------------------------------------------------
def _position_keys(seg: Segment, term: _TermLeaf, si: int, tdocs: np.ndarray, docs: np.ndarray):
    """``doc << 32 | field << 24 | position`` for every occurrence of ``term`` in ``docs``."""
    s, e = term.slices[si]
    idx = np.searchsorted(seg.post_docs[s:e], docs)  # the wanted postings, within the term
    tfs = [tf[s:e].astype(np.int64) for tf in seg.post_tf]
    totals = sum(tfs)
    term_pos_start = int(seg.pos_offs[np.searchsorted(seg.post_offs, s, "right") - 1])
    counts = totals[idx]
    begins = term_pos_start + np.cumsum(totals)[idx] - counts
    # Gather the position runs of every wanted posting at once.
    run_offsets = np.cumsum(counts) - counts
    rel = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(run_offsets, counts)
    positions = seg.pos[np.repeat(begins, counts) + rel].astype(np.int64)
    # Within a posting the title's positions come first, then the body's.
    field_of = np.zeros(len(rel), dtype=np.int64)
    bound = np.zeros(len(idx), dtype=np.int64)
    for tf in tfs[:-1]:
        bound += tf[idx]
        field_of += rel >= np.repeat(bound, counts)
    owners = np.repeat(docs.astype(np.int64), counts)
    if term.fields != _ALL_FIELDS:
        keep = np.isin(field_of, term.fields)
        positions, owners, field_of = positions[keep], owners[keep], field_of[keep]
    return (owners << 32) | (field_of << 24) | positions


def _near(anchors: np.ndarray, keys: np.ndarray, slop: int) -> np.ndarray:
    """Mask of anchors that have a key within ``slop`` positions (keys sorted)."""
    keys = np.sort(keys)
    if slop == 0:
        idx = np.minimum(np.searchsorted(keys, anchors), len(keys) - 1)
        return keys[idx] == anchors
    lo = np.searchsorted(keys, anchors - slop)
    hi = np.searchsorted(keys, anchors + slop, "right")
    return hi > lo


# -- plan utilities ----------------------------------------------------------------------------
def _normalize(node):
    """Merge repeated identical should-leaves into one with a multiplied boost."""
    if not isinstance(node, P.Bool):
        return node
    if not (node.must or node.filter or node.must_not) and all(
        type(c) is P.Term for c in node.should
    ):
        if len(set(node.should)) == len(node.should):  # the plain-words fast path
            return node
    should = [_normalize(c) for c in node.should]
    counts = Counter(c for c in should if isinstance(c, P.SCORING))
    merged = []
    seen = set()
    for c in should:
        if isinstance(c, P.SCORING):
            if c in seen:
                continue
            seen.add(c)
            k = counts[c]
            if k > 1:
                c = type(c)(**{**c.__dict__, "boost": c.boost * k})
        merged.append(c)
    return P.Bool(
        must=tuple(_normalize(c) for c in node.must),
        should=tuple(merged),
        filter=tuple(_normalize(c) for c in node.filter),
        must_not=tuple(_normalize(c) for c in node.must_not),
        boost=node.boost,
    )


def _leaves(node):
    if isinstance(node, P.SCORING):
        yield node
    elif isinstance(node, P.Bool):
        for c in node.must + node.should:
            yield from _leaves(c)


def _has_scoring(node) -> bool:
    return any(True for _ in _leaves(node)) or (
        isinstance(node, P.Bool) and any(_has_scoring(c) for c in node.filter + node.must_not)
    )


def _is_match_all(node) -> bool:
    return isinstance(node, P.MatchAll)


def _field_indices(fields: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(i for i, f in enumerate(TEXT_FIELDS) if f in fields)


def _date_bounds(seg: Segment, node: P.DateRange) -> tuple[int, int]:
    start = NO_DATE + 1 if node.start is None else max(node.start, NO_DATE + 1)
    lo = int(seg.dates.searchsorted(np.int32(start), "left")) if start > -(2**31) else 0
    if node.end is None:
        hi = seg.ndocs
    else:
        hi = int(seg.dates.searchsorted(np.int64(node.end), "right"))
    return lo, max(lo, hi)
