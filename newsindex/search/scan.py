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
documents), it adds each doc's scores with ``np.add.reduceat``, in another order: the first
plus numpy's pairwise sum of the others, which the kernel repeats (up to 129 terms with
postings; more are left to numpy). Segments written before
the offsets encoding (``post.docs``) or the packed frequencies answer through numpy.
Impacts are computed on the fly and never enter the snapshot's cache. A document's field
norms are found by its lengths (``Segment.length_codes``, both in one uint32) in tables
by length (``Searcher.length_tables``), not in the two float64 norms per document the
numpy path reads: in a large segment those reads miss the cache on most postings. Both
are made in this process from the same checked lengths, so every code indexes both
tables (compiled code does not check bounds); a segment whose lengths do not code so
answers through numpy.

Once ``k`` hits are kept (or the segments searched before give a k-th best score), the
kernel prunes rank-safely with each term's per-block score bounds, made from the segment's
``blk.tfn`` as it reads the blocks (:func:`_bound`: the values ``Searcher.block_bounds``
gives the numpy path; used where ``blk.tfn`` was made for the search's weights and b, so
the bounds are tight): Lucene's MaxScore per
window (terms whose bounds add up to less than the k-th best are only looked up, for the
documents the others make candidates), and blocks whose bound cannot lift any of their
documents to it are not scored. Every document kept is still scored with the operations and
order above, so the hits are the exhaustive ones; the matches not scored are counted (their
doc numbers decoded), unless the search does not ask for the total (``count=False``), when
they are not read at all and the count is a lower bound. Pruning is for segments where the
query's words have :data:`PRUNE_MIN` postings or more and whose blocks bound the search's
scoring tightly; the others are scored by a leaner kernel without bounds (``_exhaustive``;
the general one where their union is sparse and of more than 8 words).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import compiled
from ..errors import IndexCorruptError
from ..index.blocks import tfn_ratio
from ..schema import TEXT_FIELDS
from . import leaves  # (leaves imports this module: read at call time)
from .matches import EMPTY_DOCS, EMPTY_SCORES, Restrict, SegmentMatches

if TYPE_CHECKING:
    from ..config import Scoring
    from ..querylang import plan as P
    from .prune import Best, Disjunction
    from .searcher import Searcher, _Context

#: A process loads the kernel (numba, then the compiled code from its cache) for the first
#: query whose terms have this many postings in one segment; from then on every such query
#: takes it, however small (it is faster on any size: benchmarks/RESULTS.md, issue 15,
#: "Compiled OR"). Low enough that a long-lived process over a collection of a few
#: thousand stories loads it with its first long or common-word queries; searches of
#: tiny indexes never pay for the load.
MIN_POSTINGS = 1 << 12
#: A process answering one query (``NEWSINDEX_COMPILED=large``: the command line's search)
#: loads the kernel only for a query whose terms have this many postings in all segments
#: together: below, the numpy path answers sooner than numba loads (benchmarks/RESULTS.md,
#: issue 15, "Eleventh run").
ONE_QUERY_POSTINGS = 20_000_000
#: A segment where the query's words have fewer postings is scored whole (no bounds worked
#: out): below it pruning saves less than it costs, unless the segments searched before
#: (the largest first) set a bar and the search does not count its matches.
PRUNE_MIN = 1 << 15
#: Largest product of a query's boosts the kernel takes: scores (at most an idf, a few tens)
#: times it stay finite, so no score is inf or NaN, whose order only numpy's sorts define.
_MAX_BOOST_PRODUCT = 1e250
#: Documents scored at a time: their accumulator and norms stay in cache while every term
#: adds its postings among them.
WINDOW = 1 << 13

_OK, _SPARSE, _CORRUPT = 0, 1, 2
#: Relative slack on every bound compared with a threshold: bounds and scores are sums and
#: quotients rounded in different orders (as in :mod:`.prune`).
_SLACK = 1.0 + 1e-9
#: Scores the kernel keeps per window, at most (one per term and document): windows shrink
#: for long queries so that a window's scores stay in cache.
_VALUES = 1 << 16

#: numpy's pairwise sum adds at most this many numbers in one block (``PW_BLOCKSIZE``).
_PAIRWISE_BLOCK = 128
#: A looked-up term seeks its candidates (jumping blocks) when there are fewer than one per
#: this many doc ids of the window; else it reads on.
_SEEK_RATIO = 16

#: Past every posting (no large frequency left to look for).
_PAST = np.int64(1) << 62

# How a term's postings are read in a window (and, for a block, what its bound allows).
_JUMP, _MARK, _SCORE, _LOOKUP = 0, 1, 2, 3


def _keep(out_docs, out_scores, size, k, score, doc):
    """Add ``(score, doc)`` to the heap of the ``k`` best in ``out_*`` (``size`` kept so
    far), whose root is the worst kept (lowest score, then lowest doc: topk._best), when it
    is better than that root or there is room; returns the new size. For the kernels (they
    compile it with them)."""
    if size < k:
        pos = size  # sift up
        while pos > 0:
            up = (pos - 1) // 2
            if out_scores[up] < score or (out_scores[up] == score and out_docs[up] < doc):
                break
            out_scores[pos] = out_scores[up]
            out_docs[pos] = out_docs[up]
            pos = up
        out_scores[pos] = score
        out_docs[pos] = doc
        return size + 1
    pos = 0  # sift down
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        other = child + 1
        if other < size and (
            out_scores[other] < out_scores[child]
            or (out_scores[other] == out_scores[child] and out_docs[other] < out_docs[child])
        ):
            child = other
        if out_scores[child] > score or (out_scores[child] == score and out_docs[child] > doc):
            break
        out_scores[pos] = out_scores[child]
        out_docs[pos] = out_docs[child]
        pos = child
    out_scores[pos] = score
    out_docs[pos] = doc
    return size


def _by_doc(out_docs, out_scores, size):
    """Order the ``size`` kept in ``out_*`` by doc (unique in a segment), as
    SegmentMatches holds them: in the kernel, where a page's few cost less than the numpy
    calls that would sort them after it."""
    if size > 32:
        order = np.argsort(out_docs[:size])
        docs = out_docs[:size].copy()
        scores = out_scores[:size].copy()
        for i in range(size):
            out_docs[i] = docs[order[i]]
            out_scores[i] = scores[order[i]]
        return
    for i in range(1, size):  # insertion sort: a page of hits
        doc = out_docs[i]
        score = out_scores[i]
        j = i - 1
        while j >= 0 and out_docs[j] > doc:
            out_docs[j + 1] = out_docs[j]
            out_scores[j + 1] = out_scores[j]
            j -= 1
        out_docs[j + 1] = doc
        out_scores[j + 1] = score


def _bound(btfn, at, ratio, k1, idf):
    """Block ``at``'s bound of a term's unboosted score: as ``prune.block_bounds`` makes it
    from the block's ``blk.tfn`` (the same operations, so the same value)."""
    tfn = np.float64(btfn[at])
    if ratio != 1.0:
        tfn = tfn * ratio
    if k1 == 0.0:
        bound = 1.0 if tfn > 0 else 0.0
    else:
        bound = tfn / (tfn + k1)
    return bound * idf


def _others_at(dbase, terms, counts, btfn, i, lo_doc, hi_doc, oc, shift, near):
    """For each term other than ``i``, ``near[t]``: the block (its index into ``btfn``)
    with the largest ``blk.tfn``, so the largest bound (:func:`_bound` grows with it),
    among the term's blocks that reach into documents ``[lo_doc, hi_doc)``; -1 where none
    does. ``oc[t]``: term ``t``'s first block that may, moved on as ``lo_doc`` grows."""
    for t in range(terms.shape[0]):
        near[t] = -1
        if t == i or counts[t] == 0:
            continue
        b0 = terms[t, 2]
        nblk = ((terms[t, 4] - terms[t, 3] - 1) >> shift) + 1
        b = oc[t]
        # (A block's documents lie below the next block's first.)
        while b + 1 < nblk and dbase[b0 + b + 1] <= lo_doc:
            b += 1
        oc[t] = b
        top = -1.0
        while b < nblk and dbase[b0 + b] < hi_doc:
            v = np.float64(btfn[b0 + b])
            if v > top:
                top = v
                near[t] = b0 + b
            b += 1


# (A doc-number helper that chose between encodings per posting made numba's loops several
# times slower, each way; so each kernel is compiled once per encoding, see _GAPS.)


def _fits(d1, d2, d4, dbase, gapw, gapbit, width, dpos, b0, nblk, cnt):
    """Whether a term's layout (``width``, ``dpos``, ``b0``; ``nblk`` blocks of ``cnt``
    postings) lies within the arrays it names (:func:`_gap_doc` checks each gap's bits)."""
    ok = b0 >= 0 and b0 + nblk <= dbase.shape[0]
    if width == 0:
        ok = ok and b0 + nblk <= gapw.shape[0] and b0 + nblk <= gapbit.shape[0]
    elif width == 1:
        ok = ok and dpos >= 0 and dpos + cnt <= d1.shape[0]
    elif width == 2:
        ok = ok and dpos >= 0 and dpos + cnt <= d2.shape[0]
    elif width == 4:
        ok = ok and dpos >= 0 and dpos + cnt <= d4.shape[0]
    else:
        ok = False
    return ok


def _doc_at(d1, d2, d4, dbase, gapw, gapbit, gaps, width, dpos, b0, j, shift, prev):
    """The doc number of posting ``j`` of a term laid out as ``width``, ``dpos``, ``b0``
    (see :func:`_kernel`) in format 3: its offset from its block's base."""
    base = np.int64(dbase[b0 + (j >> shift)])
    if width == 1:
        doc = base + np.int64(d1[dpos + j])
    elif width == 2:
        doc = base + np.int64(d2[dpos + j])
    else:
        doc = base + np.int64(d4[dpos + j])
    return doc


def _gap_doc(d1, d2, d4, dbase, gapw, gapbit, gaps, width, dpos, b0, j, shift, prev):
    """:func:`_doc_at` of gap-coded postings (see docids.py), ``prev`` being posting ``j -
    1``'s: a running sum from each block's base, a shift, a mask and an add a posting; -1
    where a gap's bits lie outside ``gaps`` (a caller's order check then fails)."""
    b = b0 + (j >> shift)
    r = j & ((np.int64(1) << shift) - 1)
    if r == 0:
        doc = np.int64(dbase[b])
    else:
        w = np.int64(gapw[b])
        q = gapbit[b] + (r - 1) * w
        if prev < 0 or w > 32 or q < 0 or q + w > gaps.shape[0] * 64:
            doc = np.int64(-1)
        elif w == 0:
            doc = prev + 1
        else:
            at = q >> 6
            sh = np.uint64(q & 63)
            nxt = gaps[min(at + 1, gaps.shape[0] - 1)]
            # The gap's bits in this word and the next (two shifts: one of 64 is undefined).
            v = (gaps[at] >> sh) | ((nxt << (np.uint64(63) - sh)) << np.uint64(1))
            doc = prev + 1 + np.int64(v & ((np.uint64(1) << np.uint64(w)) - np.uint64(1)))
    return doc


def _kernel(
    d1,
    d2,
    d4,
    dbase,
    gapw,
    gapbit,
    gaps,
    tf,
    big_at,
    big_val,
    terms,
    idfs,
    boosts,
    k1,
    lens,
    bits,
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
    btfn,
    ratio,
    theta0,
    prune,
    count_all,
):
    """Scores, counts and the ``k`` best of one segment (see the module's docstring).

    ``terms[i]``: (width (0: gap-coded, :func:`_gap_doc`), first offset's index in its
    width's array, first block's index in ``dbase`` (and ``gapw``, ``gapbit``), first
    posting, end posting) of term ``i``'s postings, whose first posting starts a block of
    ``1 << shift``. ``lens[doc]``: the doc's lengths, ``title << bits |
    body``; ``norm0``, ``norm1``: each field's norm by length (see the module's docstring).
    ``mask`` (empty: no mask): per doc of ``[lo, hi)``, 0
    not allowed, 1 allowed but taken out after the union (a scored negation), 2 allowed.
    With ``prune``: term ``i``'s unboosted score in its block ``b`` is bounded by
    :func:`_bound` of ``btfn[terms[i, 2] + b]`` (the segment's ``blk.tfn``, whose blocks
    are numbered as ``dbase``'s; ``ratio``: :func:`.blocks.tfn_ratio`), and ``theta0`` is a score the hits must reach (the k-th best of other
    segments; -inf when none); without ``count_all`` matches that cannot rank may go
    uncounted. Returns (status, matches, hits in ``out_*``, whether the matches are all
    counted); ``counts[i]``: term ``i``'s allowed postings.
    """
    nterms = terms.shape[0]
    use_mask = mask.shape[0] > 0
    if (
        lens.shape[0] < n
        or (use_mask and mask.shape[0] < hi - lo)
        or lo < 0
        or hi > n
        or out_docs.shape[0] < k
        or out_scores.shape[0] < k
    ):
        return _CORRUPT, 0, 0, False
    body_mask = (1 << body_bits) - 1
    len_mask = (np.int64(1) << bits) - 1
    # Every offset into a file's array is checked before use: compiled code has no bounds.
    for i in range(nterms):
        width, dpos, b0, s, e = terms[i, 0], terms[i, 1], terms[i, 2], terms[i, 3], terms[i, 4]
        nblk = ((e - s - 1) >> shift) + 1
        if (
            not _fits(d1, d2, d4, dbase, gapw, gapbit, width, dpos, b0, nblk, e - s)
            or s < 0
            or e <= s
            or e > tf.shape[0]
            or (prune and b0 + nblk > btfn.shape[0])
        ):
            return _CORRUPT, 0, 0, False
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
                doc = _doc_at(
                    d1, d2, d4, dbase, gapw, gapbit, gaps, width, dpos, b0, j, shift, prev
                )
                if doc <= prev or doc >= n:
                    return _CORRUPT, 0, 0, False
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
    # A sparse union adds each doc's scores with np.add.reduceat: the first, plus numpy's
    # pairwise sum of the others (one after the other from -0.0 when fewer than 8; else 8
    # running sums, then the rest; halves past 128, which the kernel leaves to numpy).
    sparse = nonempty > 1 and total * 2 < n
    if sparse and nonempty > _PAIRWISE_BLOCK + 1:
        return _SPARSE, 0, 0, False
    wide = sparse and nonempty > 8  # (sums made from each term's score, as with lookups)
    # Pass 2, window by window of doc numbers (so what is written stays in cache). Each
    # window, each term's bound there (the largest of its blocks'); with a threshold (the
    # k-th best kept, or theta0), MaxScore: the terms whose bounds add up to less than it
    # are looked up only (non-essential): a document matching only those cannot rank. The
    # essential terms are scored in term order, added as the numpy union adds (bincount's
    # order: 0.0 plus each score; where sparse, reduceat's: the first, plus the others
    # added from -0.0); a block whose bound cannot lift any of its documents to the
    # threshold is only counted, or jumped. Then the looked-up terms are scored for the
    # candidates that can still reach the threshold, and those candidates' sums are made
    # again from each term's score in term order. Each window's hits go through a heap of
    # the k best whose root is the worst kept (lowest score, then lowest doc: topk._best).
    window = min(window, hi - lo)  # (a narrow date filter needs less to clear)
    # (What only pruning or a wide sparse sum uses is allocated only then: a small
    # segment's call would otherwise spend more clearing it than scoring.)
    stored = window if prune or wide else 1
    marked = window if prune or k == 0 else 1
    vals = np.empty((stored, nterms), dtype=np.float64)  # each term's score
    nwords = (nterms + 63) >> 6
    has = np.zeros((stored, nwords), dtype=np.uint64)  # the terms in vals, one bit each
    cand = np.zeros(stored, dtype=np.uint8)
    cands = np.empty(stored, dtype=np.int64)  # the candidates, in touched order
    sorted_cands = np.empty(stored, dtype=np.int64)
    got = np.zeros(stored, dtype=np.float64)  # looked-up terms' scores so far (for bounds)
    seen = np.zeros(marked, dtype=np.uint8)  # matched by a term only counted or looked up
    listed = np.empty(marked, dtype=np.int64)  # docs seen
    acc = np.zeros(window, dtype=np.float64)
    rest = np.zeros(window, dtype=np.float64)  # a sparse union's other scores
    scored = np.zeros(window, dtype=np.uint8)  # essential scores a doc has (up to 2)
    touched = np.empty(window, dtype=np.int64)  # docs an essential term scored
    order = np.empty(nterms, dtype=np.int64)
    buf = np.empty(nterms, dtype=np.float64)
    prevs = np.full(nterms, -1, dtype=np.int64)
    bigs = np.zeros(nterms, dtype=np.int64)
    ub = np.zeros(nterms, dtype=np.float64)
    mode = np.zeros(nterms, dtype=np.int64)
    wb = np.zeros(nterms, dtype=np.int64)  # each term's block where the window starts
    oc = np.zeros(nterms, dtype=np.int64)  # (for _others_at)
    near = np.zeros(nterms, dtype=np.int64)
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
    gprod = 1.0
    for g in range(groups.shape[0]):
        gprod *= groups[g]
    count = 0
    exact = True
    size = 0
    thr = -np.inf  # the worst of k kept (-inf until k are kept)
    thr_doc = n
    w0 = lo
    while w0 < hi:
        w1 = min(w0 + window, hi)
        theta = -np.inf
        if k == 0:
            theta = np.inf
        elif prune:
            theta = max(theta0, thr)
        cutting = theta > -np.inf
        # Each term's bound in the window: its blocks from the one being read while they
        # start before w1 (a block's documents are below the next block's base).
        tot = 0.0
        for i in range(nterms):
            ub[i] = 0.0
            wb[i] = cur[i] >> shift
            if counts[i] == 0 or not cutting or k == 0:
                continue
            b0, cnt = terms[i, 2], terms[i, 4] - terms[i, 3]
            nblk = ((cnt - 1) >> shift) + 1
            jb = cur[i] >> shift
            top = 0.0
            idf = idfs[i]
            while jb < nblk and dbase[b0 + jb] < w1:
                v = _bound(btfn, b0 + jb, ratio, k1, idf)
                if v > top:
                    top = v
                jb += 1
            ub[i] = top * boosts[i]
            tot += ub[i]
        skip = cutting and tot * gprod * _SLACK < theta
        bar = 0.0  # the looked-up terms' bounds
        for i in range(nterms):
            mode[i] = _SCORE
        if skip:
            for i in range(nterms):
                mode[i] = _MARK if count_all else _JUMP
        elif cutting and nterms > 1:
            # Smallest bounds first, while their sum stays under the threshold.
            while True:
                best = -1
                for i in range(nterms):
                    if mode[i] == _SCORE and counts[i] != 0 and (best < 0 or ub[i] < ub[best]):
                        best = i
                if best < 0 or (bar + ub[best]) * gprod * _SLACK >= theta:
                    break
                bar += ub[best]
                mode[best] = _LOOKUP
        lookups = False
        for i in range(nterms):
            if mode[i] == _LOOKUP and counts[i] != 0:
                lookups = True
        nt = 0
        ns = 0
        ncand = 0
        # The essential terms in term order (every term, in a window only counted), then
        # the looked-up ones, largest bound first: each drops the candidates that can no
        # longer reach the threshold, so the later (commoner) ones seek fewer.
        nproc = 0
        for i in range(nterms):
            if counts[i] != 0 and (skip or mode[i] == _SCORE):
                order[nproc] = i
                nproc += 1
        first = nproc
        if lookups:
            for i in range(nterms):
                if counts[i] != 0 and mode[i] == _LOOKUP:
                    p = nproc
                    while p > first and ub[order[p - 1]] < ub[i]:
                        order[p] = order[p - 1]
                        p -= 1
                    order[p] = i
                    nproc += 1
        for oi in range(nproc):
            i = order[oi]
            if oi >= first:
                left = 0.0  # the bounds of the looked-up terms not read yet, this one's too
                for oj in range(oi, nproc):
                    left += ub[order[oj]]
                # The first looked-up term's candidates are the touched documents that
                # can reach the threshold; each later one's, those of the candidates left
                # that still can (a document dropped is never a candidate again): the
                # list shrinks as the terms are read.
                src, nsrc = (touched, nt) if oi == first else (cands, ncand)
                ncand = 0
                for t in range(nsrc):
                    at = src[t]
                    ok = (acc[at] + rest[at] + got[at] + left) * gprod * _SLACK >= theta
                    cand[at] = ok
                    cands[ncand] = at  # (at or before t: the list is compacted in place)
                    ncand += ok
                if ncand == 0:
                    mode[i] = _MARK if count_all else _JUMP
                elif not count_all and ncand * _SEEK_RATIO < w1 - w0:
                    # Looked up in doc order: a block before the next candidate is jumped.
                    sorted_cands[:ncand] = cands[:ncand]
                    sorted_cands[:ncand].sort()
            md = mode[i]
            width, dpos, b0, s, e = (
                terms[i, 0], terms[i, 1], terms[i, 2], terms[i, 3], terms[i, 4]
            )  # fmt: skip
            idf = idfs[i]
            boost = boosts[i]
            word = i >> 6
            bit = np.uint64(1) << np.uint64(i & 63)
            others = tot - ub[i]
            for t in range(nterms):
                oc[t] = wb[t]
            j = cur[i]
            prev = prevs[i]
            nb = bigs[i]
            # The next posting with a large frequency (stored apart) to look for.
            next_big = np.int64(big_at[nb]) if nb < nbig else _PAST
            cnt = e - s
            nblk = ((cnt - 1) >> shift) + 1
            blk_end = np.int64(-1)
            bm = md
            ci = 0
            # Few candidates: seek them (jumping blocks); many: read on.
            seek = md == _LOOKUP and not count_all and ncand * _SEEK_RATIO < w1 - w0
            if md == _LOOKUP and not count_all:
                exact = False  # (its postings are not counted)
            while j < cnt:
                if seek:
                    # Jump the blocks whose documents are all before the next candidate.
                    target = w0 + sorted_cands[ci] if ci < ncand else w1
                    jb = j >> shift
                    while jb + 1 < nblk and dbase[b0 + jb + 1] <= target:
                        jb += 1
                    if (jb << shift) > j:
                        j = jb << shift
                        prev = np.int64(-1)
                elif j >= blk_end:
                    jb = j >> shift
                    # (No threshold: no block is judged, the window is read in one go.)
                    blk_end = (jb + 1) << shift if cutting else cnt
                    bm = md
                    if md == _SCORE and cutting:
                        here = _bound(btfn, b0 + jb, ratio, k1, idf) * boost
                        if (here + others) * gprod * _SLACK < theta:
                            bm = _MARK if count_all else _JUMP
                        elif nterms == 2:
                            # The other's bound where this block's documents are, not in
                            # the whole window: tighter where its blocks vary. (With more
                            # terms the sum of their nearby bounds seldom drops under the
                            # bar and working it out costs more than it saves: RESULTS,
                            # "Fourteenth run".)
                            lo_doc = np.int64(dbase[b0 + jb])
                            hi_doc = np.int64(dbase[b0 + jb + 1]) if jb + 1 < nblk else n
                            _others_at(
                                dbase, terms, counts, btfn, i, lo_doc, hi_doc, oc, shift, near
                            )
                            tight = 0.0
                            for t in range(nterms):
                                if near[t] >= 0:
                                    v = _bound(btfn, near[t], ratio, k1, idfs[t])
                                    tight += v * boosts[t]
                            if (here + min(tight, others)) * gprod * _SLACK < theta:
                                bm = _MARK if count_all else _JUMP
                    if bm == _JUMP:
                        exact = False
                        if jb + 1 < nblk and dbase[b0 + jb + 1] <= w1:
                            j = blk_end  # every doc of the block is before w1
                            prev = np.int64(-1)
                            continue
                doc = _doc_at(
                    d1, d2, d4, dbase, gapw, gapbit, gaps, width, dpos, b0, j, shift, prev
                )
                if doc <= prev or doc >= n:
                    return _CORRUPT, 0, 0, False
                if doc >= w1:
                    break
                prev = doc
                j += 1
                if seek:
                    if doc < target:
                        continue
                    while ci < ncand and w0 + sorted_cands[ci] < doc:
                        ci += 1
                    if ci == ncand or w0 + sorted_cands[ci] != doc:
                        continue
                    ci += 1
                elif bm == _JUMP or doc < w0 or (use_mask and mask[doc - lo] == 0):
                    continue
                at = doc - w0
                if bm != _SCORE and not seek:
                    if count_all and scored[at] == 0:
                        listed[ns] = at
                        ns += seen[at] == 0
                        seen[at] = 1
                    if bm == _MARK or cand[at] == 0:
                        continue
                p = s + j - 1
                packed = tf[p]
                t0 = packed >> body_bits
                t1 = packed & body_mask
                if p >= next_big:  # (rare: one compare a posting, not a load and two)
                    while nb < nbig and big_at[nb] < p:
                        nb += 1
                    if nb < nbig and big_at[nb] == p:
                        t0 = big_val[nb, 0]
                        t1 = big_val[nb, 1]
                    next_big = np.int64(big_at[nb]) if nb < nbig else _PAST
                lc = np.int64(lens[doc])
                tfn = np.float64(t0) * norm0[lc >> bits]
                tfn += np.float64(t1) * norm1[lc & len_mask]
                if k1 == 0.0:
                    score = 1.0 if tfn > 0 else 0.0
                else:
                    score = tfn / (tfn + k1)
                score *= idf
                if boost != 1.0:
                    score = score * boost
                if bm == _SCORE:
                    # (No branch on c: whether a doc is new follows no pattern.)
                    c = scored[at]
                    touched[nt] = at
                    nt += c == 0
                    scored[at] = c + (c < 2)
                    if not sparse or c == 0:
                        acc[at] += score
                    elif c == 1:
                        rest[at] = -0.0 + score
                    else:
                        rest[at] += score
                else:
                    got[at] += score
                if lookups or wide:
                    vals[at, i] = score
                    has[at, word] |= bit
            cur[i] = j
            prevs[i] = prev
            bigs[i] = nb
        # The window's matches, counted; its candidates, added up and kept if they rank.
        for t in range(ns):
            at = listed[t]
            seen[at] = 0
            if scored[at] == 0:
                count += (not use_mask) or mask[at + w0 - lo] == 2
        for t in range(nt):
            at = touched[t]
            doc = w0 + at
            hit = (not use_mask) or mask[doc - lo] == 2
            count += hit
            ok = hit and (not lookups or cand[at] != 0)
            if lookups or wide:
                score = 0.0
                if ok:
                    # Each term's score in term order, added as the union adds them.
                    m = 0
                    for i in range(nterms):
                        if has[at, i >> 6] & (np.uint64(1) << np.uint64(i & 63)):
                            buf[m] = vals[at, i]
                            m += 1
                    if not sparse:
                        for q in range(m):
                            score += buf[q]
                    elif m > 0:
                        score += buf[0]
                        r = m - 1
                        if 0 < r < 8:
                            extra = -0.0
                            for q in range(1, m):
                                extra += buf[q]
                            score = score + extra
                        elif r >= 8:
                            s0, s1, s2, s3 = buf[1], buf[2], buf[3], buf[4]
                            s4, s5, s6, s7 = buf[5], buf[6], buf[7], buf[8]
                            q = 9
                            end = 1 + r - r % 8
                            while q < end:
                                s0 += buf[q]
                                s1 += buf[q + 1]
                                s2 += buf[q + 2]
                                s3 += buf[q + 3]
                                s4 += buf[q + 4]
                                s5 += buf[q + 5]
                                s6 += buf[q + 6]
                                s7 += buf[q + 7]
                                q += 8
                            extra = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
                            while q < m:
                                extra += buf[q]
                                q += 1
                            score = score + extra
                for w in range(nwords):
                    has[at, w] = 0
            else:
                score = acc[at]
                if scored[at] == 2 and sparse:
                    score = score + rest[at]
            acc[at] = 0.0
            rest[at] = 0.0
            scored[at] = 0
            if lookups:
                got[at] = 0.0
                cand[at] = 0
            if not ok:
                continue
            for g in range(groups.shape[0]):
                score = score * groups[g]
            if score < theta:
                # Below the threshold: it cannot rank (and a jumped block may have left out
                # a term of it, so its sum may be short).
                continue
            # Better than the worst kept: a higher score, or an equal one and a higher doc.
            if (score > thr) | ((score == thr) & (doc > thr_doc)):
                size = _keep(out_docs, out_scores, size, k, score, doc)
                if size == k:
                    thr = out_scores[0]
                    thr_doc = out_docs[0]
        w0 = w1
    _by_doc(out_docs, out_scores, size)
    return _OK, count, size, exact


def _exhaustive(
    d1,
    d2,
    d4,
    dbase,
    gapw,
    gapbit,
    gaps,
    tf,
    big_at,
    big_val,
    terms,
    idfs,
    boosts,
    k1,
    lens,
    bits,
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
    """Scores, counts and the ``k`` best of one segment without pruning (what
    :func:`_kernel` does with no bounds, leaner: a small segment's query is mostly its
    fixed costs).

    ``terms[i]``: (width (0: gap-coded, :func:`_gap_doc`), first offset's index in its
    width's array, first block's index in ``dbase`` (and ``gapw``, ``gapbit``), first
    posting, end posting) of term ``i``'s postings, whose first posting starts a block of
    ``1 << shift``. ``lens``, ``bits``, ``norm0``, ``norm1`` as for
    :func:`_kernel`. ``mask`` (empty: no mask): per doc of ``[lo, hi)``, 0
    not allowed, 1 allowed but taken out after the union (a scored negation), 2 allowed. Returns (status,
    matches, hits in ``out_*``); ``counts[i]``: term ``i``'s allowed postings.
    """
    nterms = terms.shape[0]
    use_mask = mask.shape[0] > 0
    if (
        lens.shape[0] < n
        or (use_mask and mask.shape[0] < hi - lo)
        or lo < 0
        or hi > n
        or out_docs.shape[0] < k
        or out_scores.shape[0] < k
    ):
        return _CORRUPT, 0, 0
    body_mask = (1 << body_bits) - 1
    len_mask = (np.int64(1) << bits) - 1
    # Every offset into a file's array is checked before use: compiled code has no bounds.
    for i in range(nterms):
        width, dpos, b0, s, e = terms[i, 0], terms[i, 1], terms[i, 2], terms[i, 3], terms[i, 4]
        nblk = ((e - s - 1) >> shift) + 1
        if (
            not _fits(d1, d2, d4, dbase, gapw, gapbit, width, dpos, b0, nblk, e - s)
            or s < 0
            or e <= s
            or e > tf.shape[0]
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
                doc = _doc_at(
                    d1, d2, d4, dbase, gapw, gapbit, gaps, width, dpos, b0, j, shift, prev
                )
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
    # With two terms that is the dense sum: a + (-0.0 + b) == (0.0 + a) + b to the bit.
    sparse = nonempty > 2 and total * 2 < n
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
            # The next posting with a large frequency (stored apart) to look for.
            next_big = np.int64(big_at[nb]) if nb < nbig else _PAST
            cnt = e - s
            while j < cnt:
                doc = _doc_at(
                    d1, d2, d4, dbase, gapw, gapbit, gaps, width, dpos, b0, j, shift, prev
                )
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
                if p >= next_big:  # (rare: one compare a posting, not a load and two)
                    while nb < nbig and big_at[nb] < p:
                        nb += 1
                    if nb < nbig and big_at[nb] == p:
                        t0 = big_val[nb, 0]
                        t1 = big_val[nb, 1]
                    next_big = np.int64(big_at[nb]) if nb < nbig else _PAST
                lc = np.int64(lens[doc])
                tfn = np.float64(t0) * norm0[lc >> bits]
                tfn += np.float64(t1) * norm1[lc & len_mask]
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
        # The window's matches: those touched (cheaper than every doc of the window in
        # order, branch-free, even where most of them match).
        for t in range(ntouched):
            at = touched[t]
            score = acc[at]
            if mark[at] == 2:
                score = score + rest[at]
            mark[at] = 0
            acc[at] = 0.0
            rest[at] = 0.0
            doc = w0 + at
            hit = (not use_mask) or mask[doc - lo] == 2
            for g in range(ngroups):
                score = score * groups[g]
            count += hit
            # Better than the worst kept: a higher score, or an equal one and a higher doc.
            if hit & ((score > thr) | ((score == thr) & (doc > thr_doc))):
                size = _keep(out_docs, out_scores, size, k, score, doc)
                if size == k:
                    thr = out_scores[0]
                    thr_doc = out_docs[0]
        w0 = w1
    _by_doc(out_docs, out_scores, size)
    return _OK, count, size


_KERNEL = compiled.kernel(_kernel, calls=(_keep, _by_doc, _bound, _fits, _doc_at, _others_at))
_EXHAUSTIVE = compiled.kernel(_exhaustive, calls=(_keep, _by_doc, _fits, _doc_at))
# Gap-coded segments' kernels: the same loops reading gaps. (One kernel that picked the way
# per posting, though the choice is the term's, ran every search several times slower.)
_GAPS = {"_doc_at": _gap_doc}
_KERNEL_GAPS = compiled.kernel(
    _kernel, calls=(_keep, _by_doc, _bound, _fits, _others_at), name="_kernel_gaps", using=_GAPS
)
_EXHAUSTIVE_GAPS = compiled.kernel(
    _exhaustive, calls=(_keep, _by_doc, _fits), name="_exhaustive_gaps", using=_GAPS
)


def wanted(ctx: _Context, dis: Disjunction) -> bool:
    """Whether to ask :func:`segment_top` (see :data:`MIN_POSTINGS`)."""
    # (Whether a kernel was loaded at all, and only then whether kernels are on: asking
    # that imports numba, which a small search must not pay for.)
    if not compiled.loaded(on=True):
        if ctx.searcher.max_postings < MIN_POSTINGS:
            return False
        # (Looked up as Prepared will, together: Prepared itself would load the kernels.)
        stats = ctx.searcher.terms_stats([t.term for t in dis.terms], leaves.ALL_FIELDS, ctx.dfs)
        per_segment = [
            sum(e - s for s, e in (found[0][si] for found in stats))
            for si in range(len(ctx.searcher.segments))
        ]
        if compiled.one_query_only():
            if sum(per_segment) < ONE_QUERY_POSTINGS:
                return False
        elif max(per_segment, default=0) < MIN_POSTINGS:
            return False
    # (What segment_top asks first: Prepared reads the environment for the kernels once.)
    return ctx.scan_query(dis).on


class Prepared:
    """What :func:`segment_top` needs of a disjunction that is the same in every segment,
    worked out once per query (a sharded index asks for many small segments)."""

    __slots__ = (
        "dis", "slices", "idfs", "boosts", "groups", "too_big", "scored_nots", "plain", "on",
    )  # fmt: skip

    def __init__(self, ctx: _Context, dis: Disjunction):
        self.dis = dis
        # The kernels as this query found them: NEWSINDEX_COMPILED is read once here.
        self.on = compiled.available()
        # What each word's TermLeaf would hold (a disjunction's words are in every field),
        # without the leaves: a long query meets many words once.
        stats = ctx.searcher.terms_stats([t.term for t in dis.terms], leaves.ALL_FIELDS, ctx.dfs)
        #: per word, its postings slice in each segment
        self.slices = [found[0] for found in stats]
        self.idfs = np.array([found[2] for found in stats], dtype=np.float64)
        self.boosts = np.array([t.boost for t in dis.terms], dtype=np.float64)
        # (A group boost of 1 multiplies nothing: _bool skips it.)
        groups = [g for g in dis.boosts if g != 1.0]
        self.groups = np.array(groups, dtype=np.float64) if groups else _NO_GROUPS
        product = 1.0
        for g in dis.boosts:
            product *= g
        too_big = [product * t.boost > _MAX_BOOST_PRODUCT for t in dis.terms]
        self.too_big = too_big if any(too_big) else None
        self.scored_nots: tuple[P.Node, ...] = ()
        if dis.nots:
            from .searcher import _has_scoring  # (the searcher imports this module)

            self.scored_nots = tuple(f for f in dis.nots if _has_scoring(f))
        #: Nothing but the words: every live document of a segment is allowed.
        self.plain = not dis.filters and not dis.nots

    def kernels(self, gaps: bool) -> tuple[Any, Any]:
        """The exhaustive and the pruning kernel of segments whose doc numbers are gaps (or
        format 3's offsets), loaded on first use; None when kernels are off."""
        if gaps:
            return _EXHAUSTIVE_GAPS.get(self.on), _KERNEL_GAPS.get(self.on)
        return _EXHAUSTIVE.get(self.on), _KERNEL.get(self.on)


def segment_top(
    ctx: _Context, dis: Disjunction, si: int, k: int, best: Best | None = None, count: bool = True
) -> SegmentMatches | None:
    """Segment ``si``'s ``k`` best matches of ``dis`` that score at least the k-th best
    score of the segments searched before (``best``, if any) with ``count`` set to its
    number of matches,
    exactly as the numpy path would give them to :func:`.topk.select`; None when the numpy
    path must answer (see the module). Without ``count``, matches that cannot rank may go
    uncounted (``SegmentMatches.exact`` False)."""
    searcher = ctx.searcher
    seg = searcher.segments[si]
    raw = seg.raw_postings
    if raw is None or len(TEXT_FIELDS) != 2:
        return None
    q = ctx.scan_query(dis)
    if not q.on:
        return None
    present = []
    spans = []
    for i, slices in enumerate(q.slices):
        s, e = slices[si]
        if e > s:
            present.append(i)
            spans.append((s, e))
    if not spans:
        return None
    n = seg.ndocs
    upper = sum(e - s for s, e in spans)
    if len(spans) > _PAIRWISE_BLOCK + 1 and upper * 2 < n:
        return None  # certainly a sparse union the kernel does not add
    if q.too_big and any(q.too_big[i] for i in present):
        return None
    if q.plain:
        lo, hi = 0, n
        mask = _NO_MASK if seg.live is None else seg.live.view(np.uint8) * np.uint8(2)
    else:
        r = searcher.base_restrict(si)
        for f in dis.filters:
            r = ctx.restrict(f, si, r)
        excluded = None
        for f in dis.nots:
            if f in q.scored_nots:
                # Taken out after the union, as _bool's difference does: not in its density
                # test.
                found = ctx.filter_mask(f, si)
                excluded = found if excluded is None else (excluded | found)
            else:
                r = ctx.restrict(f, si, r, negate=True)
        lo, hi = r.lo, min(r.hi, n)
        if lo >= hi:
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES, 0)
        mask = _mask(r, lo, hi, excluded)
    terms = seg.postings_layouts(spans)
    if len(present) == len(q.slices):
        idfs, boosts = q.idfs, q.boosts
    else:
        idfs, boosts = q.idfs.take(present), q.boosts.take(present)
    coded = seg.length_codes
    if coded is None:
        return None
    norms = ctx.length_tables(si)
    out_docs = np.empty(max(k, 0), dtype=np.int64)
    out_scores = np.empty(max(k, 0), dtype=np.float64)
    counts = np.zeros(len(spans), dtype=np.int64)
    d1, d2, d4, dbase, gapw, gapbit, gaps, tf, big_at, big_val, block, body_bits = raw
    exhaustive, kernel = q.kernels(seg.gap_coded)
    if exhaustive is None or kernel is None:
        return None
    shift = block.bit_length() - 1
    if block != 1 << shift:
        return None
    # Pruning costs a bound per block read (from blk.tfn, which the layouts verified):
    # worth it in a large segment, or where the segments searched before set a bar,
    # nothing below it needs counting and no filter narrows what is read of the postings.
    large = upper >= PRUNE_MIN
    ratio = math.inf
    if k > 0 and (large or (not count and q.plain and best is not None)):
        ratio = ctx.tight_ratio(si)
    prune = ratio < math.inf
    theta = -math.inf
    if prune and best is not None:
        theta = best.threshold()
        theta = theta if theta > 0 else -math.inf  # (0: fewer than k so far)
        prune = large or theta > -math.inf
    if prune:
        # The kernel makes each block's bound from blk.tfn as it needs it (see _bound):
        # the blocks of these postings, which their layouts verified.
        btfn = seg.laid_block_tfn
    else:
        btfn, ratio = _NO_TFN, 1.0
    status = _SPARSE
    if not prune:
        # The lean kernel, unless the union is sparse and of more than 8 words: then only
        # the general one adds each document's scores in numpy's pairwise order.
        status, matched, size = exhaustive(
            d1, d2, d4, dbase, gapw, gapbit, gaps, tf, big_at, big_val, terms, idfs, boosts,
            float(ctx.scoring.k1), coded.codes, coded.bits, norms[0], norms[1], n, lo, hi,
            mask, q.groups, k, shift, body_bits, WINDOW, out_docs, out_scores, counts,
        )  # fmt: skip
        exact = True
    if status == _SPARSE and (prune or len(spans) > 8):
        window = max(64, min(WINDOW, _VALUES // len(spans)))
        status, matched, size, exact = kernel(
            d1, d2, d4, dbase, gapw, gapbit, gaps, tf, big_at, big_val, terms, idfs, boosts,
            float(ctx.scoring.k1), coded.codes, coded.bits, norms[0], norms[1], n, lo, hi,
            mask, q.groups, k, shift, body_bits, window, out_docs, out_scores, counts, btfn,
            ratio, theta, prune, count,
        )  # fmt: skip
    if status == _CORRUPT:
        raise IndexCorruptError(f"segment {seg.name}: postings name documents out of range")
    if status == _SPARSE:
        return None
    # (The kernels leave their hits in doc order.)
    return SegmentMatches(out_docs[:size].astype(np.int32), out_scores[:size], matched, exact)


_NO_TFN = np.zeros(0, dtype=np.float32)
_NO_TFN.flags.writeable = False  # (the type of a segment's mapped blk.tfn to numba)
_NO_GROUPS = np.zeros(0, dtype=np.float64)


def tight_ratio(searcher: Searcher, si: int, scoring: Scoring) -> float:
    """:func:`.blocks.tfn_ratio` of segment ``si`` under ``scoring``, or inf when its blocks'
    scores are not bounded tightly (no ``blk.tfn``, or one made for other weights or b): the
    per-field maxima alone seldom let a block go, and working them out costs a small query
    more than they save. (A search asks ``_Context.tight_ratio``, which keeps it.)"""
    seg = searcher.segments[si]
    params = seg.tfn_params if seg.has_blocks else None
    if params is None:
        return math.inf
    return tfn_ratio(params, scoring, searcher.avg_lengths)


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
