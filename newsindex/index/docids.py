"""Postings doc numbers: bit-packed gaps per block, or offsets from each block's first
(format 3's encoding, which small segments keep).

A term's postings name its documents in increasing order, cut into the blocks of
:mod:`.blocks` (``BLOCK_SIZE`` postings, numbered by ``blk.offs``). Each block stores the
doc number of its first posting (``post.dbase``, int32). A segment of at least
:data:`GAPS_FROM` postings stores the others as gaps:

- ``post.gaps``: uint64 words of the blocks' gaps bit-packed (:mod:`.bitpack`), a
  posting's gap being its doc number less the posting before's, less 1 (0 for neighbours);
  a block's first posting has none;
- ``post.gapw``: per block, the bits of each of its gaps (0 to 32; the largest gap's);
- ``post.gapbit``: per block, the bit of ``post.gaps`` where its gaps start.

Any gap reads alone, so a reader starting at a block (after jumping blocks) decodes on from
its base with a running sum, and a range of blocks decodes vectorized. Gaps take half the
bytes of offsets (news words' gaps are small; offsets from a block's first grow across it),
which is most of what a search process keeps of an archive's postings; offsets decode with
one widening and one addition, which a small segment's searches feel more.

Offsets (format 3; a segment holding ``post.dw`` holds them all):

- ``post.dw``: per term, its offsets' width in bytes (1, 2 or 4);
- ``post.dpos``: per term, where its offsets start in its width's array (the terms of one
  width follow each other there, in term order);
- ``post.d1`` / ``post.d2`` / ``post.d4``: per posting, its doc number less its block's
  first (0 for a block's first posting);
- ``post.dbase`` as above.

Segments written before either hold ``post.docs`` (one int32 per posting), read as they were.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

import numpy as np

from .. import compiled
from ..errors import IndexCorruptError
from . import bitpack, blocks
from .arrays import ArrayFile

#: Names of the gaps encoding's arrays (a segment holding ``post.gaps`` holds them all).
GAP_NAMES = ("post.dbase", "post.gapw", "post.gapbit", "post.gaps")
#: Segments of this many postings or more store their doc numbers as gaps: half the bytes
#: of offsets, which count once an archive's postings outgrow memory. Smaller segments keep
#: format 3's offsets, which the kernels read faster (a few MB either way).
GAPS_FROM = 1 << 22
#: The width in a compiled reader's layout (:meth:`DocIds.layout`) of gap-coded postings.
GAPS = 0
#: Format 3: array of the offsets of each width in bytes.
OFFSET_ARRAYS = {1: "post.d1", 2: "post.d2", 4: "post.d4"}
_WIDTHS = {name: width for width, name in OFFSET_ARRAYS.items()}
OFFSET_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32}
#: Names of format 3's arrays (a segment holding ``post.dw`` holds them all).
OFFSET_NAMES = ("post.dw", "post.dpos", *OFFSET_ARRAYS.values(), "post.dbase")
_NO_GAPS = np.zeros(0, dtype=np.uint64)
_NO_GAPS.flags.writeable = False  # (the type of a segment's mapped arrays, to numba)
_NO_GAPW = np.zeros(0, dtype=np.uint8)
_NO_GAPW.flags.writeable = False
_NO_GAPBIT = np.zeros(0, dtype=np.int64)
_NO_GAPBIT.flags.writeable = False
_NO_OFFSETS = tuple(np.zeros(0, dtype=dtype) for dtype in OFFSET_DTYPES.values())
for _empty in _NO_OFFSETS:
    _empty.flags.writeable = False
#: Postings decoded at a time when a reader wants many terms (merge, check).
_STEP = 1 << 22
#: Terms whose layout a reader keeps (cleared when full).
_CACHE_SIZE = 100_000


def use_gaps(npostings: int) -> bool:
    """Whether a segment of ``npostings`` postings stores its doc numbers as gaps."""
    return npostings >= GAPS_FROM


def encode(offs: np.ndarray, docs: np.ndarray, gaps: bool | None = None) -> dict[str, np.ndarray]:
    """The arrays for postings ``docs`` (increasing within each term) of terms cut by
    ``offs`` (from 0; no term without postings): gaps where ``gaps`` (by default where
    :func:`use_gaps` says so for these postings), else format 3's offsets. Positions in the
    arrays count from 0, as :func:`joiner` expects of its parts."""
    if gaps is None:
        gaps = use_gaps(len(docs))
    return encode_gaps(offs, docs) if gaps else encode_offsets(offs, docs)


def encode_gaps(offs: np.ndarray, docs: np.ndarray) -> dict[str, np.ndarray]:
    """The gaps encoding's arrays (see :func:`encode`)."""
    offs = np.asarray(offs, dtype=np.int64)
    counts = np.diff(offs)
    if np.any(counts <= 0):
        raise ValueError("every term needs postings")
    n = int(offs[-1]) if len(offs) else 0
    docs = np.asarray(docs)
    nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    starts = _block_starts(offs, nblocks)
    later = np.ones(n, dtype=bool)
    later[starts] = False  # (every term starts a block: no gap crosses terms)
    gaps = np.diff(docs.astype(np.int64))[later[1:]]
    gaps -= 1
    if len(gaps) and int(gaps.min()) < 0:
        raise ValueError("doc numbers must increase within each term")
    per_block = np.diff(np.append(starts, n)) - 1
    widths = bitpack.widths_of(gaps, per_block)
    words, first_bits = bitpack.pack(gaps, widths, per_block)
    return {
        "post.dbase": docs[starts].astype(np.int32),
        "post.gapw": widths,
        "post.gapbit": first_bits,
        "post.gaps": words,
    }


def encode_offsets(offs: np.ndarray, docs: np.ndarray) -> dict[str, np.ndarray]:
    """Format 3's arrays (see :func:`encode`)."""
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
    """Where :func:`joiner` appends the parts of an array it spills (an
    :class:`.arrays.Spill`, or a list of parts in memory)."""

    def append(self, values: np.ndarray, /) -> None: ...


class _GapConcat:
    """:func:`joiner` of gaps: each part's ``post.gaps`` goes to its sink as it comes,
    joined bit to bit to the parts before (the result is what one :func:`encode` of all of
    them gives); the per-block arrays, small, are kept and returned by :meth:`finish`."""

    def __init__(self, sinks: Mapping[str, Sink]):
        self._sinks = sinks
        self._bits = 0  # bits so far
        self._carry = np.zeros(0, dtype=np.uint64)  # the last word, while it is partial
        self._kept: dict[str, list[np.ndarray]] = {
            "post.dbase": [],
            "post.gapw": [],
            "post.gapbit": [],
        }

    def add(self, offs: np.ndarray, part: Mapping[str, np.ndarray]) -> None:
        """The next run of terms, cut by ``offs`` (from 0): :func:`encode`'s arrays."""
        offs = np.asarray(offs, dtype=np.int64)
        nblocks = (np.diff(offs) + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
        blk = np.concatenate(([0], np.cumsum(nblocks)))
        ends = gap_ends(offs, blk, part["post.gapw"], part["post.gapbit"])
        nbits = int(ends.max()) if len(ends) else 0
        shift = self._bits & 63
        words = np.asarray(part["post.gaps"], dtype=np.uint64)[: (nbits + 63) >> 6]
        if shift:  # (the part's words moved up by shift bits, into the partial last word)
            moved = np.zeros(len(words) + 1, dtype=np.uint64)
            moved[:-1] = words << np.uint64(shift)
            moved[1:] |= words >> np.uint64(64 - shift)
            moved[0] |= self._carry[0]
            words = moved
        elif len(self._carry):
            raise AssertionError("a partial word at a word boundary")
        total = self._bits + nbits
        done = (total >> 6) - (self._bits >> 6)  # the words this part completes
        self._sinks["post.gaps"].append(words[:done])
        self._carry = words[done : done + 1] if total & 63 else words[:0]
        self._kept["post.gapbit"].append(part["post.gapbit"] + self._bits)
        self._kept["post.dbase"].append(part["post.dbase"])
        self._kept["post.gapw"].append(part["post.gapw"])
        self._bits = total

    def finish(self) -> dict[str, np.ndarray]:
        """``post.dbase``, ``post.gapw`` and ``post.gapbit`` of every part added (the last
        partial word of ``post.gaps`` goes to its sink)."""
        if len(self._carry):
            self._sinks["post.gaps"].append(self._carry)
            self._carry = self._carry[:0]
        empty = {"post.dbase": np.int32, "post.gapw": np.uint8, "post.gapbit": np.int64}
        return {
            name: np.concatenate([np.zeros(0, empty[name]), *parts])
            for name, parts in self._kept.items()
        }


class _OffsetConcat:
    """:func:`joiner` of format 3's offsets: each part's offsets arrays go to their sinks
    as they come; the per-term and per-block arrays, small, are kept."""

    def __init__(self, sinks: Mapping[str, Sink]):
        self._sinks = sinks
        self._sizes = dict.fromkeys(OFFSET_ARRAYS, 0)
        self._kept: dict[str, list[np.ndarray]] = {"post.dw": [], "post.dpos": [], "post.dbase": []}

    def add(self, offs: np.ndarray, part: Mapping[str, np.ndarray]) -> None:
        """The next run of terms, cut by ``offs`` (from 0): :func:`encode`'s arrays."""
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


def spilled(gaps: bool) -> dict[str, type]:
    """The arrays a merge writes a run of terms at a time, with their dtypes (the rest, per
    term or per block, are kept): ``post.gaps``, or format 3's offsets arrays."""
    if gaps:
        return {"post.gaps": np.uint64}
    return {name: OFFSET_DTYPES[width] for width, name in OFFSET_ARRAYS.items()}


def joiner(gaps: bool, sinks: Mapping[str, Sink]) -> _GapConcat | _OffsetConcat:
    """:func:`concat`, a part at a time, for a merge: each part's largest arrays
    (:func:`spilled`) go to ``sinks`` (by name) as they come, so a merge never holds them
    whole; ``finish()`` gives the others."""
    return _GapConcat(sinks) if gaps else _OffsetConcat(sinks)


def concat(parts: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    """The arrays of consecutive runs of terms (each its ``offs`` from 0 and
    :func:`encode`'s arrays, all of one encoding) as one."""
    gaps = not parts or "post.gaps" in parts[0][1]
    held: dict[str, list[np.ndarray]] = {name: [] for name in spilled(gaps)}
    joined = joiner(gaps, held)  # (a list is a Sink)
    for offs, part in parts:
        joined.add(offs, part)
    small = joined.finish()
    for name, dtype in spilled(gaps).items():
        small[name] = np.concatenate([np.zeros(0, dtype), *held[name]])
    return small


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
        #: gap-coded (format 4), or offsets (format 3)
        self.gaps = "post.gaps" in arr
        # first posting of a term -> (first, end, offsets array, its first offset, first
        # block); gap-coded: ("post.gaps", 0) for the array and offset
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
        if self.gaps:
            full, tail = divmod(e - bs, blocks.BLOCK_SIZE)
            sizes = np.full(full + (tail > 0), blocks.BLOCK_SIZE, dtype=np.int64)
            if tail:
                sizes[-1] = tail
            out = _gap_docs(arr, b0 + k, sizes).astype(np.int32)
            if bs < s:
                out = out[s - bs :]
            if out.min() < 0 or out.max() >= self._ndocs:
                raise IndexCorruptError(f"{arr.path}: postings name documents out of range")
            return out
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
        first = b0 + (s - t0) // size
        if self.gaps:
            end = first + (e - s + size - 1) // size
            arr = self._arr
            for name in ("post.dbase", "post.gapw", "post.gapbit"):
                arr.check(name, first, end)
            # The words its gaps take, from its first block's bit to its last block's end
            # (blocks lie in order, as check verifies; the kernel checks each gap's bits
            # against the array, and each block's width).
            lo = arr.item("post.gapbit", first)
            tail = e - s - 1 - (end - first - 1) * size
            hi = arr.item("post.gapbit", end - 1) + tail * arr.item("post.gapw", end - 1)
            if not 0 <= lo <= hi <= 64 * len(arr.unverified("post.gaps")):
                raise IndexCorruptError(f"{arr.path}: 'post.gaps' does not match its blocks")
            arr.check("post.gaps", lo >> 6, (hi + 63) >> 6)
            return GAPS, 0, first, s, e
        at = dpos + s - t0
        self._arr.check(name, at, at + e - s)
        self._arr.check("post.dbase", first, first + (e - s + size - 1) // size)
        return _WIDTHS[name], at, first, s, e

    def raw(self) -> tuple[np.ndarray, ...]:
        """The unverified ``post.d1``, ``post.d2``, ``post.d4``, ``post.dbase``,
        ``post.gapw``, ``post.gapbit`` and ``post.gaps`` (read only where :meth:`layout`
        verified them; empty where the segment's format has none)."""
        arr = self._arr
        if self.gaps:
            gaps = tuple(arr.unverified(name) for name in ("post.gapw", "post.gapbit", "post.gaps"))
            return (*_NO_OFFSETS, arr.unverified("post.dbase"), *gaps)
        d1, d2, d4 = (arr.unverified(name) for name in OFFSET_ARRAYS.values())
        return d1, d2, d4, arr.unverified("post.dbase"), _NO_GAPW, _NO_GAPBIT, _NO_GAPS

    def _term_of(self, s: int) -> int:
        tid = int(np.searchsorted(self._offs, s, "right")) - 1
        return max(tid, 0)

    def term(self, tid: int) -> tuple[int, int, str, int, int]:
        """Term ``tid``'s ``(first posting, end, offsets array, its first offset there,
        first block)``, read through verified items (and kept by first posting)."""
        arr = self._arr
        t0, t1 = arr.items("post.offs", tid, tid + 2)
        if self.gaps:
            name: str | None = "post.gaps"
            dpos = 0
        else:
            name = OFFSET_ARRAYS.get(arr.item("post.dw", tid))
            dpos = arr.item("post.dpos", tid)
        if name is None or t0 >= t1:
            raise IndexCorruptError(f"{arr.path}: postings of term {tid} are inconsistent")
        found = (t0, t1, name, dpos, arr.item("blk.offs", tid))
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


def _gap_docs(arr: ArrayFile, b0: int, sizes: np.ndarray) -> np.ndarray:
    """The doc numbers (int64) of the first ``sizes[i]`` postings of each of the gap-coded
    blocks from ``b0`` on; an IndexCorruptError where the arrays do not fit together."""
    path = arr.path
    nb = len(sizes)
    bases = arr.range("post.dbase", b0, b0 + nb)
    widths = arr.range("post.gapw", b0, b0 + nb)
    bits = arr.range("post.gapbit", b0, b0 + nb)
    if len(bases) != nb or len(widths) != nb or len(bits) != nb:
        raise IndexCorruptError(f"{path}: postings blocks are truncated")
    nvals = sizes - 1
    if nb:
        lo = max(int(bits.min()), 0) >> 6
        hi = (int((bits + nvals * widths).max()) + 63) >> 6
    else:
        lo = hi = 0
    words = arr.range("post.gaps", lo, hi)
    n = int(sizes.sum())
    unpack = _UNPACK.get() if n >= _COMPILED_FROM and _compiled_decode() else None
    if unpack is not None:
        docs = np.empty(n, dtype=np.int64)
        if not unpack(bases, widths, bits - 64 * lo, words, sizes, docs):
            raise IndexCorruptError(f"{path}: 'post.gaps' does not match its blocks")
        return docs
    try:
        gaps = bitpack.unpack(words, bits - 64 * lo, widths, nvals)
    except ValueError as exc:
        raise IndexCorruptError(f"{path}: 'post.gaps' does not match its blocks ({exc})") from None
    # A running sum from each block's base: base, then each posting's gap plus 1.
    steps = np.empty(n, dtype=np.int64)
    first = np.cumsum(sizes) - sizes
    later = np.ones(len(steps), dtype=bool)
    later[first] = False
    steps[later] = gaps
    steps[later] += 1
    steps[first] = bases
    docs = np.cumsum(steps)
    docs -= np.repeat(docs[first] - bases, sizes)
    return docs


def _unpack_docs(bases, widths, bits, words, sizes, out):
    """``out``: the doc numbers of the first ``sizes[b]`` postings of each block ``b`` (its
    base, then a running sum of its gaps plus 1: :func:`_gap_docs` compiled, without its
    int64 arrays a posting); False where a block's width is over 32 or its bits lie
    outside ``words``."""
    nwords = words.shape[0]
    at = 0
    ok = True
    for b in range(sizes.shape[0]):
        size = sizes[b]
        w = np.int64(widths[b])
        q = bits[b]
        if size < 1 or w > 32 or q < 0 or q + (size - 1) * w > nwords * 64:
            ok = False
            break
        doc = np.int64(bases[b])
        out[at] = doc
        if w == 0:
            for r in range(1, size):
                doc += 1
                out[at + r] = doc
        else:
            mask = (np.uint64(1) << np.uint64(w)) - np.uint64(1)
            last = nwords - 1
            for r in range(1, size):
                i = q >> 6
                sh = np.uint64(q & 63)
                # The gap's bits in this word and the next (two shifts: one of 64 is undefined).
                v = (words[i] >> sh) | (
                    (words[min(i + 1, last)] << (np.uint64(63) - sh)) << np.uint64(1)
                )
                doc += np.int64(v & mask) + 1
                out[at + r] = doc
                q += w
        at += size
    return ok


_UNPACK = compiled.kernel(_unpack_docs)
#: Postings decoded at once from which :func:`_gap_docs` uses the compiled loop (where
#: kernels may load: not in a one-query process that has not loaded them).
_COMPILED_FROM = 1 << 14


def _compiled_decode() -> bool:
    """Whether a large decode may use (and load) the compiled loop."""
    return compiled.available() and (compiled.loaded() or not compiled.one_query_only())


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
    nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    b = arr.range("blk.offs", ta, tb + 1).astype(np.int64)
    if len(b) != tb - ta + 1 or np.any(np.diff(b) != nblocks):
        raise IndexCorruptError(f"{path}: postings blocks do not match the terms")
    starts = _block_starts(offs - offs[0], nblocks)
    if "post.gaps" in arr:
        docs = _gap_docs(arr, int(b[0]), np.diff(np.append(starts, n)))
        return docs, starts, docs[starts]
    return _offsets_run(arr, ta, tb, offs, starts, b)


def _offsets_run(
    arr: ArrayFile, ta: int, tb: int, offs: np.ndarray, starts: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_run` of format 3."""
    path = arr.path
    counts = np.diff(offs)
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
    bases = arr.range("post.dbase", int(b[0]), int(b[-1]))
    if len(bases) != int(b[-1] - b[0]):
        raise IndexCorruptError(f"{path}: 'post.dbase' is shorter than its blocks need")
    bases = bases.astype(np.int64)
    rel += np.repeat(bases, np.diff(np.append(starts, n)))  # (in place: a merge reads all)
    return rel, starts, bases


def problems(arr: ArrayFile, ndocs: int) -> list[str]:
    """What ``newsindex check`` finds wrong with the encoding's arrays (empty: all good):
    the per-term and per-block arrays' layout (gap widths and where each block's gaps are;
    format 3: offset widths, each width's array, each block's first offset 0), and strictly
    increasing doc numbers within each term, below ``ndocs``.

    The per-term and per-block arrays are read whole, the postings a run of terms at a time
    (about :data:`_STEP` postings): a check's memory does not grow with the segment's
    postings, which a segment of millions of stories holds hundreds of millions of."""
    path = arr.path
    offs = arr["post.offs"].astype(np.int64)
    counts = np.diff(offs)
    if np.any(counts <= 0):
        return [f"{path}: a term has no postings"]
    nblocks = (counts + blocks.BLOCK_SIZE - 1) // blocks.BLOCK_SIZE
    blk = arr["blk.offs"].astype(np.int64)
    if len(blk) != len(offs) or np.any(np.diff(blk) != nblocks):
        return [f"{path}: postings blocks do not match the terms"]
    out = _gaps_problems(arr, offs, blk) if "post.gaps" in arr else _offsets_problems(arr, counts)
    if out:
        return out
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


def _gaps_problems(arr: ArrayFile, offs: np.ndarray, blk: np.ndarray) -> list[str]:
    """:func:`problems` of the gaps encoding's per-block arrays: widths, and each block's
    gaps within ``post.gaps``, in block order, none over another's."""
    path = arr.path
    widths = arr["post.gapw"].astype(np.int64)
    bits = arr["post.gapbit"]
    if len(widths) != blk[-1] or len(bits) != blk[-1]:
        return [f"{path}: postings blocks do not match the terms"]
    if len(widths) and int(widths.max()) > bitpack.MAX_WIDTH:
        return [f"{path}: postings gap widths are invalid"]
    ends = gap_ends(offs, blk, widths, bits)
    if len(bits) and (
        int(bits[0]) < 0
        or np.any(bits[1:] < ends[:-1])
        or int(ends[-1]) > 64 * len(arr.unverified("post.gaps"))
    ):
        return [f"{path}: 'post.gaps' does not match its blocks"]
    return []


def gap_ends(offs: np.ndarray, blk: np.ndarray, widths: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Where each block's gaps end (int64, bits), for terms cut by ``offs`` whose blocks
    ``blk`` numbers, at ``widths`` from ``bits``: a block holds a gap for each of its
    postings but the first (a term's last block may be short)."""
    sizes = np.full(len(widths), blocks.BLOCK_SIZE, dtype=np.int64)
    if len(blk) > 1:
        sizes[blk[1:] - 1] = np.diff(offs) - (np.diff(blk) - 1) * blocks.BLOCK_SIZE
    return bits + (sizes - 1) * widths.astype(np.int64)


def _offsets_problems(arr: ArrayFile, counts: np.ndarray) -> list[str]:
    """:func:`problems` of format 3's per-term arrays."""
    path = arr.path
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
    return out
