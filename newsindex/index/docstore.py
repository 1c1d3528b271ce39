"""Stored fields: articles as JSON, grouped in zstd-compressed blocks of a few documents."""

from __future__ import annotations

import json
import os
import queue
import threading
import zlib

import zstandard
from pathlib import Path
from typing import Sequence

import numpy as np

from ..article import Article, parse_date
from ..errors import IndexCorruptError

#: Documents per compressed block: small enough that fetching one hit stays cheap.
BLOCK_DOCS = 16
# zstd level 3: 5x faster than zlib -6 to write and 4x faster to read, with a better ratio.
_LEVEL = 3
_FIELDS = ("id", "title", "body", "date", "source", "section", "author", "url", "extra")


class StoreWriter:
    """Writes a segment's stored fields: articles encoded here, and blocks other processes
    compressed (:func:`compress_blocks`) appended in order.

    As in tantivy's store writer, compression runs on a thread of its own: this thread encodes
    blocks of JSON (Python, holding the GIL) while the other compresses and writes the previous
    batch inside one zstd call that releases the GIL, so the two overlap.
    """

    def __init__(self, path: Path):
        self._fh = open(path, "wb")
        self._sink = _BlockSink(self._fh)

    def write(self, articles: Sequence[Article]) -> None:
        """Append ``articles``; every call but the last must pass a multiple of BLOCK_DOCS."""
        batch: list[bytes] = []
        for start in range(0, len(articles), BLOCK_DOCS):
            batch.append(_encode_block(articles[start : start + BLOCK_DOCS]))
            if len(batch) == _BATCH_BLOCKS:
                self._sink.put(batch)
                batch = []
        if batch:
            self._sink.put(batch)

    def append_compressed(self, blob: bytes, lengths: Sequence[int]) -> None:
        """Append blocks made by :func:`compress_blocks` (after everything written so far)."""
        self._sink.drain()
        view = memoryview(blob)
        start = 0
        for length in lengths:
            self._sink.write_block(view[start : start + length])
            start += length

    def finish(self) -> tuple[np.ndarray, dict]:
        """Flush and fsync; return block offsets and the file's size/crc."""
        self._sink.close()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        offsets = self._sink.offsets
        return np.asarray(offsets, dtype=np.int64), {"size": offsets[-1], "crc32": self._sink.crc}

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._sink.close(raise_error=exc[0] is None)
        finally:
            self._fh.close()


def compress_blocks(articles: Sequence[Article]) -> tuple[bytes, list[int]]:
    """The compressed blocks of ``articles`` as one blob and the length of each block, for
    :meth:`StoreWriter.append_compressed` in another process."""
    cctx = zstandard.ZstdCompressor(level=_LEVEL)
    blocks = [
        cctx.compress(_encode_block(articles[start : start + BLOCK_DOCS]))
        for start in range(0, len(articles), BLOCK_DOCS)
    ]
    return b"".join(blocks), [len(b) for b in blocks]


#: Blocks handed to the compressor at a time: big enough that its GIL-free call covers the
#: encoding of the next batch, small enough that little waits at the end.
_BATCH_BLOCKS = 128


# No cycle check: rows are plain lists, strings and the validated extra mapping.
_ASCII_JSON = json.JSONEncoder(check_circular=False).encode
_UTF8_JSON = json.JSONEncoder(check_circular=False, ensure_ascii=False).encode


def _encode_block(articles: Sequence[Article]) -> bytes:
    rows = [_row(a) for a in articles]
    # ASCII-escaped JSON encodes ~1.7x faster; a block whose titles or bodies hold non-ASCII
    # text is written as UTF-8, where \u escapes would bloat it (readers take either).
    if all(a.title.isascii() and a.body.isascii() for a in articles):
        return _ASCII_JSON(rows).encode("ascii")
    return _UTF8_JSON(rows).encode("utf-8")


class _BlockSink:
    """Compresses and writes batches of blocks, in order, on a background thread.

    An error there (a full disk) stops the writing and is raised again by :meth:`close`.
    Without the C backend's batch call (the CFFI backend lacks it), everything happens in
    the calling thread.
    """

    def __init__(self, fh):
        self._fh = fh
        self.offsets = [0]
        self.crc = 0
        self._error: BaseException | None = None
        self._cctx = zstandard.ZstdCompressor(level=_LEVEL)
        self._threaded = zstandard.backend == "cext"
        # Bounded: the encoder never runs more than two batches ahead of the disk.
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None

    def put(self, blocks: list[bytes]) -> None:
        if self._error is not None:
            raise self._error
        if not self._threaded:
            self._write([self._cctx.compress(b) for b in blocks])
            return
        if self._thread is None:
            # Started on first use, not with the writer: analysis workers fork before this
            # process writes, and a fork should not copy a running thread.
            self._thread = threading.Thread(target=self._run, name="newsindex-store", daemon=True)
            self._thread.start()
        self._queue.put(blocks)

    def drain(self) -> None:
        """Wait until every queued batch is written (the thread stays up)."""
        if self._thread is not None:
            self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self, raise_error: bool = True) -> None:
        """Wait for the queued batches and stop the thread; raise its error, if any."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if raise_error and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            blocks = self._queue.get()
            try:
                if blocks is None:
                    return
                if self._error is None:  # after an error, keep draining: put() never blocks
                    self._write(self._cctx.multi_compress_to_buffer(blocks, threads=1))
            except BaseException as exc:  # handed to the producer by put()/drain()/close()
                self._error = exc
            finally:
                self._queue.task_done()

    def _write(self, compressed) -> None:
        for block in compressed:
            self.write_block(memoryview(block))

    def write_block(self, data) -> None:
        self._fh.write(data)
        self.crc = zlib.crc32(data, self.crc)
        self.offsets.append(self.offsets[-1] + len(data))


def _row(a: Article) -> list:
    return [
        a.id,
        a.title,
        a.body,
        a.date.isoformat() if a.date is not None else None,
        a.source,
        a.section,
        a.author,
        a.url,
        (a.extra if type(a.extra) is dict else dict(a.extra)) if a.extra else None,
    ]


def _article(row) -> Article:
    try:
        values = dict(zip(_FIELDS, row, strict=True))
        values["date"] = parse_date(values["date"])
        values["extra"] = values["extra"] or {}
        return Article(**values)
    except (TypeError, ValueError) as exc:
        raise IndexCorruptError(f"stored article is malformed: {exc}") from None


class DocStore:
    """Read side: ``get(doc)`` decompresses the block holding ``doc``."""

    def __init__(self, path: Path, block_offsets: np.ndarray):
        self.path = path
        self._offsets = block_offsets
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: file is missing") from None
        self._decompress = zstandard.ZstdDecompressor().decompress
        size = os.fstat(self._fd).st_size
        if len(block_offsets) and int(block_offsets[-1]) > size:
            raise IndexCorruptError(f"{path}: truncated ({size} of {int(block_offsets[-1])} bytes)")

    def get(self, doc: int) -> Article:
        return _article(self._rows(doc // BLOCK_DOCS)[doc % BLOCK_DOCS])

    def iter_articles(self, live=None):
        """Every stored article in doc order (``live``: a boolean mask to skip deleted docs)."""
        for block in range(len(self._offsets) - 1):
            for i, row in enumerate(self._rows(block)):
                doc = block * BLOCK_DOCS + i
                if live is None or live[doc]:
                    yield _article(row)

    def _rows(self, block: int) -> list:
        start, end = int(self._offsets[block]), int(self._offsets[block + 1])
        data = os.pread(self._fd, end - start, start)
        try:
            rows = json.loads(self._decompress(data))
        except (zstandard.ZstdError, ValueError):
            raise IndexCorruptError(f"{self.path}: block {block} is corrupt") from None
        if not isinstance(rows, list) or not rows or len(rows) > BLOCK_DOCS:
            raise IndexCorruptError(f"{self.path}: block {block} is corrupt")
        return rows

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
