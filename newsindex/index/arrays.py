"""The segment container: named numpy arrays in one file, read back through one mmap.

Layout: ``MAGIC | uint64 header length | JSON header | arrays (64-byte aligned)``. The header
maps each name to its dtype, shape and offset. Plain data only: no pickle, readable by anything
that can parse JSON and raw little-endian arrays.
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
    with open(path, "wb") as fh:
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
    return {"size": size, "crc32": crc}


class ArrayFile:
    """Read-only view of a file written by :func:`write_arrays`; arrays are mmap-backed."""

    def __init__(self, path: Path):
        self.path = path
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < len(MAGIC) + 8:
                    raise IndexCorruptError(f"{path}: truncated ({size} bytes)")
                self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: file is missing") from None
        if self._mm[: len(MAGIC)] != MAGIC:
            raise IndexCorruptError(f"{path}: not a newsindex array file (bad magic)")
        (hlen,) = struct.unpack_from("<Q", self._mm, len(MAGIC))
        try:
            header = json.loads(self._mm[len(MAGIC) + 8 : len(MAGIC) + 8 + hlen])
            entries = header["arrays"]
        except (ValueError, KeyError, TypeError):
            raise IndexCorruptError(f"{path}: unreadable header") from None
        start = _aligned(len(MAGIC) + 8 + hlen)
        self.arrays: dict[str, np.ndarray] = {}
        for name, e in entries.items():
            try:
                dtype = np.dtype(e["dtype"])
                shape = tuple(e["shape"])
                count = int(np.prod(shape, dtype=np.int64))
                offset = start + int(e["offset"])
            except (KeyError, TypeError, ValueError):
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


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
