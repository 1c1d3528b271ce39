"""Unsigned integers bit-packed at one width per block (Lucene's ForUtil, tantivy's
bitpacker), in little-endian uint64 words.

Block ``b`` holds ``counts[b]`` values of ``widths[b]`` bits each (0 to :data:`MAX_WIDTH`),
its i-th at bit ``starts[b] + i * widths[b]`` of the words (bit 0 the lowest of word 0); a
value crossing a word boundary goes on in the next word's lowest bits. Blocks follow each
other without padding, so any value is read on its own (a shift and a mask of one or two
words): a reader can start anywhere, as the compiled scan does after jumping blocks. A
block of width 0 takes no bits: its values are all 0.
"""

from __future__ import annotations

import numpy as np

#: The widest value, in bits (doc numbers and their gaps are int32).
MAX_WIDTH = 32


def widths_of(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per block (``counts`` values each, in order), the bits of its largest value (uint8)."""
    counts = np.asarray(counts, dtype=np.int64)
    top = np.zeros(len(counts), dtype=np.float64)
    has = counts > 0
    if len(values):
        first = np.cumsum(counts) - counts
        top[has] = np.maximum.reduceat(values, first[has])
    # (frexp's exponent is the bit length, exact below 2**53; 0 for 0.)
    widths = np.frexp(top)[1]
    if len(widths) and int(widths.max()) > MAX_WIDTH:
        raise ValueError(f"a value needs more than {MAX_WIDTH} bits")
    return widths.astype(np.uint8)


def pack(
    values: np.ndarray, widths: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (non-negative, below ``2**widths`` of their block) as words, and each
    block's first bit (int64)."""
    counts = np.asarray(counts, dtype=np.int64)
    wide = np.asarray(widths, dtype=np.int64)
    sizes = counts * wide
    starts = np.cumsum(sizes) - sizes
    total = int(sizes.sum())
    words = np.zeros((total + 63) >> 6, dtype=np.uint64)
    pos, w = _positions(starts, wide, counts)
    nonzero = np.asarray(values) != 0  # (zeros set no bit)
    v = np.asarray(values)[nonzero].astype(np.uint64)
    pos, w = pos[nonzero], w[nonzero]
    if len(v):
        idx = pos >> 6
        shift = (pos & 63).astype(np.uint64)
        # Values are in bit order, so those starting in one word are neighbours.
        first = np.flatnonzero(np.diff(idx, prepend=-1))
        words[idx[first]] = np.bitwise_or.reduceat(v << shift, first)
        over = (pos & 63) + w > 64
        # (Each word holds the end of at most one value begun in the word before.)
        words[idx[over] + 1] |= v[over] >> (np.uint64(64) - shift[over])
    return words, starts.astype(np.int64)


def unpack(
    words: np.ndarray, starts: np.ndarray, widths: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """The values (uint64) of blocks at ``starts`` (bits into ``words``); ValueError where a
    width is over :data:`MAX_WIDTH` or a block reaches past the words."""
    counts = np.asarray(counts, dtype=np.int64)
    wide = np.asarray(widths, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    if len(wide) and (int(wide.max()) > MAX_WIDTH or int(starts.min()) < 0):
        raise ValueError("a block's width or start is invalid")
    if len(wide) and int((starts + counts * wide).max()) > 64 * len(words):
        raise ValueError("a block reaches past the packed words")
    pos, w = _positions(starts, wide, counts)
    if not len(words):  # (every width 0)
        return np.zeros(len(pos), dtype=np.uint64)
    idx = pos >> 6
    shift = (pos & 63).astype(np.uint64)
    # (A width-0 value may start at the very end: any word read for it is masked out.)
    out = words.take(idx, mode="clip") >> shift
    over = np.flatnonzero((pos & 63) + w > 64)
    if len(over):
        out[over] |= words[idx[over] + 1] << (np.uint64(64) - shift[over])
    out &= (np.uint64(1) << w.astype(np.uint64)) - np.uint64(1)
    return out


def _positions(
    starts: np.ndarray, widths: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each value's first bit and width (int64)."""
    w = np.repeat(widths, counts)
    rank = np.arange(len(w), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    rank *= w
    rank += np.repeat(starts, counts)
    return rank, w
