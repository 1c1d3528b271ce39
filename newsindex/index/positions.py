"""Positions as one byte per occurrence: the delta within its (posting, field) run.

Per posting, the title's positions in order, then the body's (``pos.offs``: per term, where
its first is). Each occurrence stores its position less the previous one of the same
posting and field (the first of a run: the position itself) in ``pos.d`` (uint8). In news,
nine deltas in ten are below 255; a delta of 255 or more is stored as :data:`ESCAPE` and
listed in the exceptions:

- ``pos.x``: per exception, its entry number in ``pos.d`` less its page's first (pages of
  :data:`PAGE` entries), increasing within a page;
- ``pos.xoffs``: per page, its first exception (and the total at the end);
- ``pos.xv``: per exception, its true delta.

An exception's entry number costs two bytes this way rather than eight: at one exception
in ten occurrences, eight bytes each would eat the saving of the byte. A term's positions
decode as one widening, the exceptions of its range patched in, and one running sum
restarted at each run (whose lengths are the postings' per-field frequencies). Segments
written before this encoding hold ``pos`` (one narrow unsigned integer per occurrence).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import IndexCorruptError
from .arrays import ArrayFile

#: A ``pos.d`` byte that says "see the exceptions".
ESCAPE = 255
PAGE_BITS = 16
PAGE = 1 << PAGE_BITS
#: Names of the encoding's arrays (a segment holding ``pos.d`` holds them all).
NAMES = ("pos.d", "pos.x", "pos.xv", "pos.xoffs")
#: Positions decode to int32: a delta is below this.
_TOP = 1 << 31


def run_lengths(tfs: Sequence[np.ndarray]) -> np.ndarray:
    """Per (posting, field) in posting order, its number of positions (int64)."""
    out = np.empty((len(tfs[0]), len(tfs)), dtype=np.int64)
    for fi, tf in enumerate(tfs):
        out[:, fi] = tf
    return out.ravel()


def deltas(pos: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bytes of positions ``pos`` cut into ``runs``, the exceptions' entry numbers (from
    0) and their true deltas."""
    d = pos.astype(np.int64)
    if len(d) > 1:
        d[1:] -= pos[:-1]
    kept = runs[runs > 0]
    starts = np.cumsum(kept) - kept
    d[starts] = pos[starts]
    big = np.flatnonzero(d >= ESCAPE)
    return np.minimum(d, ESCAPE).astype(np.uint8), big, d[big]


def table(n: int, big: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """The exceptions' arrays for entries ``big`` (increasing, below ``n``) of ``values``."""
    npages = (n + PAGE - 1) // PAGE
    per = np.bincount(big >> PAGE_BITS, minlength=npages) if len(big) else np.zeros(npages, int)
    return {
        "pos.x": (big & (PAGE - 1)).astype(np.uint16),
        "pos.xv": values.astype(_value_dtype(values)),
        "pos.xoffs": np.concatenate(([0], np.cumsum(per))).astype(np.int64),
    }


def encode(pos: np.ndarray, runs: np.ndarray) -> dict[str, np.ndarray]:
    """The encoding's arrays for positions ``pos`` cut into ``runs``."""
    d, big, values = deltas(pos, runs)
    return {"pos.d": d, **table(len(d), big, values)}


def _value_dtype(values: np.ndarray) -> type[np.unsignedinteger]:
    top = int(values.max()) if len(values) else 0
    return np.uint16 if top < 1 << 16 else np.uint32


def decode(raw: np.ndarray, at: np.ndarray, values: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Positions (int32) from bytes ``raw`` with the exceptions at ``at`` (offsets in ``raw``)
    of ``values``, cut into ``runs`` (summing to ``len(raw)``). Raises ValueError when the
    escapes and the exceptions disagree."""
    escaped = raw == ESCAPE
    if int(np.count_nonzero(escaped)) != len(at) or (len(at) and not escaped[at].all()):
        raise ValueError("positions' escapes do not match their exceptions")
    if len(values) and int(values.max()) >= _TOP:
        raise ValueError("a position exception is out of range")
    d = raw.astype(np.int32)
    d[at] = values
    # One running sum over every run, less, in each run, the sum before its first entry.
    summed = np.empty(len(d) + 1, dtype=np.int32)
    summed[0] = 0
    np.cumsum(d, out=summed[1:])
    out = summed[1:]
    if len(runs) > 1:
        ends = np.cumsum(runs)
        out -= np.repeat(summed[ends - runs], runs)
    return out


class Positions:
    """The read side: positions of any range of entries, each array verified as read."""

    def __init__(self, arr: ArrayFile):
        self._arr = arr
        self._n = len(arr.unverified("pos.d"))
        self._xoffs: np.ndarray | None = None

    def __len__(self) -> int:
        return self._n

    def read(self, a: int, b: int, runs: np.ndarray) -> np.ndarray:
        """Positions of entries ``[a, b)``, which ``runs`` (whole runs) cut."""
        arr = self._arr
        raw = arr.range("pos.d", a, b)
        if len(raw) != b - a or int(runs.sum()) != b - a:
            raise IndexCorruptError(f"{arr.path}: positions are shorter than their frequencies")
        at, values = self._exceptions(a, b)
        try:
            return decode(raw, at, values, runs)
        except ValueError as exc:
            raise IndexCorruptError(f"{arr.path}: {exc}") from None

    def _exceptions(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """The exceptions of entries ``[a, b)``: their offsets from ``a``, their deltas."""
        arr = self._arr
        if self._xoffs is None:
            xoffs = arr["pos.xoffs"]
            nx = len(arr.unverified("pos.x"))
            if (
                len(xoffs) != (self._n + PAGE - 1) // PAGE + 1
                or xoffs[0] != 0
                or xoffs[-1] != nx
                or np.any(np.diff(xoffs) < 0)
                or len(arr.unverified("pos.xv")) != nx
            ):
                raise IndexCorruptError(f"{arr.path}: bad table of position exceptions")
            self._xoffs = xoffs
        if b <= a:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pa, pb = a >> PAGE_BITS, ((b - 1) >> PAGE_BITS) + 1
        xoffs = self._xoffs
        i0, i1 = int(xoffs[pa]), int(xoffs[pb])
        lows = arr.range("pos.x", i0, i1).astype(np.int64)
        values = arr.range("pos.xv", i0, i1)
        if len(lows) != i1 - i0 or len(values) != i1 - i0:
            raise IndexCorruptError(f"{arr.path}: bad table of position exceptions")
        pages = np.repeat(np.arange(pa, pb, dtype=np.int64), np.diff(xoffs[pa : pb + 1]))
        entries = (pages << PAGE_BITS) | lows
        if np.any(np.diff(entries) <= 0):
            raise IndexCorruptError(f"{arr.path}: position exceptions are not in order")
        lo, hi = entries.searchsorted((a, b)).tolist()
        return entries[lo:hi] - a, values[lo:hi]

    def whole(self, runs: np.ndarray) -> np.ndarray:
        return self.read(0, self._n, runs)


def problems(arr: ArrayFile, tfs: Sequence[np.ndarray]) -> list[str]:
    """What ``newsindex check`` finds wrong with the encoding's arrays (empty: all good): the
    exceptions' table (in range, in order, each on an escape and each escape listed, each at
    least :data:`ESCAPE`), and positions increasing within each run."""
    path = arr.path
    d = arr["pos.d"]
    runs = run_lengths(tfs)
    if len(d) != int(runs.sum()):
        return [f"{path}: {len(d)} positions for {int(runs.sum())} occurrences"]
    xoffs = arr["pos.xoffs"].astype(np.int64)
    lows = arr["pos.x"].astype(np.int64)
    values = arr["pos.xv"]
    npages = (len(d) + PAGE - 1) // PAGE
    if (
        len(xoffs) != npages + 1
        or xoffs[0] != 0
        or xoffs[-1] != len(lows)
        or np.any(np.diff(xoffs) < 0)
        or len(values) != len(lows)
    ):
        return [f"{path}: the table of position exceptions does not match the positions"]
    out = []
    entries = (np.repeat(np.arange(npages, dtype=np.int64), np.diff(xoffs)) << PAGE_BITS) | lows
    if np.any(np.diff(entries) <= 0):
        out.append(f"{path}: position exceptions are not in order")
    if len(entries) and entries.max() >= len(d):
        return [*out, f"{path}: position exceptions are out of range"]
    if np.any(values < ESCAPE):
        out.append(f"{path}: a position exception holds a small delta")
    escaped = d == ESCAPE
    if int(np.count_nonzero(escaped)) != len(entries) or not escaped[entries].all():
        return [*out, f"{path}: positions' escapes do not match their exceptions"]
    delta = d.astype(np.int64)
    delta[entries] = values
    kept = runs[runs > 0]
    later = np.ones(len(d), dtype=bool)
    later[np.cumsum(kept) - kept] = False
    if np.any(delta[later] <= 0):
        out.append(f"{path}: positions are not increasing within a posting's field")
    return out
