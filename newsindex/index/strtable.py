"""Sorted string tables with O(log n) lookup straight from mmap'd arrays.

Used for the term dictionary and the article ids of a segment. Strings are stored as one UTF-8
blob with offsets (in sorted order for terms, so a prefix is a contiguous range), plus their
hashes sorted with the index they point to: a lookup is one hash, one ``searchsorted`` and one
byte comparison, with no per-index dictionary to build when an index is opened.

The hash is CRC-32 (``{prefix}.crc``): one C call per string, much cheaper than the BLAKE2b
(``{prefix}.hash``) of segments written before it, which are still read. A hash only narrows
the search, every candidate's bytes are compared, so collisions cost a step, never a wrong hit.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from .arrays import ArrayFile

#: Where a table's arrays come from: a segment file, or the dict :func:`build` returns.
Arrays = ArrayFile | Mapping[str, np.ndarray]


def string_hash(data: bytes) -> int:
    """The hash of segments written before the CRC-32 tables (read-only now)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def build(prefix: str, strings: Sequence[str]) -> dict[str, np.ndarray]:
    """Arrays for a table of ``strings`` (kept in the given order; index i is string i)."""
    encoded = [s.encode("utf-8") for s in strings]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    hashes = np.fromiter(map(zlib.crc32, encoded), dtype=np.uint32, count=len(encoded))
    return _table(prefix, blob, offsets, hashes)


def _table(
    prefix: str, blob: np.ndarray, offsets: np.ndarray, hashes: np.ndarray
) -> dict[str, np.ndarray]:
    """A table's arrays from its strings' bytes, offsets and CRC-32s (in index order)."""
    order = np.argsort(hashes, kind="stable")
    return {
        f"{prefix}.blob": blob,
        f"{prefix}.offs": _narrow_offsets(offsets),
        f"{prefix}.crc": hashes[order],
        f"{prefix}.hord": order.astype(np.int32),
    }


def gather(
    prefix: str, tables: Sequence[StringTable], source: np.ndarray, rows: np.ndarray
) -> dict[str, np.ndarray] | None:
    """:func:`build`'s arrays for the strings ``tables[source[j]][rows[j]]`` (j = 0, 1, ...),
    their bytes and CRC-32s copied, no string made: a merge's table of ids, one per article,
    is too many strings to hold as Python's. None when a table predates CRC-32 tables."""
    if any(t._hash_name != f"{t._prefix}.crc" for t in tables):
        return None
    offs, blobs, crcs = [], [], []
    for t in tables:
        found = t._arrays
        o = np.asarray(found[f"{t._prefix}.offs"], dtype=np.int64)
        hord = np.asarray(found[f"{t._prefix}.hord"], dtype=np.int64)
        if len(o) != t.size + 1 or len(hord) != t.size or np.any(np.diff(o) < 0):
            raise IndexCorruptError(f"{t._prefix}: table offsets do not fit its strings")
        if t.size and (hord.min() < 0 or hord.max() >= t.size):
            raise IndexCorruptError(f"{t._prefix}: table hash order points outside it")
        by_index = np.zeros(t.size, dtype=np.uint32)
        by_index[hord] = found[f"{t._prefix}.crc"]
        seen = np.zeros(t.size, dtype=bool)
        seen[hord] = True
        if not seen.all():
            raise IndexCorruptError(f"{t._prefix}: table hash order is not a permutation")
        blob = found[f"{t._prefix}.blob"]
        if len(blob) < o[-1]:
            raise IndexCorruptError(f"{t._prefix}: table strings end past its bytes")
        offs.append(o)
        blobs.append(blob[: o[-1]])
        crcs.append(by_index)
    base = np.cumsum([0] + [len(b) for b in blobs])
    blob_all = np.concatenate([np.zeros(0, np.uint8), *blobs])
    starts = np.empty(len(rows), dtype=np.int64)
    lengths = np.empty(len(rows), dtype=np.int64)
    hashes = np.empty(len(rows), dtype=np.uint32)
    for i, o in enumerate(offs):
        mine = np.flatnonzero(source == i)
        picked = rows[mine]
        starts[mine] = o[picked] + base[i]
        lengths[mine] = o[picked + 1] - o[picked]
        hashes[mine] = crcs[i][picked]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out_blob = np.empty(int(offsets[-1]), dtype=np.uint8)
    step = 1 << 16
    for a in range(0, len(rows), step):  # (a byte index per string's byte: a step at a time)
        b = min(a + step, len(rows))
        lens = lengths[a:b]
        first = offsets[a:b] - offsets[a]
        where = np.repeat(starts[a:b] - first, lens) + np.arange(int(offsets[b] - offsets[a]))
        out_blob[offsets[a] : offsets[b]] = blob_all[where]
    return _table(prefix, out_blob, offsets, hashes)


def _reader(arrays: Arrays, name: str) -> Callable[[int, int], Any]:
    """``f(s, e)``: elements ``[s, e)`` of array ``name``, verified (see arrays.py), to
    unpack, ``tolist()`` or ``tobytes()``."""
    if isinstance(arrays, ArrayFile):
        if name not in arrays:
            arrays[name]  # raises: the array is missing
        return functools.partial(arrays.items, name)
    found = arrays[name]
    return lambda s, e: found[s:e]


def _item_reader(arrays: Arrays, name: str) -> Callable[[int], int]:
    """``f(i)``: element ``i`` of integer array ``name`` as an int, verified."""
    if isinstance(arrays, ArrayFile):
        if name not in arrays:
            arrays[name]  # raises: the array is missing
        return functools.partial(arrays.item, name)
    found = arrays[name]
    return lambda i: int(found[i])


def _all_strings(
    offs_reader: Callable[[int, int], Any], blob_reader: Callable[[int, int], Any], size: int
) -> list[str]:
    """Every string of a table from its readers (see :func:`_reader`), both read whole."""
    offs = offs_reader(0, size + 1).tolist()
    blob = blob_reader(0, offs[-1] if offs else 0).tobytes()
    if blob.isascii():  # byte offsets are character offsets: slice the decoded text
        text = blob.decode("ascii")
        return [text[a:b] for a, b in zip(offs, offs[1:])]
    return [blob[a:b].decode("utf-8") for a, b in zip(offs, offs[1:])]


class StringTable:
    """Read side of :func:`build`. Only the hashes, which a lookup bisects, are read whole;
    strings and offsets are read (and verified) a few at a time."""

    def __init__(self, arrays: Arrays, prefix: str):
        self._arrays = arrays
        self._prefix = prefix
        self._offs = _reader(arrays, f"{prefix}.offs")
        self._blob = _reader(arrays, f"{prefix}.blob")
        self._hord = _item_reader(arrays, f"{prefix}.hord")
        self._hash_of: Callable[[bytes], int]
        if f"{prefix}.crc" in arrays:
            self._hash_name, self._hash_of = f"{prefix}.crc", zlib.crc32
        else:
            self._hash_name, self._hash_of = f"{prefix}.hash", string_hash
        self._hashes: np.ndarray | None = None
        self._hash_items: memoryview | None = None  # the same, indexed to ints: find's
        offs = (
            arrays.unverified(f"{prefix}.offs")
            if isinstance(arrays, ArrayFile)
            else arrays[f"{prefix}.offs"]
        )
        self.size = len(offs) - 1

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> str:
        return str(self.raw(i), "utf-8")

    def raw(self, i: int) -> bytes:
        if not 0 <= i < self.size:
            raise IndexError(i)
        a, b = self._offs(i, i + 2)
        return self._blob(a, b).tobytes()

    def many(self, indices: Sequence[int]) -> list[str]:
        """The strings at ``indices`` (a page of hits' ids in one call)."""
        for i in indices:
            if not 0 <= i < self.size:
                raise IndexError(i)
        if isinstance(self._arrays, ArrayFile):
            found = self._arrays.slices(f"{self._prefix}.offs", f"{self._prefix}.blob", indices)
        else:
            found = [self.raw(i) for i in indices]
        return [str(b, "utf-8") for b in found]

    def strings(self) -> list[str]:
        """Every string, in index order (one decode for the whole table)."""
        return _all_strings(self._offs, self._blob, self.size)

    def check(self) -> None:
        """Read the table's hash arrays whole, checked (:meth:`strings` checks the rest): a
        reader that answers from the strings alone still finds a corrupt table corrupt."""
        if isinstance(self._arrays, ArrayFile):
            self._arrays[self._hash_name]
            self._arrays[f"{self._prefix}.hord"]

    def find(self, s: str) -> int:
        """The index of ``s``, or -1."""
        data = s.encode("utf-8")
        hashes = self._hash_items
        if hashes is None:  # (bisect on a memoryview: no numpy scalars per word)
            found = self._hashes
            if found is None:
                found = self._hashes = self._arrays[self._hash_name]
            if found.ndim != 1 or found.dtype not in (np.uint32, np.uint64):
                where = getattr(self._arrays, "path", "a string table")
                raise IndexCorruptError(f"{where}: {self._hash_name!r} is {found.dtype}")
            hashes = self._hash_items = np.ascontiguousarray(found).data
        h = self._hash_of(data)
        i = bisect.bisect_left(hashes, h)
        while i < self.size and hashes[i] == h:
            j = self._hord(i)
            if 0 <= j < self.size and self.raw(j) == data:
                return j
            i += 1
        return -1

    def find_many(self, strings: Sequence[str], hashed: dict | None = None) -> np.ndarray:
        """:meth:`find` of every string, with one vectorized bisection of the hashes: a
        writer's commit looks up each added id in every segment, so per-string calls would
        cost (ids x segments) Python steps. ``hashed``, shared across tables, keeps each
        string's hash so it is computed once per hash function, not once per table."""
        hashes = self._hashes
        if hashes is None:
            hashes = self._hashes = self._arrays[self._hash_name]
        key = (self._hash_of, hashes.dtype.str)
        query = hashed.get(key) if hashed is not None else None
        if query is None:
            hash_of = self._hash_of
            query = np.fromiter(
                (hash_of(s.encode("utf-8")) for s in strings),
                dtype=hashes.dtype,
                count=len(strings),
            )
            if hashed is not None:
                hashed[key] = query
        out = np.full(len(strings), -1, dtype=np.int64)
        if not self.size or not len(strings):
            return out
        pos = np.minimum(np.searchsorted(hashes, query), self.size - 1)
        # A matching hash is a candidate only: the bytes decide, collisions included.
        for k in np.flatnonzero(hashes[pos] == query).tolist():
            out[k] = self.find(strings[k])
        return out

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``[lo, hi)`` of the strings starting with ``prefix`` (table must be sorted)."""
        data = prefix.encode("utf-8")
        keys = _Keys(self)
        lo = bisect.bisect_left(keys, data)
        hi = bisect.bisect_left(keys, data + b"\xff\xff\xff\xff", lo)
        return lo, hi


def build_sorted(prefix: str, strings: Sequence[str]) -> dict[str, np.ndarray]:
    """Arrays for a table of ``strings`` already in sorted (UTF-8 byte) order, looked up by
    bisection (:class:`SortedStrings`): no hashes to compute when writing."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    return {
        f"{prefix}.blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        f"{prefix}.offs": _narrow_offsets(offsets),
    }


def _narrow_offsets(offsets: np.ndarray) -> np.ndarray:
    """Byte offsets as uint32 when the blob is under 4 GiB (always, short of huge
    segments); readers take any integer dtype (segments written before store int64)."""
    return offsets.astype(np.uint32) if offsets[-1] < 1 << 32 else offsets


#: Levels of a sorted table's bisection whose strings its reader keeps (at most 2**10 - 1).
_TOP_LEVELS = 10


class SortedStrings:
    """Read side of :func:`build_sorted` (read and verified a few strings at a time)."""

    def __init__(self, arrays: Arrays, prefix: str):
        self._offs = _reader(arrays, f"{prefix}.offs")
        self._blob = _reader(arrays, f"{prefix}.blob")
        if isinstance(arrays, ArrayFile):
            offs = arrays.unverified(f"{prefix}.offs")
            blob = arrays.unverified(f"{prefix}.blob")
        else:
            offs, blob = arrays[f"{prefix}.offs"], arrays[f"{prefix}.blob"]
        self.size = len(offs) - 1
        # Memoryviews: indexing one makes a Python int, not a numpy scalar.
        if offs.dtype != np.uint32:  # (int64 in segments written before narrow offsets)
            offs = np.ascontiguousarray(offs, dtype=np.int64)
        self._raw_offs = offs.data.cast("B").cast("I" if offs.dtype == np.uint32 else "q")
        self._raw_blob = np.ascontiguousarray(blob, dtype=np.uint8).data.cast("B")
        # The strings at the bisection's first levels, which every lookup visits (raw, as
        # the bisection reads them all): those it meets in a range longer than this.
        self._top: dict[int, bytes] = {}
        self._top_span = self.size >> _TOP_LEVELS
        self._prefixes: memoryview | None = None
        self._lookups = 0
        self._where = getattr(arrays, "path", "a sorted string table")

    def raw(self, i: int) -> bytes:
        a, b = self._offs(i, i + 2)
        return self._blob(a, b).tobytes()

    def strings(self) -> list[str]:
        """Every string, in order (one decode for the whole table)."""
        return _all_strings(self._offs, self._blob, self.size)

    def find(self, s: str) -> int:
        """The index of ``s``, or -1.

        The bisection reads the raw views (a checked read costs several Python calls, and a
        query looks up each word in every segment); only the two strings it ends between are
        read checked, and they decide: the table as written is sorted, so when those two are
        genuine, a word between them is in no other place, whatever a corrupt entry elsewhere
        made the search visit. A corrupt bracket is an IndexCorruptError.
        """
        data = s.encode("utf-8")
        prefixes = self._prefixes
        if prefixes is None and 0 < self.size <= PREFIX_KEYS_MAX:
            # Made once the lookups would have paid for them (rent or buy).
            self._lookups += 1
            if self._lookups * PREFIX_KEYS_RATIO >= self.size:
                prefixes = self._prefixes = self._prefix_keys()
        if prefixes is not None:
            return self._find_by_prefix(data, prefixes)
        offs, blob, top, span = self._raw_offs, self._raw_blob, self._top, self._top_span
        lo, hi = 0, self.size
        while lo < hi:  # bisect_left over the raw views
            mid = (lo + hi) // 2
            key = top.get(mid)
            if key is None:
                key = blob[offs[mid] : offs[mid + 1]].tobytes()
                if hi - lo > span:
                    top[mid] = key
            if key < data:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.size and self.raw(lo) == data:
            return lo
        if lo > 0:
            self.raw(lo - 1)  # checked: raises unless the bracket's lower end is genuine too
        return -1

    def _find_by_prefix(self, data: bytes, prefixes: memoryview) -> int:
        """:meth:`find` in a table read whole, checked, for its prefixes: C's bisection of
        the strings' first bytes leaves the few that share them (most often one or none),
        and every string read is genuine."""
        offs, blob = self._raw_offs, self._raw_blob
        key = int.from_bytes(data[:_PREFIX].ljust(_PREFIX, b"\0"), "big")
        lo = bisect.bisect_left(prefixes, key)
        hi = bisect.bisect_right(prefixes, key, lo)
        if lo == hi:
            return -1
        while lo < hi:
            mid = (lo + hi) // 2
            if blob[offs[mid] : offs[mid + 1]].tobytes() < data:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < self.size and blob[offs[lo] : offs[lo + 1]] == data else -1

    def _prefix_keys(self) -> memoryview:
        """Each string's first :data:`_PREFIX` bytes (zero-padded) as a big-endian integer,
        read from the whole table, checked: they ascend as the strings do, so C's bisect
        narrows a lookup to the strings that share its first bytes."""
        offs = np.asarray(self._offs(0, self.size + 1), dtype=np.int64)
        blob = np.frombuffer(self._blob(0, int(offs[-1])).tobytes(), dtype=np.uint8)
        if len(offs) != self.size + 1 or np.any(np.diff(offs) < 0):
            raise IndexCorruptError(f"{self._where}: a sorted string table's offsets go back")
        out = np.empty(self.size, dtype=np.uint64)
        step = np.arange(_PREFIX)
        for a in range(0, self.size, _PREFIX_ROWS):  # (bounded temporaries)
            b = min(a + _PREFIX_ROWS, self.size)
            at = offs[a:b, None] + step
            inside = step < (offs[a + 1 : b + 1] - offs[a:b])[:, None]
            raw = np.zeros((b - a, _PREFIX), dtype=np.uint8)
            raw[inside] = blob[at[inside]]
            out[a:b] = raw.view(">u8").ravel()
        return out.data.cast("B").cast("Q")


#: A sorted table of at most this many strings looks words up by their first bytes (see
#: ``SortedStrings._prefix_keys``, 8 bytes a string); a larger one bisects its strings alone.
PREFIX_KEYS_MAX = 1 << 21
#: Strings per lookup before a table makes its prefix keys: making one costs about a
#: twelfth of what the keys save a lookup, so a table makes them once its lookups would
#: have paid for them, and never spends more than about twice what the best choice in
#: hindsight would have.
PREFIX_KEYS_RATIO = 12
_PREFIX = 8
_PREFIX_ROWS = 1 << 16


class _Keys:
    """A sequence view of the raw strings, for :mod:`bisect`."""

    def __init__(self, table: StringTable | SortedStrings):
        self._t = table

    def __len__(self) -> int:
        return self._t.size

    def __getitem__(self, i: int) -> bytes:
        return self._t.raw(i)
