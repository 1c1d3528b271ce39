"""Per-block maxima of the postings, written beside them for rank-safe pruning.

Each term's postings are cut into blocks of :data:`BLOCK_SIZE` (the last one shorter), and
for each block and text field the segment stores the largest term frequency and the smallest
field length among the block's postings with that field. BM25F grows with the term
frequency and shrinks with the field length whatever its parameters (weights >= 0,
0 <= b <= 1, any corpus statistics), so ``score(max tf, min length)`` bounds every score in
the block for any :class:`~newsindex.config.Scoring` and any commit's statistics (Lucene's
competitive impacts, reduced to one (freq, norm) pair per field). A term's bound is the
largest of its blocks'.

Those bounds hold for any scoring, and are loose: the largest tf and the smallest length
often come from different documents, and the title's from yet another. So the writer also
stores ``blk.tfn``, each block's largest length-normalised frequency ``tfn`` (see
:mod:`newsindex.bm25f`) under the index's own scoring and the segment's own average field
lengths, rounded up to float32, with those parameters in ``blk.norm`` (per text field: weight,
b, average length). A search with the same weights and b bounds a block's scores by
``saturate(tfn * r, k1) * idf`` for any ``k1``, where ``r`` (at least 1) is the largest ratio
of the search's average length to the segment's over the fields: a field's factor
``w / (1 - b + b * len / avg)`` grows at most in that proportion when ``avg`` grows. Other
scorings use the per-field maxima.

Segments written before these arrays existed have none: searches over them stay exhaustive
(before ``blk.offs``) or use the per-field maxima (before ``blk.tfn``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..bm25f import field_factors
from ..config import Scoring
from ..schema import TEXT_FIELDS

#: Postings per block (the last block of a term may be shorter).
BLOCK_SIZE = 128


def score_factors(
    lengths: Sequence[np.ndarray], scoring: Scoring
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per text field, each document's factor ``w / (1 - b + b * len / avg)`` under
    ``scoring`` with these documents' own average lengths (for :func:`block_maxima`), and
    the segment's ``blk.norm``: per field, weight, b and average length."""
    factors = []
    params = []
    for fi, fname in enumerate(TEXT_FIELDS):
        n = len(lengths[fi])
        avg = float(lengths[fi].sum(dtype=np.int64)) / n if n else 0.0
        w, b = float(scoring.weight(fname)), float(scoring.b_for(fname))
        factors.append(field_factors(lengths[fi], avg, b, w))
        params += [w, b, avg]
    return factors, np.array(params, dtype=np.float64)


def tfn_ratio(params: np.ndarray, scoring: Scoring, avg_lengths: Sequence[float]) -> float:
    """How much larger than a segment's ``blk.tfn`` (written with ``params``, its
    ``blk.norm``) a document's ``tfn`` can be under ``scoring`` and a search's average
    lengths; inf when ``scoring`` is not the one they were written with (or the ratio has
    no bound), so that only the per-field maxima bound it."""
    if len(params) != 3 * len(TEXT_FIELDS):
        return math.inf
    ratio = 1.0
    for fi, fname in enumerate(TEXT_FIELDS):
        w, b, avg = params[3 * fi : 3 * fi + 3].tolist()
        if w != scoring.weight(fname) or b != scoring.b_for(fname):
            return math.inf
        now = avg_lengths[fi]
        if now > avg:
            if not avg > 0:
                return math.inf
            ratio = max(ratio, now / avg)
    return ratio


def block_maxima(
    post_offs: np.ndarray,
    post_docs: np.ndarray,
    post_tfs: Sequence[np.ndarray],
    lengths: Sequence[np.ndarray],
    factors: Sequence[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The block arrays of one segment: ``blk.offs`` (each term's first block, one past the
    last at the end), and per text field ``blk.tf.<field>`` (the block's largest tf) and
    ``blk.len.<field>`` (the smallest field length among its postings with tf > 0; 0 when
    no posting of the block has the field), in wide dtypes (the builder narrows them); with
    ``factors`` (:func:`score_factors`), ``blk.tfn``."""
    offs = np.asarray(post_offs, dtype=np.int64)
    counts = np.diff(offs)
    nblocks = (counts + BLOCK_SIZE - 1) // BLOCK_SIZE
    blk_offs = np.concatenate(([0], np.cumsum(nblocks))).astype(np.int64)
    total = int(blk_offs[-1])
    # The first posting of every block: each term's start, then every BLOCK_SIZE-th after it.
    term_of_block = np.repeat(np.arange(len(counts), dtype=np.int64), nblocks)
    rank_in_term = np.arange(total, dtype=np.int64) - np.repeat(blk_offs[:-1], nblocks)
    starts = offs[:-1][term_of_block] + rank_in_term * BLOCK_SIZE
    out: dict[str, np.ndarray] = {"blk.offs": blk_offs}
    for fi, fname in enumerate(TEXT_FIELDS):
        tf = post_tfs[fi]
        if total:
            top = np.maximum.reduceat(tf, starts)
            # Doc numbers are the segment's own (0 <= doc < len): "clip" only skips the
            # bounds check, which makes "raise" several times slower.
            length = lengths[fi].take(post_docs, mode="clip")
            # Postings without the field must not lower the minimum: give them the largest.
            np.putmask(length, tf == 0, np.iinfo(length.dtype).max)
            low = np.minimum.reduceat(length, starts).astype(np.int64)
            low[top == 0] = 0
        else:
            top = np.zeros(0, dtype=tf.dtype)
            low = np.zeros(0, dtype=np.int64)
        out[f"blk.tf.{fname}"] = top
        out[f"blk.len.{fname}"] = low
    if factors is not None:
        # In the order and precision a search computes a posting's tfn in.
        tfn = post_tfs[0] * factors[0].take(post_docs, mode="clip")
        for fi in range(1, len(TEXT_FIELDS)):
            tfn += post_tfs[fi] * factors[fi].take(post_docs, mode="clip")
        top_tfn = np.maximum.reduceat(tfn, starts) if total else np.zeros(0)
        out["blk.tfn"] = _rounded_up(top_tfn)
    return out


def _rounded_up(values: np.ndarray) -> np.ndarray:
    """``values`` as float32, none of them below its float64 value."""
    out = values.astype(np.float32)
    low = out.astype(np.float64) < values
    out[low] = np.nextafter(out[low], np.float32(np.inf))
    return out
