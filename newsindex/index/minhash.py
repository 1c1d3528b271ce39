"""MinHash signatures of stories, for finding near-duplicates (wire copies) at search time.

A story's signature summarizes the set of its word shingles (``SHINGLE`` consecutive kept
terms of the title or of the body, after analysis: stemmed, stop words out), so the share of
equal positions in two signatures estimates the Jaccard similarity of the two sets.

It is one-permutation hashing (Li, Owen and Zhang 2012) with rotation densification
(Shrivastava and Li 2014): each shingle is hashed once, the hash's top bits choose one of
``BINS`` bins and each bin keeps its smallest hash; an empty bin borrows from the next
non-empty one to its right (circularly), offset by the distance. One hash per shingle instead
of one per shingle and permutation keeps the cost at a few passes over the segment's tokens.
Each bin keeps the low ``BITS`` (12) bits of its minimum (b-bit MinHash, Li and König
2010), two bins packed in three bytes: two different minima agree by chance once in 4,096
bins, so the share ``P`` of equal bins overestimates the Jaccard similarity ``J`` by that
chance, ``P = J + (1 - J) / 4096``; :func:`estimate` corrects it, ``J = (P - 2^-b) /
(1 - 2^-b)``, and :func:`needed_bins` is the count of equal bins from which that estimate
reaches a threshold. (Fewer bits would not do: LSH bands of two bins, which low thresholds
need so that no pair is missed, must be rare by chance among a million stories.) Segments
written before stored 16 bits a bin, read as their low 12, so old and new signatures
compare.

Everything is a function of the terms' UTF-8 bytes (their CRC-32, as the term table stores
it) and of fixed constants, so a story gets the same signature in every segment, on every
machine, whichever builder (serial or forked) wrote it, and whether it is read from the
segment or rebuilt from the postings of a segment written before signatures existed.
A story without any kept term gets the all-zero row, which means "no signature": it is
never a near-duplicate of anything.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

#: Words per shingle.
SHINGLE = 3
#: Positions of a signature.
BINS = 64
#: The segment array holding one signature row per document.
ARRAY = "dup.sig"
#: Bits of its minimum a bin keeps, and the dtype holding them in memory.
BITS = 12
DTYPE = np.uint16
#: Bytes of a stored signature (two bins in three bytes).
PACKED = BINS * BITS // 8

_BIN_SHIFT = np.uint32(32 - (BINS - 1).bit_length())
_NO_VALUE = np.uint32(2**32 - 1)
# Odd constants (from murmur3 and the golden ratio) weighting a shingle's words.
_W1 = np.uint32(0x9E3779B1)
_W2 = np.uint32(0x85EBCA6B)
_ROTATE = np.uint32(0xC2B2AE35)


def term_hashes(crcs: np.ndarray) -> np.ndarray:
    """32-bit hashes of terms from their CRC-32s (``strtable``'s ``.crc``): murmur3's
    finalizer, so every bit of the CRC reaches every bit of the hash."""
    x = crcs.astype(np.uint32) + _W1
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x85EBCA6B)
    x ^= x >> np.uint32(13)
    x *= np.uint32(0xC2B2AE35)
    x ^= x >> np.uint32(16)
    return x


def crc_of_terms(terms: Sequence[str]) -> np.ndarray:
    """The CRC-32 of each term's UTF-8 bytes (for tables that do not store them)."""
    return np.fromiter(
        (zlib.crc32(t.encode("utf-8")) for t in terms), dtype=np.uint32, count=len(terms)
    )


#: Documents signed at a time: bounds the temporaries and keeps the minima in cache.
_CHUNK_DOCS = 1024


def signatures(
    fields: Sequence[tuple[np.ndarray, np.ndarray]], hashes: np.ndarray, n: int
) -> np.ndarray:
    """One ``(n, BINS)`` signature (``DTYPE``) per document.

    ``fields``: per text field, the term id of every token (negative: a dropped token),
    document after document in text order, and how many tokens each document has;
    ``hashes``: each term id's hash (:func:`term_hashes`). Shingles are runs of kept terms
    that do not cross from one field or document into the next; a field with fewer kept
    terms than a shingle is one shingle of them.
    """
    sig = np.zeros((n, BINS), dtype=DTYPE)
    ends = [np.concatenate(([0], np.cumsum(counts, dtype=np.int64))) for _, counts in fields]
    for lo in range(0, n, _CHUNK_DOCS):
        hi = min(lo + _CHUNK_DOCS, n)
        part = []
        for (ids, _), e in zip(fields, ends):
            chunk = ids[int(e[lo]) : int(e[hi])]
            kept = chunk >= 0
            before = np.zeros(len(chunk) + 1, dtype=np.int64)
            np.cumsum(kept, out=before[1:])
            part.append((hashes[chunk[kept]], np.diff(before[e[lo : hi + 1] - e[lo]])))
        sig[lo:hi] = _sign(part, hi - lo)
    return sig


def _sign(fields: Sequence[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """The signatures of a few documents, from the hashes of each field's kept tokens and
    their count per document."""
    # A shingle's hash is a weighted sum of its words' (already mixed) hashes: its last
    # word's hash alone is uniform, so the sum is too, and needs no mixing. 32 bits: two
    # shingles of a segment may share a hash, which moves an estimate by a bin at most.
    hashes_parts: list[np.ndarray] = []
    doc_parts: list[np.ndarray] = []
    for hashes, counts in fields:
        m = len(hashes)
        if m >= SHINGLE:
            docs = np.repeat(np.arange(n, dtype=np.int32), counts)
            whole = docs[: m - 2] == docs[2:]  # the shingle's last word is in its first's doc
            h = hashes[: m - 2] * _W1
            h += hashes[1 : m - 1] * _W2
            h += hashes[2:]
            hashes_parts.append(h[whole])
            doc_parts.append(docs[: m - 2][whole])
        short = np.flatnonzero((counts > 0) & (counts < SHINGLE))
        if len(short):
            starts = (np.cumsum(counts) - counts)[short]
            h = hashes[starts] * _W1
            two = counts[short] == 2
            h[two] += hashes[starts[two] + 1] * _W2
            hashes_parts.append(h)
            doc_parts.append(short.astype(np.int32))
    sig = np.zeros((BINS, n), dtype=DTYPE)
    if not hashes_parts:
        return sig.T
    h = np.concatenate(hashes_parts)
    # Bin-major slots, so a bin's minima are one contiguous row.
    slot = (h >> _BIN_SHIFT).astype(np.int32)
    slot *= n
    slot += np.concatenate(doc_parts)
    flat = np.full(BINS * n, _NO_VALUE, dtype=np.uint32)
    np.minimum.at(flat, slot, h)
    mins = flat.reshape(BINS, n)
    empty = mins == _NO_VALUE
    partial = np.flatnonzero(empty.any(axis=0) & ~empty.all(axis=0))
    if len(partial):
        mins[:, partial] = _densify(mins[:, partial], empty[:, partial])
    some = ~empty.all(axis=0)
    sig[:, some] = mins[:, some]  # the low 16 bits
    sig &= DTYPE((1 << BITS) - 1)
    return sig.T


def _densify(mins: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Each empty bin (a row of ``mins``, one column per document) takes the next non-empty
    bin's minimum (circularly), plus a constant times the distance, so two stories agree
    there as often as where they borrow from."""
    bins = len(mins)
    at = np.where(empty, np.int32(2 * bins), np.arange(bins, dtype=np.int32)[:, None])
    twice = np.concatenate([at, at + np.int32(bins)])
    nearest = np.minimum.accumulate(twice[::-1], axis=0)[::-1][:bins]
    dist = (nearest - np.arange(bins, dtype=np.int32)[:, None]).astype(np.uint32)
    out = np.take_along_axis(mins, nearest % np.int32(bins), axis=0)
    out += dist * _ROTATE
    return out


def from_postings(
    term_crcs: np.ndarray,
    post_offs: np.ndarray,
    post_docs: np.ndarray,
    post_tf: Sequence[np.ndarray],
    pos: np.ndarray,
    n: int,
) -> np.ndarray:
    """The signatures :func:`signatures` gives a segment's documents, rebuilt from its
    postings and positions (for segments written before signatures were stored).

    ``post_tf``: per text field, each posting's term frequency; a posting's positions are
    its fields' in field order, one per occurrence, postings one after another.
    """
    nterms = len(post_offs) - 1
    post_term = np.repeat(np.arange(nterms, dtype=np.int64), np.diff(post_offs))
    tfs = [tf.astype(np.int64) for tf in post_tf]
    per_post = sum(tfs[1:], start=tfs[0])
    tok_post = np.repeat(np.arange(len(post_docs), dtype=np.int64), per_post)
    within = np.arange(len(tok_post), dtype=np.int64)
    within -= np.repeat(np.cumsum(per_post) - per_post, per_post)
    field = np.zeros(len(tok_post), dtype=np.int64)
    bound = np.zeros(len(post_docs), dtype=np.int64)
    for tf in tfs[:-1]:
        bound += tf
        field += within >= bound[tok_post]
    doc = post_docs.astype(np.int64)[tok_post]
    order = np.lexsort((pos[: len(tok_post)].astype(np.int64), field, doc))
    terms = post_term[tok_post[order]]
    field = field[order]
    doc = doc[order]
    parts = []
    for fi in range(len(tfs)):
        mask = field == fi
        parts.append((terms[mask], np.bincount(doc[mask], minlength=n)))
    return signatures(parts, term_hashes(term_crcs), n)


def pack(sig: np.ndarray) -> np.ndarray:
    """Signatures ``(n, BINS)`` as stored: ``(n, PACKED)`` bytes, each two bins ``a, b`` as
    ``a & 0xFF, a >> 8 | (b & 0xF) << 4, b >> 4``."""
    pairs = sig.reshape(len(sig), BINS // 2, 2).astype(np.uint16)
    a, b = pairs[..., 0], pairs[..., 1]
    out = np.empty((len(sig), BINS // 2, 3), dtype=np.uint8)
    out[..., 0] = a & 0xFF
    out[..., 1] = (a >> 8) | ((b & 0xF) << 4)
    out[..., 2] = b >> 4
    return out.reshape(len(sig), PACKED)


def stored(sig: np.ndarray) -> np.ndarray:
    """A segment's stored signatures (:func:`pack`'s bytes, or 16 bits a bin in segments
    written before) as this version compares them: ``(n, BINS)`` of ``BITS`` bits."""
    if sig.dtype == np.uint16:
        return sig & DTYPE((1 << BITS) - 1)
    raw = sig.reshape(len(sig), BINS // 2, 3).astype(np.uint16)
    out = np.empty((len(sig), BINS // 2, 2), dtype=DTYPE)
    out[..., 0] = raw[..., 0] | ((raw[..., 1] & 0xF) << 8)
    out[..., 1] = (raw[..., 1] >> 4) | (raw[..., 2] << 4)
    return out.reshape(len(sig), BINS)


def estimate(same: np.ndarray | int) -> np.ndarray:
    """The Jaccard similarity two signatures agreeing in ``same`` of their bins estimate:
    the share of equal bins less the chance agreement of ``BITS``-bit minima (never below
    0)."""
    chance = 2.0**-BITS
    return np.maximum((np.asarray(same) / BINS - chance) / (1.0 - chance), 0.0)


def needed_bins(threshold: float) -> int:
    """The fewest equal bins whose :func:`estimate` reaches ``threshold`` (0 < it <= 1)."""
    chance = 2.0**-BITS
    return int(np.ceil((threshold * (1.0 - chance) + chance) * BINS - 1e-9))


def band_rows(threshold: float) -> int:
    """Rows per LSH band for ``threshold``: the most (fewest candidates) such that two
    signatures agreeing in at least :func:`needed_bins` of their bins always share a whole
    band (by pigeonhole: ``bands * (rows - 1) + leftover`` agreeing bins can still miss every
    band). A pair the estimate would group is never missed."""
    need = needed_bins(threshold)
    best = 1
    for rows in range(1, BINS + 1):
        bands = BINS // rows
        if bands * (rows - 1) + BINS - bands * rows < need:
            best = rows
    return best
