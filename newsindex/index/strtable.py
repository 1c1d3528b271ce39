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
import hashlib
import zlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np

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
    order = np.argsort(hashes, kind="stable")
    return {
        f"{prefix}.blob": blob,
        f"{prefix}.offs": offsets,
        f"{prefix}.crc": hashes[order],
        f"{prefix}.hord": order.astype(np.int32),
    }


class StringTable:
    """Read side of :func:`build`."""

    def __init__(self, arrays: Arrays, prefix: str):
        self._blob = arrays[f"{prefix}.blob"]
        self._offs = arrays[f"{prefix}.offs"]
        self._hash_of: Callable[[bytes], int]
        if f"{prefix}.crc" in arrays:
            self._hash, self._hash_of = arrays[f"{prefix}.crc"], zlib.crc32
        else:
            self._hash, self._hash_of = arrays[f"{prefix}.hash"], string_hash
        self._hord = arrays[f"{prefix}.hord"]
        self._raw = self._blob.data if len(self._blob) else memoryview(b"")
        self.size = len(self._offs) - 1
        self._starts = self._offs.data  # plain-int indexing, cheaper than numpy scalars

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> str:
        return str(self._raw[self._starts[i] : self._starts[i + 1]], "utf-8")

    def raw(self, i: int) -> bytes:
        return bytes(self._raw[self._starts[i] : self._starts[i + 1]])

    def strings(self) -> list[str]:
        """Every string, in index order (one decode for the whole table)."""
        offs = self._offs.tolist()
        blob = bytes(self._raw)
        return [blob[a:b].decode("utf-8") for a, b in zip(offs, offs[1:])]

    def find(self, s: str) -> int:
        """The index of ``s``, or -1."""
        data = s.encode("utf-8")
        h = self._hash.dtype.type(self._hash_of(data))
        hashes = self._hash
        i = int(hashes.searchsorted(h))
        while i < self.size and hashes[i] == h:
            j = int(self._hord[i])
            if self.raw(j) == data:
                return j
            i += 1
        return -1

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
        f"{prefix}.offs": offsets,
    }


class SortedStrings:
    """Read side of :func:`build_sorted`."""

    def __init__(self, arrays: Arrays, prefix: str):
        blob = arrays[f"{prefix}.blob"]
        self._raw = blob.data if len(blob) else memoryview(b"")
        self._starts = arrays[f"{prefix}.offs"].data
        self.size = len(self._starts) - 1

    def raw(self, i: int) -> bytes:
        return bytes(self._raw[self._starts[i] : self._starts[i + 1]])

    def find(self, s: str) -> int:
        """The index of ``s``, or -1."""
        data = s.encode("utf-8")
        i = bisect.bisect_left(_Keys(self), data)
        return i if i < self.size and self.raw(i) == data else -1


class _Keys:
    """A sequence view of the raw strings, for :mod:`bisect`."""

    def __init__(self, table: StringTable | SortedStrings):
        self._t = table

    def __len__(self) -> int:
        return self._t.size

    def __getitem__(self, i: int) -> bytes:
        return self._t.raw(i)
