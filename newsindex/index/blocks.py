"""Per-block maxima of the postings, written beside them for rank-safe pruning.

Each term's postings are cut into blocks of :data:`BLOCK_SIZE` (the last one shorter), and
for each block and text field the segment stores the largest term frequency and the smallest
field length among the block's postings with that field. BM25F grows with the term
frequency and shrinks with the field length whatever its parameters (weights >= 0,
0 <= b <= 1, any corpus statistics), so ``score(max tf, min length)`` bounds every score in
the block for any :class:`~newsindex.config.Scoring` and any commit's statistics (Lucene's
competitive impacts, reduced to one (freq, norm) pair per field). A term's bound is the
largest of its blocks'.

Segments written before these arrays existed have none: searches over them stay exhaustive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..schema import TEXT_FIELDS

#: Postings per block (the last block of a term may be shorter).
BLOCK_SIZE = 128


def block_maxima(
    post_offs: np.ndarray,
    post_docs: np.ndarray,
    post_tfs: Sequence[np.ndarray],
    lengths: Sequence[np.ndarray],
) -> dict[str, np.ndarray]:
    """The block arrays of one segment: ``blk.offs`` (each term's first block, one past the
    last at the end), and per text field ``blk.tf.<field>`` (the block's largest tf) and
    ``blk.len.<field>`` (the smallest field length among its postings with tf > 0; 0 when
    no posting of the block has the field), in wide dtypes (the builder narrows them)."""
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
    return out
