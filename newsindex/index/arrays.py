"""The segment container: named numpy arrays in one file, read back through one mmap.

Layout: ``MAGIC | uint64 header length | JSON header | uint32 CRC-32 of all before it |
arrays (64-byte aligned)``. The header maps each name to its dtype, shape, offset and the
CRC-32 of every ``CHUNK`` bytes of its data. Plain data only: no pickle, readable by anything
that can parse JSON and raw little-endian arrays.

Nothing is served unverified, and nothing is verified before it is needed: the header is
checked on open, an array's chunks the first time a read covers them (:meth:`ArrayFile.range`,
:meth:`~ArrayFile.item`, :meth:`~ArrayFile.items` and :meth:`~ArrayFile.check` only the chunks
of the elements asked for, ``arr[name]`` the whole array). A cold process thus pays for the
bytes it reads, not for the whole file, and pages it never reads stay out of its memory; a
flipped bit is still an IndexCorruptError, never a different answer. ``newsindex check``
verifies every byte against the manifest's whole-file CRC-32.

Files of format 1 (``MAGIC_V1``, no chunk checksums) are verified whole on open, as then.
"""

from __future__ import annotations

import base64
import json
import mmap
import os
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from . import checksum
from .files import create_new, create_scratch

MAGIC_V1 = b"NIXARR1\n"
MAGIC = b"NIXARR2\n"
ALIGN = 64
#: Bytes covered by one CRC-32: a cold read of a few postings checks a few pages, not the file.
CHUNK = 16384


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray | Spill]) -> dict:
    """Write ``arrays`` to ``path`` (fsynced); return ``{"size", "crc32"}`` for the manifest.
    A :class:`Spill` is copied from its file a few MiB at a time."""
    entries = {}
    prepared: list[np.ndarray | Spill] = []
    offset = 0
    for name, arr in arrays.items():
        if not isinstance(arr, Spill):
            arr = np.ascontiguousarray(arr)
        if arr.dtype.byteorder == ">" or arr.dtype == object:
            raise ValueError(f"array {name!r}: unsupported dtype {arr.dtype}")
        entries[name] = {
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "offset": offset,
            "crcs": _chunk_crcs(_pieces(arr)),
        }
        prepared.append(arr)
        offset += _aligned(arr.nbytes)
    header = json.dumps({"format": 2, "chunk": CHUNK, "arrays": entries}).encode()
    start = _aligned(len(MAGIC) + 8 + len(header) + 4)
    crc = 0
    with open(create_new(path), "wb") as fh:
        head = MAGIC + struct.pack("<Q", len(header)) + header
        head += struct.pack("<I", checksum.crc32(head))
        head += b"\0" * (start - len(head))
        fh.write(head)
        crc = checksum.crc32(head, crc)
        for arr in prepared:
            for data in _pieces(arr):
                fh.write(data)
                crc = checksum.crc32(data, crc)
            pad = b"\0" * (_aligned(arr.nbytes) - arr.nbytes)
            fh.write(pad)
            crc = checksum.crc32(pad, crc)
        fh.flush()
        os.fsync(fh.fileno())
        size = fh.tell()
        _remember(os.fstat(fh.fileno()), crc)  # written here: no need to read it back
    return {"size": size, "crc32": crc}


def _chunk_crcs(pieces: Iterable[memoryview]) -> str:
    """The CRC-32 of each CHUNK bytes of the data cut in ``pieces`` (each but the last a
    multiple of CHUNK bytes), as base64 of little-endian uint32s."""
    crcs = [
        checksum.crc32(data[i : i + CHUNK]) for data in pieces for i in range(0, len(data), CHUNK)
    ]
    return base64.b64encode(np.array(crcs, dtype="<u4").tobytes()).decode("ascii")


def _pieces(arr: np.ndarray | Spill) -> Iterator[memoryview]:
    """An array's bytes: an array's whole (no copy: a merge writes GBs), a spill's a few
    MiB at a time."""
    if isinstance(arr, Spill):
        yield from arr.pieces()
    else:
        yield arr.reshape(-1).view(np.uint8).data


class Spill:
    """An array written to a scratch file as it is made, a part at a time, for
    :func:`write_arrays` to copy into a segment's file: the largest arrays of a merge (of
    ``optimize``: of the whole index) are never held in memory whole. ``path``: beside the
    segment being written (named like its files, so a killed writer's are collected as
    theirs are); removed on :meth:`close`. ``row``: the shape of each row (``()``: a 1-D
    array)."""

    #: Bytes copied at a time (a multiple of CHUNK: each piece's chunk checksums are whole).
    PIECE = 256 * CHUNK

    def __init__(self, path: Path, dtype: np.dtype | type, row: tuple[int, ...] = ()):
        self.path = path
        self.dtype = np.dtype(dtype)
        self.row = row
        self.rows = 0
        self._fh = os.fdopen(create_scratch(path), "w+b")

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *self.row)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def append(self, values: np.ndarray) -> None:
        """Add rows, of the spill's dtype and row shape (never cast: a cast could wrap)."""
        if values.dtype != self.dtype or values.shape[1:] != self.row:
            raise ValueError(
                f"{self.path.name}: rows {values.dtype} {values.shape[1:]}, "
                f"not {self.dtype} {self.row}"
            )
        values = np.ascontiguousarray(values)
        self._fh.write(values.reshape(-1).view(np.uint8).data)
        self.rows += len(values)

    def pieces(self) -> Iterator[memoryview]:
        """Its bytes from the start, :attr:`PIECE` at a time (one buffer, reused: each piece
        is valid until the next is asked for)."""
        self._fh.flush()
        self._fh.seek(0)
        buf = bytearray(self.PIECE)
        view = memoryview(buf)
        left = self.nbytes
        while left:
            size = min(left, self.PIECE)
            got = 0
            while got < size:  # (whole pieces: their chunks' checksums must be whole)
                n = self._fh.readinto(view[got:size])
                if not n:
                    raise OSError(f"{self.path}: scratch file ends early")
                got += n
            left -= size
            yield view[:size]

    def close(self) -> None:
        """Close and remove the scratch file."""
        self._fh.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


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
    """Read-only view of a file written by :func:`write_arrays`; arrays are mmap-backed and
    verified on first read (``arr[name]``: the whole array; :meth:`range`: a slice)."""

    def __init__(self, path: Path, crc32: int | None = None):
        """Map ``path`` and check its header; a format-1 file given ``crc32`` (the
        manifest's) is verified whole first."""
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
        magic = self._mm[: len(MAGIC)]
        if magic not in (MAGIC, MAGIC_V1):
            raise IndexCorruptError(f"{path}: not a newsindex array file (bad magic)")
        chunked = magic == MAGIC
        if not chunked and crc32 is not None and _VERIFIED.get(_identity(st)) != crc32:
            if checksum.crc32(self._mm) != crc32:
                self._mm.close()
                raise IndexCorruptError(f"{path}: checksum mismatch (the file's content changed)")
            _remember(st, crc32)
        (hlen,) = struct.unpack_from("<Q", self._mm, len(MAGIC))
        head_end = len(MAGIC) + 8 + hlen
        if hlen > size or (chunked and head_end + 4 > size):
            raise IndexCorruptError(f"{path}: unreadable header (length {hlen})")
        if chunked:
            (head_crc,) = struct.unpack_from("<I", self._mm, head_end)
            if checksum.crc32(self._mm[:head_end]) != head_crc:
                raise IndexCorruptError(f"{path}: the header fails its checksum")
        try:
            header = json.loads(self._mm[len(MAGIC) + 8 : head_end])
            entries = header["arrays"]
            if not isinstance(entries, dict):
                raise TypeError
            chunk = int(header["chunk"]) if chunked else 0
            if chunked and chunk <= 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, RecursionError):
            raise IndexCorruptError(f"{path}: unreadable header") from None
        start = _aligned(head_end + (4 if chunked else 0))
        self._slots: dict[str, _Slot] = {}
        for name, e in entries.items():
            try:
                dtype = _dtype(e["dtype"])
                shape = tuple(int(n) for n in e["shape"])
                count = int(np.prod(shape, dtype=np.int64))
                offset = start + int(e["offset"])
                if count < 0 or offset < start or any(n < 0 for n in shape):
                    raise ValueError
                crcs = None
                if chunked:
                    crcs = np.frombuffer(base64.b64decode(e["crcs"], validate=True), dtype="<u4")
                    if len(crcs) != -(-count * dtype.itemsize // chunk):
                        raise ValueError
            except Exception:  # numpy parses dtype strings itself (tokenize errors included)
                raise IndexCorruptError(f"{path}: bad entry for array {name!r}") from None
            if offset + count * dtype.itemsize > size:
                raise IndexCorruptError(
                    f"{path}: truncated: array {name!r} ends past the end of the file"
                )
            view = np.frombuffer(self._mm, dtype=dtype, count=count, offset=offset).reshape(shape)
            # Format 1: verified with the whole file above (or never, as then, without a CRC).
            items: memoryview | _NotItems | None = _items(view)
            if items is None:  # (no reader takes items of these: the header must be wrong)
                items = _NotItems(f"{path}: array {name!r} is {dtype} {shape}, not 1-D numbers")
            crcs_list = [] if crcs is None else crcs.tolist()
            self._slots[name] = _Slot(view, items, offset, chunk, crcs_list)

    def names(self) -> list[str]:
        return list(self._slots)

    def __getitem__(self, name: str) -> np.ndarray:
        """Array ``name``, verified whole (once)."""
        slot = self._slots.get(name)
        if slot is None:
            raise IndexCorruptError(f"{self.path}: array {name!r} is missing")
        if slot.left:
            slot.verify(self.path, name, self._mm, 0, len(slot.done) - 1)
        return slot.array

    def range(self, name: str, s: int, e: int) -> np.ndarray:
        """``arr[name][s:e]`` of a 1-D array, verifying only the chunks that slice covers."""
        slot = self._slots.get(name)
        if slot is None:
            raise IndexCorruptError(f"{self.path}: array {name!r} is missing")
        part = slot.array[s:e]
        if slot.left:
            if not 0 <= s <= e <= slot.length:  # (callers' usual slices need no normalizing)
                s, e, _ = slice(s, e).indices(slot.length)  # the bounds numpy took
            if e > s:
                first = s * slot.width // slot.chunk
                last = (e * slot.width - 1) // slot.chunk
                done = slot.done
                if first == last:  # most reads: a few postings, one chunk
                    if not done[first]:
                        slot.verify(self.path, name, self._mm, first, first)
                elif not (done[first] and done[last] and done.find(0, first, last + 1) < 0):
                    slot.verify(self.path, name, self._mm, first, last)
        return part

    def item(self, name: str, i: int) -> Any:
        """Element ``i`` of 1-D array ``name`` as a Python number, its chunk verified; an
        index outside the array is an IndexCorruptError (callers take it from other arrays).

        The cheap way to one entry of a per-term array: no numpy slice, no ``tolist``, which
        cost a query word several times this in every segment it is looked up in.
        """
        slot = self._slots.get(name)
        if slot is None:
            raise IndexCorruptError(f"{self.path}: array {name!r} is missing")
        if not 0 <= i < slot.length:
            raise IndexCorruptError(f"{self.path}: array {name!r} has no element {i}")
        if slot.left:
            at = i * slot.width // slot.chunk
            if not slot.done[at]:
                slot.verify(self.path, name, self._mm, at, at)
        return slot.items[i]

    def items(self, name: str, s: int, e: int) -> Any:
        """Elements ``[s, e)`` of 1-D array ``name``, verified, as a sequence of Python
        numbers (a memoryview: unpack it, ``tolist()`` or ``tobytes()`` it); bounds outside
        the array are an IndexCorruptError."""
        return self._verified(name, s, e).items[s:e]

    def slices(self, offs: str, blob: str, indices: Iterable[int]) -> list[bytes]:
        """``blob[offs[i]:offs[i + 1]]`` for each ``i`` of ``indices`` (entries of a string
        table: a page of hits' article ids), each read verified; an index or offset outside
        its array is an IndexCorruptError. One call for all: a page read entry by entry
        through :meth:`items` paid its lookups and checks twice an entry."""
        so = self._slots.get(offs)
        sb = self._slots.get(blob)
        if so is None or sb is None:
            name = offs if so is None else blob
            raise IndexCorruptError(f"{self.path}: array {name!r} is missing")
        at, data = so.items, sb.items
        out = []
        for i in indices:
            if not 0 <= i < so.length - 1:
                raise IndexCorruptError(f"{self.path}: array {offs!r} has no elements {i}-{i + 2}")
            if so.left:
                self._verified(offs, i, i + 2)
            a = at[i]
            b = at[i + 1]
            if not 0 <= a <= b <= sb.length:
                raise IndexCorruptError(f"{self.path}: array {blob!r} has no elements {a}-{b}")
            if sb.left:
                self._verified(blob, a, b)
            out.append(data[a:b].tobytes())
        return out

    def check(self, name: str, s: int, e: int) -> None:
        """Verify elements ``[s, e)`` of 1-D array ``name`` for a reader of its raw view
        (:meth:`unverified`); bounds outside the array are an IndexCorruptError."""
        self._verified(name, s, e)

    def _verified(self, name: str, s: int, e: int) -> _Slot:
        """The slot of array ``name``, its elements ``[s, e)`` (within it) verified."""
        slot = self._slots.get(name)
        if slot is None:
            raise IndexCorruptError(f"{self.path}: array {name!r} is missing")
        if not 0 <= s <= e <= slot.length:
            raise IndexCorruptError(f"{self.path}: array {name!r} has no elements {s}-{e}")
        if slot.left and e > s:
            first = s * slot.width // slot.chunk
            last = (e * slot.width - 1) // slot.chunk
            done = slot.done
            if first == last:
                if not done[first]:
                    slot.verify(self.path, name, self._mm, first, first)
            elif not (done[first] and done[last] and done.find(0, first, last + 1) < 0):
                slot.verify(self.path, name, self._mm, first, last)
        return slot

    def unverified(self, name: str) -> np.ndarray:
        """The raw view of array ``name``, for a reader that checks through :meth:`range`
        every element it uses (a binary search that reads a few of them, say)."""
        slot = self._slots.get(name)
        if slot is None:
            raise IndexCorruptError(f"{self.path}: array {name!r} is missing")
        return slot.array

    def __contains__(self, name: str) -> bool:
        return name in self._slots


class _Slot:
    """One array: its view, its chunk checksums, and which chunks this process verified."""

    __slots__ = (
        "array", "items", "length", "width", "offset", "nbytes", "chunk", "crcs", "done", "left"
    )  # fmt: skip

    def __init__(self, array: np.ndarray, items: Any, offset: int, chunk: int, crcs: list[int]):
        self.array = array
        #: What ArrayFile.item(s) index: a memoryview gives Python numbers without numpy's
        #: per-call cost.
        self.items: Any = items
        self.length = len(array) if array.ndim else 1
        self.width = array.itemsize
        self.offset = offset
        self.nbytes = array.nbytes
        self.chunk = chunk
        self.crcs = crcs
        self.done = bytearray(len(self.crcs))
        #: Chunks not verified yet (0: the whole array is).
        self.left = len(self.crcs)

    def verify(self, path: Path, name: str, mm: mmap.mmap, first: int, last: int) -> None:
        """Verify chunks ``first`` to ``last`` (inclusive).

        Threads may verify a chunk twice; never mark one they did not check.
        """
        done = self.done
        with memoryview(mm) as view:
            for i in range(first, last + 1):
                if done[i]:
                    continue
                a = self.offset + i * self.chunk
                b = self.offset + min((i + 1) * self.chunk, self.nbytes)
                if checksum.crc32(view[a:b]) != self.crcs[i]:
                    raise IndexCorruptError(
                        f"{path}: array {name!r} fails its checksum (bytes {a}-{b})"
                    )
                # Marked and counted as one step: two threads may check the same chunk, and
                # only the first to mark it counts it (a recount of every chunk instead
                # would cost a pass over the whole array's flags per read of a new chunk).
                with _MARKING:
                    if not done[i]:
                        done[i] = 1
                        self.left -= 1


#: Held while a verified chunk is marked and counted (see :meth:`_Slot.verify`).
_MARKING = threading.Lock()

#: memoryview formats of numpy's 1-D arrays that index to Python numbers.
_MEMORYVIEW_FORMATS = frozenset("?bBhHiIlLqQfd")


def _items(array: np.ndarray) -> memoryview | None:
    """A memoryview of ``array`` if it is 1-D numbers a memoryview holds (float16 is not)."""
    if array.ndim != 1:
        return None
    view = array.data
    return view if view.format in _MEMORYVIEW_FORMATS else None


class _NotItems:
    """In place of the memoryview of an array that cannot have one: reading it by item is
    an IndexCorruptError (the per-term arrays read so are 1-D integers)."""

    def __init__(self, message: str):
        self.message = message

    def __getitem__(self, key: object) -> Any:
        raise IndexCorruptError(self.message)


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
