"""Postings doc numbers as offsets from a base per block, one byte width per term.

A term's postings name its documents in increasing order, cut into the blocks of
:mod:`.blocks` (``BLOCK_SIZE`` postings, numbered by ``blk.offs``). Each block stores the
doc number of its first posting, and each posting its distance from that one: small (in news,
most blocks of a frequent word span a few thousand documents), so each term stores its
distances in the narrowest of ``post.d1`` (uint8), ``post.d2`` (uint16) and ``post.d4``
(uint32) that holds its largest:

- ``post.dw``: per term, its width in bytes (1, 2 or 4);
- ``post.dpos``: per term, where its distances start in its width's array (the terms of one
  width follow each other there, in term order);
- ``post.d1`` / ``post.d2`` / ``post.d4``: per posting, its doc number less its block's
  first (0 for a block's first posting);
- ``post.dbase``: per block, the doc number of its first posting.

Any range of postings decodes from the start of its block with one widening and one
addition of each block's base: no running sum, which costs a search several times more (delta
coding of the gaps would make the arrays about a third smaller). Segments written before
this encoding hold ``post.docs`` (one int32 per posting), read as they were.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

import numpy as np

from ..errors import IndexCorruptError
from . import blocks
from .arrays import ArrayFile

#: Array of the offsets of each width in bytes.
OFFSET_ARRAYS = {1: "post.d1", 2: "post.d2", 4: "post.d4"}
_WIDTHS = {name: width for width, name in OFFSET_ARRAYS.items()}
OFFSET_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32}
#: Names of the encoding's arrays (a segment holding ``post.dw`` holds them all).
NAMES = ("post.dw", "post.dpos", *OFFSET_ARRAYS.values(), "post.dbase")
#: Postings decoded at a time when a reader wants many terms (merge, check).
_STEP = 1 << 22
#: Terms whose layout a reader keeps (cleared when full).
_CACHE_SIZE = 100_000


def encode(offs: np.ndarray, docs: np.ndarray) -> dict[str, np.ndarray]:
    """The encoding's arrays for postings ``docs`` (increasing within each term) of terms
    cut by ``offs`` (from 0; no term without postings); ``post.dpos`` counts from 0 in
    each width's array, as :func:`concat` expects of its parts."""
    offs = np.asarray(offs, dtype=np.int64)
    counts = np.diff(offs)
    if np.any(counts <= 0):
        raise ValueError("every term needs postings")
    n = int(offs[-1])
    docs = np.asarray(docs)
    nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    starts = _block_starts(offs, nblocks)
    bases = docs[starts].astype(np.int64)
    rel = docs.astype(np.int64)
    rel -= np.repeat(bases, np.diff(np.append(starts, n)))
    nterms = len(counts)
    top = np.maximum.reduceat(rel, offs[:-1]) if nterms else np.zeros(0, np.int64)
    widths = np.where(top < 1 << 8, 1, np.where(top < 1 << 16, 2, 4)).astype(np.uint8)
    dpos = np.zeros(nterms, dtype=np.int64)
    out: dict[str, np.ndarray] = {"post.dw": widths, "post.dpos": dpos}
    for width, name in OFFSET_ARRAYS.items():
        sel = widths == width
        mine = counts[sel]
        dpos[sel] = np.cumsum(mine) - mine
        out[name] = rel[np.repeat(sel, counts)].astype(OFFSET_DTYPES[width])
    out["post.dbase"] = bases.astype(np.int32)
    return out


class Sink(Protocol):
    """Where :class:`Concat` appends an offsets array's parts (an :class:`.arrays.Spill`, or
    a list of parts in memory)."""

    def append(self, values: np.ndarray, /) -> None: ...


class Concat:
    """:func:`concat`, a part at a time: each part's offsets arrays go to their ``sinks``
    (by name) as it comes, so a merge never holds them whole; the per-term and per-block
    arrays, small, are kept and returned by :meth:`finish`."""

    def __init__(self, sinks: Mapping[str, Sink]):
        self._sinks = sinks
        self._sizes = dict.fromkeys(OFFSET_ARRAYS, 0)
        self._kept: dict[str, list[np.ndarray]] = {"post.dw": [], "post.dpos": [], "post.dbase": []}

    def add(self, part: Mapping[str, np.ndarray]) -> None:
        """The next run of terms (an :func:`encode`'s arrays)."""
        dpos = part["post.dpos"].copy()
        for width, name in OFFSET_ARRAYS.items():
            dpos[part["post.dw"] == width] += self._sizes[width]
            self._sizes[width] += len(part[name])
            self._sinks[name].append(part[name])
        self._kept["post.dw"].append(part["post.dw"])
        self._kept["post.dpos"].append(dpos)
        self._kept["post.dbase"].append(part["post.dbase"])

    def finish(self) -> dict[str, np.ndarray]:
        """``post.dw``, ``post.dpos`` and ``post.dbase`` of every part added."""
        empty = {"post.dw": np.uint8, "post.dpos": np.int64, "post.dbase": np.int32}
        return {
            name: np.concatenate([np.zeros(0, empty[name]), *parts])
            for name, parts in self._kept.items()
        }


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays of consecutive runs of terms (each :func:`encode`'s) as one."""
    held: dict[str, list[np.ndarray]] = {name: [] for name in OFFSET_ARRAYS.values()}
    joined = Concat(held)  # (a list is a Sink)
    for part in parts:
        joined.add(part)
    small = joined.finish()
    offsets = {
        name: np.concatenate([np.zeros(0, OFFSET_DTYPES[width]), *held[name]])
        for width, name in OFFSET_ARRAYS.items()
    }
    return {name: small[name] if name in small else offsets[name] for name in NAMES}


def _block_starts(offs: np.ndarray, nblocks: np.ndarray) -> np.ndarray:
    """The first posting of every block of the terms cut by ``offs`` (``nblocks`` each)."""
    first = np.cumsum(nblocks) - nblocks
    total = int(nblocks.sum())
    rank = np.arange(total, dtype=np.int64) - np.repeat(first, nblocks)
    return np.repeat(offs[:-1], nblocks) + rank * blocks.BLOCK_SIZE


class DocIds:
    """The read side: doc numbers of any range of postings, each array verified as read."""

    def __init__(self, arr: ArrayFile, ndocs: int):
        self._arr = arr
        self._ndocs = ndocs
        self._offs = arr.unverified("post.offs")
        self._npost = int(self._offs[-1]) if len(self._offs) else 0
        # first posting of a term -> (first, end, offsets array, its first offset, first block)
        self._terms: dict[int, tuple[int, int, str, int, int]] = {}

    def docs(self, s: int, e: int) -> np.ndarray:
        """Doc numbers (int32, read-only) of the postings ``[s, e)`` (which may span terms)."""
        if not 0 <= s < e <= self._npost:
            s, e, _ = slice(s, e).indices(self._npost)
            if e <= s:
                return np.zeros(0, dtype=np.int32)
        out = self._decode(s, e)
        out.flags.writeable = False  # read-only, as the mmapped int32 doc numbers are
        return out

    def _decode(self, s: int, e: int) -> np.ndarray:
        found = self._terms.get(s)
        if found is None:
            found = self.term(self._term_of(s))
        t0, t1, name, dpos, b0 = found
        if not t0 <= s < t1:
            raise IndexCorruptError(f"{self._arr.path}: postings offsets are inconsistent")
        if e > t1:
            return self._span(s, e)
        arr = self._arr
        k = (s - t0) // blocks.BLOCK_SIZE
        bs = t0 + k * blocks.BLOCK_SIZE
        raw = arr.range(name, dpos + bs - t0, dpos + e - t0)
        size = blocks.BLOCK_SIZE
        full, tail = divmod(e - bs, size)
        bases = arr.range("post.dbase", b0 + k, b0 + k + full + (tail > 0))
        if len(raw) != e - bs or len(bases) != full + (tail > 0):
            raise IndexCorruptError(f"{arr.path}: postings of term at {t0} are truncated")
        out = raw.astype(np.int32)
        if full:
            whole = out[: full * size].reshape(full, size)
            whole += bases[:full, None]
        if tail:
            out[full * size :] += bases[full]
        if bs < s:
            out = out[s - bs :]
        if bases[0] < 0 or out[-1] >= self._ndocs:
            raise IndexCorruptError(f"{arr.path}: postings name documents out of range")
        return out

    def layout(self, s: int, e: int) -> tuple[int, int, int, int, int]:
        """Where the postings ``[s, e)`` of one term (``s`` at a block start) are encoded:
        ``(width, index of posting s's offset in its width's array, index of its block's
        base in post.dbase, s, e)``, both ranges verified, for a reader of the raw arrays
        (:meth:`raw`) that checks every doc number it decodes."""
        found = self._terms.get(s)
        if found is None:
            found = self.term(self._term_of(s))
        t0, t1, name, dpos, b0 = found
        size = blocks.BLOCK_SIZE
        if not (t0 <= s < e <= t1) or (s - t0) % size:
            raise IndexCorruptError(f"{self._arr.path}: postings offsets are inconsistent")
        at, first = dpos + s - t0, b0 + (s - t0) // size
        self._arr.check(name, at, at + e - s)
        self._arr.check("post.dbase", first, first + (e - s + size - 1) // size)
        return _WIDTHS[name], at, first, s, e

    def raw(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The unverified ``post.d1``, ``post.d2``, ``post.d4`` and ``post.dbase`` (read only
        where :meth:`layout` verified them)."""
        arr = self._arr
        d1, d2, d4 = (arr.unverified(name) for name in OFFSET_ARRAYS.values())
        return d1, d2, d4, arr.unverified("post.dbase")

    def _term_of(self, s: int) -> int:
        tid = int(np.searchsorted(self._offs, s, "right")) - 1
        return max(tid, 0)

    def term(self, tid: int) -> tuple[int, int, str, int, int]:
        """Term ``tid``'s ``(first posting, end, offsets array, its first offset there,
        first block)``, read through verified items (and kept by first posting)."""
        arr = self._arr
        t0, t1 = arr.items("post.offs", tid, tid + 2)
        name = OFFSET_ARRAYS.get(arr.item("post.dw", tid))
        if name is None or t0 >= t1:
            raise IndexCorruptError(f"{arr.path}: postings of term {tid} are inconsistent")
        found = (t0, t1, name, arr.item("post.dpos", tid), arr.item("blk.offs", tid))
        if len(self._terms) >= _CACHE_SIZE:
            self._terms.clear()
        self._terms[t0] = found
        return found

    def _span(self, s: int, e: int) -> np.ndarray:
        """Doc numbers of postings ``[s, e)`` over several terms."""
        ta = self._term_of(s)
        tb = self._term_of(e - 1) + 1
        docs = self.terms(ta, tb)
        p0 = int(self._offs[ta])
        return docs[s - p0 : e - p0]

    def terms(self, ta: int, tb: int) -> np.ndarray:
        """Doc numbers (int32) of every posting of terms ``[ta, tb)``, vectorized."""
        docs, _, _ = _run(self._arr, ta, tb)
        if len(docs) and (docs.min() < 0 or docs.max() >= self._ndocs):
            raise IndexCorruptError(f"{self._arr.path}: postings name documents out of range")
        return docs.astype(np.int32)

    def runs(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """``(first term, end term, doc numbers of their postings)`` over all terms, in runs
        of about :data:`_STEP` postings."""
        offs = self._arr["post.offs"]
        nterms = len(offs) - 1
        t = 0
        while t < nterms:
            end = int(np.searchsorted(offs, offs[t] + _STEP, "right")) - 1
            end = min(max(end, t + 1), nterms)
            yield t, end, self.terms(t, end)
            t = end

    def whole(self) -> np.ndarray:
        """Doc numbers (int32) of every posting."""
        parts = [docs for _, _, docs in self.runs()]
        return np.concatenate([np.zeros(0, np.int32), *parts])


def _run(arr: ArrayFile, ta: int, tb: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For terms ``[ta, tb)``: the doc numbers of their postings, the first posting of each
    block (counted from the run's first) and each block's base (what its first posting's
    doc number must be), all int64; an IndexCorruptError where the arrays do not fit
    together."""
    path = arr.path
    offs = arr.range("post.offs", ta, tb + 1).astype(np.int64)
    if len(offs) != tb - ta + 1:
        raise IndexCorruptError(f"{path}: postings offsets are inconsistent")
    counts = np.diff(offs)
    if np.any(counts <= 0):
        raise IndexCorruptError(f"{path}: postings offsets are inconsistent")
    n = int(offs[-1] - offs[0])
    widths = arr.range("post.dw", ta, tb)
    dpos = arr.range("post.dpos", ta, tb).astype(np.int64)
    if len(widths) != tb - ta or len(dpos) != tb - ta:
        raise IndexCorruptError(f"{path}: postings widths do not match the terms")
    rel = np.empty(n, dtype=np.int64)
    seen = 0
    for width, name in OFFSET_ARRAYS.items():
        sel = widths == width
        mine = np.flatnonzero(sel)
        if not len(mine):
            continue
        seen += len(mine)
        lo = int(dpos[mine[0]])
        want = counts[mine]
        part = arr.range(name, lo, lo + int(want.sum()))
        # The terms of one width follow each other in its array.
        if len(part) != int(want.sum()) or np.any(dpos[mine] - lo != np.cumsum(want) - want):
            raise IndexCorruptError(f"{path}: {name!r} does not match its terms")
        rel[np.repeat(sel, counts)] = part
    if seen != tb - ta:
        raise IndexCorruptError(f"{path}: postings widths are invalid")
    nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    b = arr.range("blk.offs", ta, tb + 1).astype(np.int64)
    if len(b) != tb - ta + 1 or np.any(np.diff(b) != nblocks):
        raise IndexCorruptError(f"{path}: postings blocks do not match the terms")
    bases = arr.range("post.dbase", int(b[0]), int(b[-1]))
    if len(bases) != int(b[-1] - b[0]):
        raise IndexCorruptError(f"{path}: 'post.dbase' is shorter than its blocks need")
    starts = _block_starts(offs - offs[0], nblocks)
    bases = bases.astype(np.int64)
    rel += np.repeat(bases, np.diff(np.append(starts, n)))  # (in place: a merge reads all)
    return rel, starts, bases


def problems(arr: ArrayFile, ndocs: int) -> list[str]:
    """What ``newsindex check`` finds wrong with the encoding's arrays (empty: all good):
    widths, the layout of each width's array, each block's first offset 0, and strictly
    increasing doc numbers within each term, below ``ndocs``.

    The per-term arrays are read whole, the postings a run of terms at a time (about
    :data:`_STEP` postings): a check's memory does not grow with the segment's postings,
    which a segment of millions of stories holds hundreds of millions of."""
    path = arr.path
    offs = arr["post.offs"].astype(np.int64)
    counts = np.diff(offs)
    if np.any(counts <= 0):
        return [f"{path}: a term has no postings"]
    widths = arr["post.dw"]
    dpos = arr["post.dpos"].astype(np.int64)
    if len(widths) != len(counts) or len(dpos) != len(counts):
        return [f"{path}: postings widths do not match the terms"]
    if np.any(~np.isin(widths, list(OFFSET_ARRAYS))):
        return [f"{path}: postings widths are invalid"]
    out = []
    for width, name in OFFSET_ARRAYS.items():
        sel = widths == width
        mine = counts[sel]
        if len(arr.unverified(name)) != int(mine.sum()) or np.any(
            dpos[sel] != np.cumsum(mine) - mine
        ):
            out.append(f"{path}: {name!r} does not match its terms")
    if out:
        return out
    nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    blk = arr["blk.offs"].astype(np.int64)
    if len(blk) != len(offs) or np.any(np.diff(blk) != nblocks):
        return [f"{path}: postings blocks do not match the terms"]
    if len(arr.unverified("post.dbase")) != blk[-1]:
        return [f"{path}: postings blocks do not match the terms"]
    found: dict[str, None] = {}  # (each problem once, in the order met)
    nterms = len(counts)
    ta = 0
    while ta < nterms:
        tb = int(np.searchsorted(offs, offs[ta] + _STEP, "right")) - 1
        tb = min(max(tb, ta + 1), nterms)
        try:
            docs, starts, bases = _run(arr, ta, tb)
        except IndexCorruptError as exc:
            found[str(exc)] = None
            ta = tb
            continue
        if np.any(docs[starts] != bases):
            found[f"{path}: a block's first posting is not its base"] = None
        later = np.ones(len(docs), dtype=bool)
        later[offs[ta:tb] - offs[ta]] = False
        if np.any(np.diff(docs)[later[1:]] <= 0):
            found[f"{path}: postings doc numbers are not increasing within a term"] = None
        if len(docs) and (docs.min() < 0 or docs.max() >= ndocs):
            found[f"{path}: postings name documents out of range"] = None
        ta = tb
    return list(found)
