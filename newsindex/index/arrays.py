"""The segment container: named numpy arrays in one file, read back through one mmap.

Layout: ``MAGIC | uint64 header length | JSON header | arrays (64-byte aligned)``. The header
maps each name to its dtype, shape and offset. Plain data only: no pickle, readable by anything
that can parse JSON and raw little-endian arrays.

Opening a file with the CRC-32 its manifest recorded verifies the whole file first (once per
file per process: segment files never change), so a flipped bit in a posting, a position or a
string table is an IndexCorruptError, never a different answer.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError
from .files import create_new

MAGIC = b"NIXARR1\n"
ALIGN = 64


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> dict:
    """Write ``arrays`` to ``path`` (fsynced); return ``{"size", "crc32"}`` for the manifest."""
    entries = {}
    prepared = []
    offset = 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype.byteorder == ">" or arr.dtype == object:
            raise ValueError(f"array {name!r}: unsupported dtype {arr.dtype}")
        entries[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset}
        prepared.append(arr)
        offset += _aligned(arr.nbytes)
    header = json.dumps({"format": 1, "arrays": entries}).encode()
    start = _aligned(len(MAGIC) + 8 + len(header))
    crc = 0
    with open(create_new(path), "wb") as fh:
        head = MAGIC + struct.pack("<Q", len(header)) + header
        head += b"\0" * (start - len(head))
        fh.write(head)
        crc = zlib.crc32(head, crc)
        for arr in prepared:
            data = arr.tobytes()
            pad = b"\0" * (_aligned(len(data)) - len(data))
            fh.write(data)
            fh.write(pad)
            crc = zlib.crc32(pad, zlib.crc32(data, crc))
        fh.flush()
        os.fsync(fh.fileno())
        size = fh.tell()
        _remember(os.fstat(fh.fileno()), crc)  # written here: no need to read it back
    return {"size": size, "crc32": crc}


#: (device, inode, size, mtime) of files whose CRC-32 this process has verified (or written).
_VERIFIED: dict[tuple[int, int, int, int], int] = {}
_VERIFIED_MAX = 65536


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _remember(st: os.stat_result, crc: int) -> None:
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[_identity(st)] = crc


class ArrayFile:
    """Read-only view of a file written by :func:`write_arrays`; arrays are mmap-backed."""

    def __init__(self, path: Path, crc32: int | None = None):
        """Map ``path``; with ``crc32`` (the manifest's), verify the whole file first."""
        self.path = path
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                size = st.st_size
                if size < len(MAGIC) + 8:
                    raise IndexCorruptError(f"{path}: truncated ({size} bytes)")
                self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: file is missing") from None
        if crc32 is not None and _VERIFIED.get(_identity(st)) != crc32:
            if zlib.crc32(self._mm) != crc32:
                self._mm.close()
                raise IndexCorruptError(f"{path}: checksum mismatch (the file's content changed)")
            _remember(st, crc32)
        if self._mm[: len(MAGIC)] != MAGIC:
            raise IndexCorruptError(f"{path}: not a newsindex array file (bad magic)")
        (hlen,) = struct.unpack_from("<Q", self._mm, len(MAGIC))
        if hlen > size:
            raise IndexCorruptError(f"{path}: unreadable header (length {hlen})")
        try:
            header = json.loads(self._mm[len(MAGIC) + 8 : len(MAGIC) + 8 + hlen])
            entries = header["arrays"]
            if not isinstance(entries, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            raise IndexCorruptError(f"{path}: unreadable header") from None
        start = _aligned(len(MAGIC) + 8 + hlen)
        self.arrays: dict[str, np.ndarray] = {}
        for name, e in entries.items():
            try:
                dtype = _dtype(e["dtype"])
                shape = tuple(int(n) for n in e["shape"])
                count = int(np.prod(shape, dtype=np.int64))
                offset = start + int(e["offset"])
                if count < 0 or offset < start or any(n < 0 for n in shape):
                    raise ValueError
            except Exception:  # numpy parses dtype strings itself (tokenize errors included)
                raise IndexCorruptError(f"{path}: bad entry for array {name!r}") from None
            if offset + count * dtype.itemsize > size:
                raise IndexCorruptError(
                    f"{path}: truncated: array {name!r} ends past the end of the file"
                )
            self.arrays[name] = np.frombuffer(
                self._mm, dtype=dtype, count=count, offset=offset
            ).reshape(shape)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            raise IndexCorruptError(f"{self.path}: array {name!r} is missing") from None

    def __contains__(self, name: str) -> bool:
        return name in self.arrays


#: The kinds of array a segment holds: booleans, integers, floats (never objects).
_KINDS = frozenset("biuf")


def _dtype(spec: object) -> np.dtype:
    if not isinstance(spec, str) or len(spec) > 8:
        raise ValueError(spec)
    dtype = np.dtype(spec)
    if dtype.kind not in _KINDS or dtype.byteorder == ">" or dtype.shape or dtype.names:
        raise ValueError(spec)
    return dtype


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
