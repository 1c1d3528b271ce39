"""Top-k of an OR of whole-document words in one compiled pass per segment.

The numpy path scores such a query (:func:`.prune.disjunction`: plain words with boosts,
filters, negations and group boosts around them) with whole-array passes and temporaries:
each term's impacts over all its postings (kept in the snapshot's cache), restricted,
concatenated, added with one ``bincount``, marked, compacted, then cut to the ``k`` best
by :func:`.topk.select`. Here one compiled kernel does the same work per posting, a window
of doc ids at a time (so what it adds into stays in cache): decode its doc number from the
raw block offsets, score it with the very operations of ``Searcher.term_impacts`` and
``TermLeaf.match`` (float64, in the same order), add it into the window's accumulator in
term order (``bincount``'s order); then count the window's matches and keep the ``k`` best
(score descending, ties to the higher doc, as ``topk._best`` cuts them). The results are
the numpy path's to the bit.

Where the numpy union is sparse (its postings allowed fewer than half the segment's
documents), it adds each doc's scores with ``np.add.reduceat``, in another order: the kernel
adds them in that order where it is a plain one (at most 8 terms with postings), and leaves
the others to numpy. Segments written before
the offsets encoding (``post.docs``) or the packed frequencies answer through numpy.
Impacts are computed on the fly and never enter the snapshot's cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import compiled
from ..errors import IndexCorruptError
from ..schema import TEXT_FIELDS
from .matches import EMPTY_DOCS, EMPTY_SCORES, Restrict, SegmentMatches

if TYPE_CHECKING:
    from .prune import Disjunction
    from .searcher import _Context

#: A process loads the kernel (numba, then the compiled code from its cache) for the first
#: query whose terms have this many postings in one segment; from then on every such query
#: takes it, however small (it is faster on any size: benchmarks/RESULTS.md, issue 15,
#: "Compiled OR"). Low enough that a long-lived process over a collection of a few
#: thousand stories loads it with its first long or common-word queries; searches of
#: tiny indexes, and the command line's one-query search, never pay for the load.
MIN_POSTINGS = 1 << 12
#: Largest product of a query's boosts the kernel takes: scores (at most an idf, a few tens)
#: times it stay finite, so no score is inf or NaN, whose order only numpy's sorts define.
_MAX_BOOST_PRODUCT = 1e250
#: Documents scored at a time: their accumulator and norms stay in cache while every term
#: adds its postings among them.
WINDOW = 1 << 13

_OK, _SPARSE, _CORRUPT = 0, 1, 2


def _kernel(
    d1,
    d2,
    d4,
    dbase,
    tf,
    big_at,
    big_val,
    terms,
    idfs,
    boosts,
    k1,
    norm0,
    norm1,
    n,
    lo,
    hi,
    mask,
    groups,
    k,
    shift,
    body_bits,
    window,
    out_docs,
    out_scores,
    counts,
):
    """Scores, counts and the ``k`` best of one segment (see the module's docstring).

    ``terms[i]``: (width, first offset's index in its width's array, first block's index in
    ``dbase``, first posting, end posting) of term ``i``'s postings, whose first posting
    starts a block of ``1 << shift``. ``mask`` (empty: no mask): per doc of ``[lo, hi)``, 0
    not allowed, 1 allowed but taken out after the union (a scored negation), 2 allowed. Returns (status,
    matches, hits in ``out_*``); ``counts[i]``: term ``i``'s allowed postings.
    """
    nterms = terms.shape[0]
    use_mask = mask.shape[0] > 0
    if (
        norm0.shape[0] < n
        or norm1.shape[0] < n
        or (use_mask and mask.shape[0] < hi - lo)
        or lo < 0
        or hi > n
        or out_docs.shape[0] < k
        or out_scores.shape[0] < k
    ):
        return _CORRUPT, 0, 0
    body_mask = (1 << body_bits) - 1
    # Every offset into a file's array is checked before use: compiled code has no bounds.
    for i in range(nterms):
        width, dpos, b0, s, e = terms[i, 0], terms[i, 1], terms[i, 2], terms[i, 3], terms[i, 4]
        size = d1.shape[0] if width == 1 else (d2.shape[0] if width == 2 else d4.shape[0])
        if (
            (width != 1 and width != 2 and width != 4)
            or s < 0
            or e <= s
            or e > tf.shape[0]
            or dpos < 0
            or dpos + (e - s) > size
            or b0 < 0
            or b0 + ((e - s - 1) >> shift) >= dbase.shape[0]
        ):
            return _CORRUPT, 0, 0
    total = 0
    nonempty = 0
    # Where each term's postings may reach lo: the block before the first whose base does
    # (bases increase), so a date filter's docs are found as numpy's searchsorted finds them.
    cur = np.zeros(nterms, dtype=np.int64)
    if lo > 0:
        for i in range(nterms):
            b0, cnt = terms[i, 2], terms[i, 4] - terms[i, 3]
            a, b = 0, ((cnt - 1) >> shift) + 1
            while a < b:
                m = (a + b) // 2
                if dbase[b0 + m] < lo:
                    a = m + 1
                else:
                    b = m
            cur[i] = max(a - 1, 0) << shift
    if lo == 0 and hi == n and not use_mask:
        for i in range(nterms):  # every posting allowed (pass 2 checks the doc numbers)
            counts[i] = terms[i, 4] - terms[i, 3]
            total += counts[i]
            nonempty += 1
    else:
        # Pass 1: each term's allowed postings (the numpy union's density test).
        for i in range(nterms):
            width, dpos, b0, s, e = terms[i, 0], terms[i, 1], terms[i, 2], terms[i, 3], terms[i, 4]
            c = 0
            prev = np.int64(-1)
            j = cur[i]
            while j < e - s:
                base = np.int64(dbase[b0 + (j >> shift)])
                if width == 1:
                    doc = base + np.int64(d1[dpos + j])
                elif width == 2:
                    doc = base + np.int64(d2[dpos + j])
                else:
                    doc = base + np.int64(d4[dpos + j])
                if doc <= prev or doc >= n:
                    return _CORRUPT, 0, 0
                if doc >= hi:
                    break
                prev = doc
                j += 1
                if doc >= lo and (not use_mask or mask[doc - lo] != 0):
                    c += 1
            counts[i] = c
            total += c
            if c:
                nonempty += 1
    # A sparse union adds each doc's scores with np.add.reduceat: the first, plus the others
    # added from -0.0 one after the other (numpy's pairwise sum, for fewer than 8 of them).
    sparse = nonempty > 1 and total * 2 < n
    if sparse and nonempty > 8:
        return _SPARSE, 0, 0
    # Pass 2, window by window of doc numbers (so the accumulator and the norms read stay in
    # cache): each term's scores, computed as term_impacts and TermLeaf.match compute them,
    # added in term order (bincount's order); then the window's matches go through a heap of
    # the k best whose root is the worst kept (lowest score, then lowest doc: topk._best).
    window = min(window, hi - lo)  # (a narrow date filter needs less to clear)
    acc = np.zeros(window, dtype=np.float64)
    rest = np.zeros(window, dtype=np.float64)  # a sparse union's other scores
    mark = np.zeros(window, dtype=np.uint8)  # scores a doc has (up to 2)
    touched = np.empty(window, dtype=np.int64)
    prevs = np.full(nterms, -1, dtype=np.int64)
    bigs = np.zeros(nterms, dtype=np.int64)
    nbig = big_at.shape[0]
    for i in range(nterms):
        # The first large frequency at or after the term's first posting read.
        a, b = 0, nbig
        while a < b:
            m = (a + b) // 2
            if big_at[m] < terms[i, 3] + cur[i]:
                a = m + 1
            else:
                b = m
        bigs[i] = a
    ngroups = groups.shape[0]
    count = 0
    size = 0
    # Below the worst of k kept, a doc cannot enter (-inf until k are kept; never with k 0).
    thr = -np.inf if k > 0 else np.inf
    thr_doc = n
    w0 = lo
    while w0 < hi:
        w1 = min(w0 + window, hi)
        ntouched = 0
        for i in range(nterms):
            if counts[i] == 0:
                continue
            width, dpos, b0, s, e = terms[i, 0], terms[i, 1], terms[i, 2], terms[i, 3], terms[i, 4]
            idf = idfs[i]
            boost = boosts[i]
            j = cur[i]
            prev = prevs[i]
            nb = bigs[i]
            cnt = e - s
            while j < cnt:
                base = np.int64(dbase[b0 + (j >> shift)])
                if width == 1:
                    doc = base + np.int64(d1[dpos + j])
                elif width == 2:
                    doc = base + np.int64(d2[dpos + j])
                else:
                    doc = base + np.int64(d4[dpos + j])
                if doc <= prev or doc >= n:
                    return _CORRUPT, 0, 0
                if doc >= w1:
                    break
                prev = doc
                j += 1
                if doc < w0 or (use_mask and mask[doc - lo] == 0):
                    continue
                p = s + j - 1
                packed = tf[p]
                t0 = packed >> body_bits
                t1 = packed & body_mask
                if nb < nbig:
                    while nb < nbig and big_at[nb] < p:
                        nb += 1
                    if nb < nbig and big_at[nb] == p:
                        t0 = big_val[nb, 0]
                        t1 = big_val[nb, 1]
                tfn = np.float64(t0) * norm0[doc]
                tfn += np.float64(t1) * norm1[doc]
                if k1 == 0.0:
                    score = 1.0 if tfn > 0 else 0.0
                else:
                    score = tfn / (tfn + k1)
                score *= idf
                if boost != 1.0:
                    score = score * boost
                at = doc - w0
                c = mark[at]
                if not sparse:  # (no branch on c: whether a doc is new follows no pattern)
                    acc[at] += score  # bincount's order: 0.0 + each score in term order
                    touched[ntouched] = at
                    ntouched += int(c == 0)
                    mark[at] = 1
                elif c == 0:
                    acc[at] += score  # 0.0 + score: a run's first
                    mark[at] = 1
                    touched[ntouched] = at
                    ntouched += 1
                elif c == 1:
                    rest[at] = -0.0 + score
                    mark[at] = 2
                else:
                    rest[at] += score
            cur[i] = j
            prevs[i] = prev
            bigs[i] = nb
        # The window's matches: those touched, or (when they are many) every doc in order,
        # with branch-free bookkeeping (about half match, in no pattern).
        listed = ntouched * 4 < w1 - w0
        for t in range(ntouched if listed else w1 - w0):
            at = touched[t] if listed else t
            c = mark[at]
            hit = c != 0
            score = acc[at]
            if c == 2:
                score = score + rest[at]
            mark[at] = 0
            acc[at] = 0.0
            rest[at] = 0.0
            doc = w0 + at
            if use_mask:
                hit &= mask[doc - lo] == 2
            for g in range(ngroups):
                score = score * groups[g]
            count += hit
            # Better than the worst kept: a higher score, or an equal one and a higher doc.
            if hit & ((score > thr) | ((score == thr) & (doc > thr_doc))):
                if size < k:
                    pos = size  # sift up
                    size += 1
                    while pos > 0:
                        up = (pos - 1) // 2
                        if out_scores[up] < score or (
                            out_scores[up] == score and out_docs[up] < doc
                        ):
                            break
                        out_scores[pos] = out_scores[up]
                        out_docs[pos] = out_docs[up]
                        pos = up
                    out_scores[pos] = score
                    out_docs[pos] = doc
                else:
                    pos = 0  # sift down
                    while True:
                        child = 2 * pos + 1
                        if child >= size:
                            break
                        other = child + 1
                        if other < size and (
                            out_scores[other] < out_scores[child]
                            or (
                                out_scores[other] == out_scores[child]
                                and out_docs[other] < out_docs[child]
                            )
                        ):
                            child = other
                        if out_scores[child] > score or (
                            out_scores[child] == score and out_docs[child] > doc
                        ):
                            break
                        out_scores[pos] = out_scores[child]
                        out_docs[pos] = out_docs[child]
                        pos = child
                    out_scores[pos] = score
                    out_docs[pos] = doc
                if size == k:
                    thr = out_scores[0]
                    thr_doc = out_docs[0]
        w0 = w1
    return _OK, count, size


_KERNEL = compiled.kernel(_kernel)


def wanted(ctx: _Context, dis: Disjunction) -> bool:
    """Whether to ask :func:`segment_top` (see :data:`MIN_POSTINGS`)."""
    if not _KERNEL.loaded():
        if ctx.searcher.max_postings < MIN_POSTINGS:
            return False
        leaves = [ctx.leaf(t) for t in dis.terms]
        most = max(
            (
                sum(e - s for s, e in (leaf.slices[si] for leaf in leaves))
                for si in range(len(ctx.searcher.segments))
            ),
            default=0,
        )
        if most < MIN_POSTINGS:
            return False
    return compiled.available()


def segment_top(ctx: _Context, dis: Disjunction, si: int, k: int) -> SegmentMatches | None:
    """Segment ``si``'s ``k`` best matches of ``dis`` (all docs when fewer) with ``count``
    set to its number of matches, exactly as the numpy path would give them to
    :func:`.topk.select`; None when the numpy path must answer (see the module)."""
    from .searcher import _has_scoring  # (the searcher imports this module)

    fn = _KERNEL.get()
    if fn is None:
        return None
    searcher = ctx.searcher
    seg = searcher.segments[si]
    raw = seg.raw_postings
    if raw is None or len(TEXT_FIELDS) != 2:
        return None
    leaves = [ctx.leaf(t) for t in dis.terms]
    spans = [(leaf, *leaf.slices[si]) for leaf in leaves]
    spans = [(leaf, s, e) for leaf, s, e in spans if e > s]
    n = seg.ndocs
    if not spans:
        return None
    upper = sum(e - s for _, s, e in spans)
    if len(spans) > 8 and upper * 2 < n:
        return None  # certainly a sparse union the kernel does not add
    product = 1.0
    for g in dis.boosts:
        product *= g
    if product * max(leaf.node.boost for leaf, _, _ in spans) > _MAX_BOOST_PRODUCT:
        return None
    r = searcher.base_restrict(si)
    for f in dis.filters:
        r = ctx.restrict(f, si, r)
    excluded = None
    for f in dis.nots:
        if _has_scoring(f):
            # Taken out after the union, as _bool's difference does: not in its density test.
            found = ctx.filter_mask(f, si)
            excluded = found if excluded is None else (excluded | found)
        else:
            r = ctx.restrict(f, si, r, negate=True)
    lo, hi = r.lo, min(r.hi, n)
    if lo >= hi:
        return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES, 0)
    mask = _mask(r, lo, hi, excluded)
    terms = np.array([seg.postings_layout(s, e) for _, s, e in spans], dtype=np.int64)
    idfs = np.array([leaf.idf for leaf, _, _ in spans], dtype=np.float64)
    boosts = np.array([leaf.node.boost for leaf, _, _ in spans], dtype=np.float64)
    # (A group boost of 1 multiplies nothing: _bool skips it.)
    groups = np.array([g for g in dis.boosts if g != 1.0], dtype=np.float64)
    norms = ctx.norms(si)
    out_docs = np.empty(max(k, 0), dtype=np.int64)
    out_scores = np.empty(max(k, 0), dtype=np.float64)
    counts = np.zeros(len(spans), dtype=np.int64)
    d1, d2, d4, dbase, tf, big_at, big_val, block, body_bits = raw
    shift = block.bit_length() - 1
    if block != 1 << shift:
        return None
    status, count, size = fn(
        d1, d2, d4, dbase, tf, big_at, big_val, terms, idfs, boosts,
        float(ctx.scoring.k1), norms[0], norms[1], n, lo, hi, mask, groups, k, shift,
        body_bits, WINDOW, out_docs, out_scores, counts,
    )  # fmt: skip
    if status == _CORRUPT:
        raise IndexCorruptError(f"segment {seg.name}: postings name documents out of range")
    if status == _SPARSE:
        return None
    order = np.argsort(out_docs[:size])
    docs = out_docs.take(order).astype(np.int32)
    return SegmentMatches(docs, out_scores.take(order), count)


_NO_MASK = np.zeros(0, dtype=np.uint8)


def _mask(r: Restrict, lo: int, hi: int, excluded: np.ndarray | None) -> np.ndarray:
    """The kernel's mask of the docs ``[lo, hi)`` (see :func:`_kernel`; empty when every
    doc is allowed)."""
    if r.mask is None and not r.tests and excluded is None:
        return _NO_MASK
    ok = np.ones(hi - lo, dtype=bool) if r.mask is None else r.mask[lo:hi].copy()
    for test in r.tests:
        ok &= test.allowed_range(lo, hi)
    mask = ok.view(np.uint8) * np.uint8(2)
    if excluded is not None:
        mask[ok & excluded[lo:hi]] = 1
    return mask
