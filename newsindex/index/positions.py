"""Positions in one byte each, the few that do not fit escaped to a list of their own.

A posting's positions (the title's in order, then the body's: see ``builder``) count tokens
from the start of their field, so in news stories most are below 255 (a body position is
below its story's length). Each position is stored as one byte, and one of 255 or more as
the byte ``ESCAPE`` with its value in the next entry of the escapes' list:

- ``pos.u8``: per position, its value, or ``ESCAPE``;
- ``pos.esc``: the escaped values, in position order (the narrowest unsigned dtype that
  holds them);
- ``pos.escoffs``: per term, and one past the last, the index in ``pos.esc`` of its
  first escaped position (so a term's positions decode without reading any other term's;
  uint32 unless a segment holds more escapes).

``pos.offs`` (per term, its first position) keeps its meaning. Any run of positions that
starts at a term's first decodes with one widening and one masked assignment, and a compiled
reader takes the escapes in its loop. Segments written before this encoding hold ``pos``
(one uint16 or uint32 per position), read as they were.
"""

from __future__ import annotations

import numpy as np

from ..errors import IndexCorruptError
from .arrays import ArrayFile, Spill

#: The byte that stands for "the next escaped value".
ESCAPE = 255
#: Names of the encoding's arrays (a segment holding ``pos.u8`` holds them all).
NAMES = ("pos.u8", "pos.esc", "pos.escoffs")
#: The array of segments written before it (one uint16 or uint32 per position).
PLAIN = "pos"


def encode(pos: np.ndarray, pos_offs: np.ndarray) -> dict[str, np.ndarray]:
    """The encoding's arrays for positions ``pos`` (non-negative integers) of the terms cut
    by ``pos_offs`` (from 0, ending at ``len(pos)``)."""
    pos = np.asarray(pos)
    pos_offs = np.asarray(pos_offs, dtype=np.int64)
    if len(pos_offs) == 0 or pos_offs[0] != 0 or pos_offs[-1] != len(pos):
        raise ValueError("pos_offs must run from 0 to len(pos)")
    encoder = Encoder(pos_offs)
    encoder.add(0, len(pos_offs) - 1, pos)
    return encoder.finish()


class Encoder:
    """:func:`encode`, a run of terms at a time: a merge encodes each step's positions as it
    makes them, so the whole segment's positions are never held decoded."""

    def __init__(self, pos_offs: np.ndarray, u8: Spill | None = None):
        """``pos_offs``: per term and one past the last, its first position (from 0);
        ``u8``: where the position bytes go as they are made (else they are kept)."""
        self._offs = np.asarray(pos_offs, dtype=np.int64)
        total = int(self._offs[-1]) if len(self._offs) else 0
        self._spill = u8
        self._u8 = np.empty(0 if u8 is not None else total, dtype=np.uint8)
        self._escoffs = np.empty(len(self._offs), dtype=np.int64)
        self._esc: list[np.ndarray] = []
        self._top = 0  # the largest escaped position so far
        self._escapes = 0
        self._terms = 0  # terms encoded so far: runs come in term order

    def add(self, t0: int, t1: int, pos: np.ndarray) -> None:
        """Encode the positions ``pos`` of terms ``t0..t1-1`` (all of them, in order)."""
        q0, q1 = int(self._offs[t0]), int(self._offs[t1])
        if t0 != self._terms or t1 < t0 or len(pos) != q1 - q0:
            raise ValueError("runs must follow each other and match pos_offs")
        where = np.flatnonzero(pos >= ESCAPE)  # (few: no position-sized temporaries but this)
        out = self._u8[q0:q1] if self._spill is None else np.empty(q1 - q0, dtype=np.uint8)
        np.copyto(out, pos, casting="unsafe")  # (the escaped ones' low byte, overwritten next)
        out[where] = ESCAPE
        if self._spill is not None:
            self._spill.append(out)
        escaped = pos[where]
        if len(escaped):
            self._top = max(self._top, int(escaped.max()))
        self._esc.append(escaped)
        # Escapes before each term's first position.
        self._escoffs[t0:t1] = np.searchsorted(where, self._offs[t0:t1] - q0) + self._escapes
        self._escapes += len(where)
        self._terms = t1

    def finish(self) -> dict[str, np.ndarray]:
        """The encoding's arrays, once every term was added (but ``pos.u8`` when it went to
        a spill: the caller holds that)."""
        if self._terms != len(self._offs) - 1:
            raise ValueError("not every term's positions were added")
        self._escoffs[-1] = self._escapes
        # Joined straight into their narrow type (every part is at most ``_top``): a merge's
        # escapes, held as parts, are not copied twice more.
        dtype = _narrow_dtype(self._top)
        esc = np.concatenate([np.zeros(0, dtype), *self._esc], dtype=dtype, casting="unsafe")
        self._esc = []
        kept = {"pos.u8": self._u8} if self._spill is None else {}
        return {
            **kept,
            "pos.esc": esc,
            "pos.escoffs": self._escoffs.astype(_narrow_dtype(self._escapes, np.uint32)),
        }


def _narrow_dtype(top: int, least: type[np.unsignedinteger] = np.uint16) -> np.dtype:
    """The narrowest of ``least``, uint32 and uint64 that holds ``0..top``."""
    for dtype in (least, np.uint32):
        if top <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def decode(u8: np.ndarray, esc: np.ndarray) -> np.ndarray:
    """The positions of the bytes ``u8``, whose escaped ones are ``esc`` in order (exactly as
    many as ``u8`` holds ``ESCAPE`` bytes: the caller checks)."""
    out = u8.astype(esc.dtype)
    out[u8 == ESCAPE] = esc
    return out


class Positions:
    """The read side: a term's positions, each array verified as read."""

    def __init__(self, arr: ArrayFile):
        self._arr = arr
        self.dtype = arr.unverified("pos.esc").dtype
        if self.dtype.kind != "u" or arr.unverified("pos.u8").dtype != np.uint8:
            raise IndexCorruptError(f"{arr.path}: positions have the wrong types")

    def raw(self, tid: int, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The bytes of ``count`` positions from ``start`` (term ``tid``'s first, or later
        when ``start`` is) and the escaped values of that term from its first, verified:
        every ``ESCAPE`` byte among the bytes has its value among the escapes (a compiled
        reader consumes them in order and checks it stays within them)."""
        arr = self._arr
        u8 = arr.range("pos.u8", start, start + count)
        bounds = arr.range("pos.escoffs", tid, tid + 2).tolist()
        if len(u8) != count or len(bounds) != 2 or not 0 <= bounds[0] <= bounds[1]:
            raise IndexCorruptError(f"{arr.path}: positions of term {tid} are truncated")
        esc = arr.range("pos.esc", bounds[0], bounds[1])
        if len(esc) != bounds[1] - bounds[0]:
            raise IndexCorruptError(f"{arr.path}: escaped positions of term {tid} are truncated")
        return u8, esc

    def read(self, tid: int, start: int, count: int) -> np.ndarray:
        """``count`` positions from ``start``, term ``tid``'s first."""
        u8, esc = self.raw(tid, start, count)
        where = np.flatnonzero(u8 == ESCAPE)
        if len(where) > len(esc):
            raise IndexCorruptError(f"{self._arr.path}: positions of term {tid} are inconsistent")
        out = u8.astype(self.dtype)
        out[where] = esc[: len(where)]
        return out

    def whole(self) -> np.ndarray:
        """Every position (for ``check`` and old segments' rebuilt signatures)."""
        u8, esc = self._arr["pos.u8"], self._arr["pos.esc"]
        if int(np.count_nonzero(u8 == ESCAPE)) != len(esc):
            raise IndexCorruptError(f"{self._arr.path}: escaped positions are inconsistent")
        return decode(u8, esc)

    def span(self, tid: int, s: int, e: int) -> np.ndarray:
        """Positions ``[s, e)``, ``s`` term ``tid``'s first (a merge reads whole runs of terms)."""
        arr = self._arr
        u8 = arr.range("pos.u8", s, e)
        first = arr.range("pos.escoffs", tid, tid + 1).tolist()
        if len(u8) != e - s or len(first) != 1:
            raise IndexCorruptError(f"{arr.path}: positions are truncated")
        where = np.flatnonzero(u8 == ESCAPE)
        esc = arr.range("pos.esc", first[0], first[0] + len(where))
        if first[0] < 0 or len(esc) != len(where):
            raise IndexCorruptError(f"{arr.path}: escaped positions are truncated")
        out = u8.astype(self.dtype)
        out[where] = esc
        return out


#: Positions read at a time by :func:`problems` (its memory does not grow with a segment's).
_STEP = 1 << 22


def problems(arr: ArrayFile, pos_offs: np.ndarray) -> list[str]:
    """What ``newsindex check`` finds wrong with the encoding's arrays (empty: all good):
    every term's escapes start where the previous term's escaped bytes end. The bytes are
    read about :data:`_STEP` at a time, from one term's first to another's."""
    u8, esc, escoffs = arr["pos.u8"], arr["pos.esc"], arr["pos.escoffs"]
    if len(escoffs) != len(pos_offs) or len(u8) != (int(pos_offs[-1]) if len(pos_offs) else 0):
        return [f"{arr.path}: positions do not match the terms"]
    starts = pos_offs.astype(np.int64)
    wanted = escoffs.astype(np.int64)
    if len(starts) and (starts[0] != 0 or np.any(np.diff(starts) < 0)):
        return [f"{arr.path}: positions do not match the terms"]
    nterms = len(starts) - 1
    seen = 0  # escape bytes before the run
    ta = 0
    while ta < nterms:
        tb = int(np.searchsorted(starts, starts[ta] + _STEP, "right")) - 1
        tb = min(max(tb, ta + 1), nterms)
        a, b = int(starts[ta]), int(starts[tb])
        before = np.zeros(b - a + 1, dtype=np.int64)
        np.cumsum(u8[a:b] == ESCAPE, out=before[1:])
        if np.any(seen + before[starts[ta:tb] - a] != wanted[ta:tb]):
            return [f"{arr.path}: escaped positions do not match their terms"]
        seen += int(before[-1])
        ta = tb
    if (len(wanted) and seen != wanted[-1]) or seen != len(esc):
        return [f"{arr.path}: escaped positions do not match their terms"]
    if len(esc) and esc.min() < ESCAPE:
        return [f"{arr.path}: an escaped position is small enough for its byte"]
    return []
