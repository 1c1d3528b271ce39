"""Scoring leaves: a term (its postings slice, df, idf; scores from the snapshot's impacts)
and a phrase (position joins within slop), each with its explanation."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .. import schema
from ..bm25f import saturate
from ..index.segment import Segment
from ..querylang import plan as P
from . import phrasekeys
from .matches import EMPTY_DOCS, EMPTY_SCORES, Restrict, SegmentMatches
from .scoring import Explanation

if TYPE_CHECKING:
    from .searcher import _Context

TEXT_FIELDS = schema.TEXT_FIELDS
ALL_FIELDS = tuple(range(len(TEXT_FIELDS)))

#: (docs, per field of the leaf: term or phrase frequency of each doc).
Postings = tuple[np.ndarray, list[np.ndarray]]


class _Leaf:
    """What a scoring leaf (term or phrase) has: its BM25F score of docs with given
    frequencies is the same formula for both."""

    node: P.Term | P.Phrase
    ctx: _Context
    fields: tuple[int, ...]
    idf: float

    def score(self, si: int, docs: np.ndarray, tfs: list[np.ndarray]) -> np.ndarray:
        norms = self.ctx.norms(si)
        tfn = tfs[0] * norms[self.fields[0]].take(docs)
        for tf, fi in zip(tfs[1:], self.fields[1:]):
            tfn += tf * norms[fi].take(docs)
        scores = saturate(tfn, self.ctx.scoring.k1)
        scores *= self.idf * self.node.boost
        return scores


class TermLeaf(_Leaf):
    """One term: its postings slice per segment, its global df and idf."""

    node: P.Term

    def __init__(self, node: P.Term, ctx: _Context):
        self.node = node
        self.ctx = ctx
        self.fields = field_indices(node.fields)
        self.slices, self.df, self.idf = ctx.searcher.term_stats(node.term, self.fields, ctx.dfs)

    def _field_filter(self, seg: Segment, s: int, e: int) -> np.ndarray | None:
        return field_filter(seg, self.fields, s, e)

    def postings(self, si: int, r: Restrict) -> Postings:
        """(docs, [tf per field]) of the postings allowed by ``r``."""
        seg = self.ctx.searcher.segments[si]
        s, e = self.slices[si]
        if e <= s:
            return EMPTY_DOCS, []
        docs = seg.docs(s, e)
        if r.lo > 0 or r.hi < seg.ndocs:
            a, b = r.span(docs)
            s, e = s + a, s + b
            docs = docs[a:b]
        every = seg.tfs(s, e)
        tfs = [every[fi] for fi in self.fields]
        keep = self._field_filter(seg, s, e)
        allowed = r.allowed(docs)
        if allowed is not None:
            keep = allowed if keep is None else (keep & allowed)
        if keep is not None:
            docs = docs[keep]
            tfs = [tf[keep] for tf in tfs]
        return docs, tfs

    def match(self, si: int, r: Restrict, impacts: np.ndarray | None = None) -> SegmentMatches:
        """The postings ``r`` allows, scored (``impacts``: this term's, if the caller has them
        from :meth:`Searcher.impacts_many`)."""
        if self.fields != ALL_FIELDS:
            docs, tfs = self.postings(si, r)
            if not len(docs):
                return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES)
            return SegmentMatches(docs, self.score(si, docs, tfs))
        # The common case: whole-document terms, scored once per snapshot and scoring (like
        # the impacts other engines precompute at index time), then sliced per query.
        seg = self.ctx.searcher.segments[si]
        s, e = self.slices[si]
        if e <= s:
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES)
        docs = self.ctx.searcher.term_docs(si, s, e)
        scores = self.ctx.searcher.term_impacts(si, self, s, e) if impacts is None else impacts
        if r.lo > 0 or r.hi < seg.ndocs:
            a, b = r.span(docs)
            docs, scores = docs[a:b], scores[a:b]
        keep = r.allowed(docs)
        if keep is not None:
            sel = keep.nonzero()[0]  # found once, taken twice: cheaper than two mask indexings
            docs, scores = docs.take(sel), scores.take(sel)
        if self.node.boost != 1.0:
            scores = scores * self.node.boost
        return SegmentMatches(docs, scores)

    def explain(self, si: int, doc: int, value: float) -> Explanation:
        docs, tfs = self.postings(si, Restrict(doc, doc + 1, None))
        return _explain_leaf(
            self, f"term {self.node.term!r}", si, doc, [int(t[0]) for t in tfs], value
        )


class PhraseLeaf(_Leaf):
    """A phrase: docs holding all its terms at the right relative positions (within slop)."""

    node: P.Phrase

    def __init__(self, node: P.Phrase, ctx: _Context):
        self.node = node
        self.ctx = ctx
        self.fields = field_indices(node.fields)
        self.terms = [ctx.leaf(P.Term(t, node.fields)) for t in node.terms]
        self.idf = sum(t.idf for t in self.terms)

    def postings(self, si: int, r: Restrict) -> Postings:
        """(docs, [phrase frequency per field]) of the docs ``r`` allows."""
        seg = self.ctx.searcher.segments[si]
        if r.lo == 0 and r.hi == seg.ndocs and r.mask is seg.live and not r.tests:
            # Every live document: the snapshot keeps the matches (docs, then each field's
            # frequencies, as float64 columns: doc numbers below 2**31 are exact there).
            node = self.node
            packed = self.ctx.searcher.phrase_postings(
                si,
                (node.terms, node.offsets, node.slop, self.fields),
                lambda: _pack(*self._postings(si, r), len(self.fields)),
            )
            if not len(packed):
                return EMPTY_DOCS, []
            return packed[:, 0].astype(np.int32), [
                packed[:, 1 + f].copy() for f in range(len(self.fields))
            ]
        return self._postings(si, r)

    def _postings(self, si: int, r: Restrict) -> Postings:
        """:meth:`postings`, made from the terms' position keys."""
        searcher = self.ctx.searcher
        terms = self.terms
        offsets = self.node.offsets
        slop = self.node.slop
        # Fewest postings first: the rarest term's keys are made whole (and kept for later
        # queries); every other term's only in the documents still in the running, so a
        # common word costs a pass over its doc numbers, not all its positions as keys.
        order = sorted(range(len(terms)), key=lambda i: _count(terms[i], si))
        seg = searcher.segments[si]
        rare = _allowed_keys(seg, searcher.position_keys(si, terms[order[0]]), r)
        if not len(rare):
            return EMPTY_DOCS, []
        if slop == 0 or order[0] == 0:
            # Exact offsets: an anchor (phrase start) is the same whichever term gives it.
            base = order[0]
            anchors = rare
        else:
            # Within slop, the first term's occurrences are the anchors (each counts once).
            base = 0
            # (The keys of other documents may come too: kept to those ``r`` allows.)
            anchors = _allowed_keys(seg, searcher.position_keys(si, terms[0], rare), r)
            if not len(anchors):
                return EMPTY_DOCS, []
        if offsets[base]:
            anchors = anchors - offsets[base]
        repeated = _repeated_terms(self.node.terms) if slop else ()
        for i in order:
            if i == base or any(i in group for group in repeated):
                continue
            # (A true match's start is in its own document: an anchor shifted out of it
            # before its field's first position matches nothing there either.)
            found = searcher.position_keys(si, terms[i], anchors)
            joined = phrasekeys.join(anchors, found, offsets[i] - slop, offsets[i] + slop)
            if joined is not None:
                anchors = joined
            elif not len(found):
                return EMPTY_DOCS, []
            elif slop == 0:
                want = anchors + offsets[i] if offsets[i] else anchors
                idx = found.searchsorted(want)
                np.minimum(idx, len(found) - 1, out=idx)
                anchors = anchors[found.take(idx) == want]
            else:
                lo = found.searchsorted(anchors + (offsets[i] - slop))
                hi = found.searchsorted(anchors + (offsets[i] + slop), "right")
                anchors = anchors[hi > lo]
            if not len(anchors):
                return EMPTY_DOCS, []
        for group in repeated:
            found = searcher.position_keys(si, terms[group[0]], anchors)
            if not len(found):
                return EMPTY_DOCS, []
            anchors = _distinct_positions(anchors, found, group, offsets, slop)
            if not len(anchors):
                return EMPTY_DOCS, []
        # anchors: sorted (doc << 32 | field << 24 | position of the phrase start).
        occ_docs = anchors >> 32
        starts = np.flatnonzero(np.concatenate(([True], occ_docs[1:] != occ_docs[:-1])))
        found_docs = occ_docs.take(starts).astype(np.int32)
        if len(self.fields) == 1:
            # Every anchor is in that field (its terms' keys were kept to it).
            runs = np.diff(np.append(starts, len(anchors))).astype(np.float64)
            return found_docs, [runs]
        occ_field = (anchors & 0xFFFFFFFF) >> 24
        tfs = [np.add.reduceat((occ_field == fi).astype(np.float64), starts) for fi in self.fields]
        return found_docs, tfs

    def match(self, si: int, r: Restrict) -> SegmentMatches:
        docs, tfs = self.postings(si, r)
        if not len(docs):
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES)
        return SegmentMatches(docs, self.score(si, docs, tfs))

    def explain(self, si: int, doc: int, value: float) -> Explanation:
        docs, tfs = self.postings(si, Restrict(doc, doc + 1, None))
        name = f"phrase {' '.join(self.node.terms)!r}" + (
            f"~{self.node.slop}" if self.node.slop else ""
        )
        return _explain_leaf(self, name, si, doc, [int(t[0]) for t in tfs], value)


@lru_cache(maxsize=1024)
def _repeated_terms(terms: tuple[str, ...]) -> tuple[tuple[int, ...], ...]:
    """The indices of each term that occurs more than once in a phrase."""
    where: dict[str, list[int]] = {}
    for i, t in enumerate(terms):
        where.setdefault(t, []).append(i)
    return tuple(tuple(g) for g in where.values() if len(g) > 1)


def _distinct_positions(
    anchors: np.ndarray,
    found: np.ndarray,
    group: tuple[int, ...],
    offsets: tuple[int, ...],
    slop: int,
) -> np.ndarray:
    """The anchors (first term at its position) for which the phrase words ``group``, all
    the same term (occurrence keys ``found``), each get a position of their own within
    ``slop`` of their place: one occurrence never stands for two words (Lucene's rule).

    The windows all have the same width, so taking them in order of offset and giving each
    the first free occurrence in it finds an assignment whenever there is one. The first
    word is fixed at the anchor, so when it is in the group that occurrence is not free.
    """
    last = len(found) - 1
    first_fixed = group[0] == 0
    taken = None  # per anchor, the occurrence the previous word of the group got
    for i in sorted(group, key=lambda j: (offsets[j], j)):
        if i == 0:
            continue
        lo = anchors + (offsets[i] - slop)
        if taken is not None:
            np.maximum(lo, taken + 1, out=lo)
        idx = found.searchsorted(lo)
        if first_fixed:  # step over the first word's own occurrence
            idx += found.take(np.minimum(idx, last)) == anchors
        ok = idx <= last
        got = found.take(np.minimum(idx, last))
        ok &= got <= anchors + (offsets[i] + slop)
        anchors, taken = anchors[ok], got[ok]
        if not len(anchors):
            break
    return anchors


class PrefixLeaf:
    """A prefix's expansions: the docs holding any of them, each scoring the boost."""

    def __init__(self, node: P.Prefix, ctx: _Context):
        self.node = node
        self.ctx = ctx
        self.fields = field_indices(node.fields)
        self.slices = [ctx.searcher.term_stats(t, self.fields)[0] for t in node.terms]

    def match(self, si: int, r: Restrict) -> SegmentMatches:
        seg = self.ctx.searcher.segments[si]
        parts: list[np.ndarray] = []
        for slices in self.slices:
            s, e = slices[si]
            if e <= s:
                continue
            docs = seg.docs(s, e)
            if r.lo > 0 or r.hi < seg.ndocs:
                a, b = r.span(docs)
                s, e = s + a, s + b
                docs = docs[a:b]
            keep = field_filter(seg, self.fields, s, e)
            if keep is not None:
                docs = docs[keep]
            if len(docs):
                parts.append(docs)
        if not parts:
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES)
        if len(parts) == 1:
            docs = parts[0]
        elif sum(map(len, parts)) * 2 >= seg.ndocs:  # as in union(): dense past ~n/2
            hit = np.zeros(seg.ndocs, dtype=bool)
            for p in parts:
                hit[p] = True
            docs = hit.nonzero()[0].astype(np.int32)
        else:
            docs = np.unique(np.concatenate(parts))
        keep = r.allowed(docs)
        if keep is not None:
            docs = docs[keep]
        return SegmentMatches(docs, np.full(len(docs), float(self.node.boost)))

    def explain(self, si: int, doc: int, value: float) -> Explanation:
        n = len(self.node.terms)
        return Explanation(
            value,
            f"prefix '{self.node.prefix}*' ({n} term{'s' if n != 1 else ''}): a constant "
            "score, its boost",
        )


def _explain_leaf(
    leaf: _Leaf, name: str, si: int, doc: int, tfs: list[int], value: float
) -> Explanation:
    """``idf x tfn / (tfn + k1) [x boost]`` as a tree whose every node adds up: the product
    of the idf, the saturation (itself ``tfn x 1 / (tfn + k1)``, tfn the sum over fields of
    ``tf x weight / norm``) and the boost."""
    searcher, scoring = leaf.ctx.searcher, leaf.ctx.scoring
    seg = searcher.segments[si]
    n = searcher.doc_count
    if isinstance(leaf, TermLeaf):
        idf_node = Explanation(leaf.idf, f"idf (df={leaf.df}, N={n})")
    else:
        assert isinstance(leaf, PhraseLeaf)
        idf_node = Explanation(
            leaf.idf,
            "idf, sum of the words' idf:",
            [Explanation(t.idf, f"idf of {t.node.term!r} (df={t.df}, N={n})") for t in leaf.terms],
        )
    norms = searcher.weighted_norms(si, scoring)
    parts = []
    for fi, tf in zip(leaf.fields, tfs):
        fname = TEXT_FIELDS[fi]
        parts.append(
            Explanation(
                tf * float(norms[fi][doc]),
                f"{fname}: tf={tf} x weight {scoring.weight(fname):g} / norm "
                f"(len={int(seg.lengths[fi][doc])}, avglen={searcher.avg_lengths[fi]:.2f}, "
                f"b={scoring.b_for(fname):g})",
            )
        )
    tfn = sum(p.value for p in parts)
    k1 = scoring.k1
    tfn_node = Explanation(tfn, "tfn, sum over the fields:", parts)
    if tfn + k1 > 0:
        saturation = Explanation(
            saturate(tfn, k1),
            "tfn / (tfn + k1), product of:",
            [tfn_node, Explanation(1.0 / (tfn + k1), f"1 / (tfn + k1), k1={k1:g}")],
            op="product",
        )
    else:  # (k1 = 0 and a field weighted 0: nothing to saturate)
        saturation = Explanation(0.0, f"tfn / (tfn + k1) with tfn = 0, k1={k1:g}")
    details = [idf_node, saturation]
    if leaf.node.boost != 1.0:
        details.append(Explanation(leaf.node.boost, "boost"))
    return Explanation(value, f"{name} (BM25F), product of:", details, op="product")


def all_position_keys(seg: Segment, s: int, e: int, fields: tuple[int, ...]) -> np.ndarray:
    """Sorted ``doc << 32 | field << 24 | position`` for every occurrence in the postings
    ``[s, e)`` (one term's), kept to ``fields``."""
    if e <= s:
        return np.zeros(0, dtype=np.int64)
    keys = phrasekeys.position_keys(seg, s, e, fields)
    if keys is not None:
        return keys
    tfs = seg.tfs(s, e)
    nf = len(tfs)
    # Within a posting the title's positions come first, then the body's: one run per
    # (posting, field), its length the tf, repeated into one key prefix per occurrence.
    lengths = np.stack(tfs, axis=1).astype(np.int64).ravel()
    positions = seg.positions(s, e, int(lengths.sum()))
    runs = (seg.docs(s, e).astype(np.int64) << 32)[:, None] | (np.arange(nf, dtype=np.int64) << 24)
    keys = np.repeat(runs.ravel(), lengths)
    np.bitwise_or(keys, positions, out=keys, casting="unsafe")
    if fields != ALL_FIELDS:
        wanted = np.isin(np.arange(nf), fields)
        keys = keys[np.repeat(np.tile(wanted, e - s), lengths)]
    # Written sorted; the joins' binary searches rely on it, so it is checked (a pass) and
    # sorted only if not (a sort of sorted keys costs several such passes).
    if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all():
        keys.sort()
    return keys


def _allowed_keys(seg: Segment, keys: np.ndarray, r: Restrict) -> np.ndarray:
    """The keys of the docs ``r`` allows."""
    if r.lo > 0 or r.hi < seg.ndocs:
        a, b = keys.searchsorted(np.array((r.lo, max(r.lo, r.hi)), dtype=np.int64) << 32).tolist()
        keys = keys[a:b]
    if r.mask is None and not r.tests:
        return keys
    keep = r.allowed(keys >> 32)
    return keys if keep is None else keys[keep]


def _pack(docs: np.ndarray, tfs: list[np.ndarray], nfields: int) -> np.ndarray:
    """A phrase's postings as one array: a row per doc, its number then its frequencies."""
    out = np.empty((len(docs), 1 + nfields), dtype=np.float64)
    if len(docs):
        out[:, 0] = docs
        for f, tf in enumerate(tfs):
            out[:, 1 + f] = tf
    return out


def _count(leaf: TermLeaf, si: int) -> int:
    """How many postings ``leaf``'s term has in segment ``si``."""
    s, e = leaf.slices[si]
    return e - s


@lru_cache(maxsize=64)
def field_indices(fields: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(i for i, f in enumerate(TEXT_FIELDS) if f in fields)


def field_filter(seg: Segment, fields: tuple[int, ...], s: int, e: int) -> np.ndarray | None:
    """Mask of the postings ``[s, e)`` with an occurrence in one of ``fields`` (None: all)."""
    if fields == ALL_FIELDS:
        return None
    sel = seg.tf(fields[0], s, e) > 0
    for fi in fields[1:]:
        sel |= seg.tf(fi, s, e) > 0
    return sel
