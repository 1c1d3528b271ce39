"""Stored fields: articles as JSON, grouped in zstd-compressed blocks of a few documents.

Blocks are written by orjson (compact UTF-8), or by the json module (ASCII-escaped, ``", "``
separators) where orjson would refuse a row or change it (see :func:`_encode_rows`); older
segments hold json's blocks, ASCII-escaped or UTF-8. Readers decode every kind the same
(:func:`_loads`), and one index may mix them.

A segment of at least ``DICT_MIN_DOCS`` articles gets a zstd dictionary trained on a sample of
its first blocks and stored in its array file (``store.dict``): small blocks, which keep
fetching one hit cheap, then compress about as well as whole files (the field names, the
agencies' boilerplate, the common phrases live in the dictionary once, not in every block).
Segments written without one (smaller ones, those of forked workers, older ones) are read as
plain zstd frames.

Each block's CRC-32 (of its compressed bytes) is kept in the segment's array file
(``store.crc``), itself covered by the manifest's checksum, and verified on every read, so a
flipped bit is an IndexCorruptError, never a changed article. Segments written before these
checksums have none; a merge verifies such a file whole before copying it.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, compress
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import zstandard

from ..article import Article, parse_date
from ..errors import ArticleError, IndexCorruptError
from .files import create_new

#: Documents per compressed block: small enough that fetching one hit stays cheap.
BLOCK_DOCS = 16
# zstd level 3: faster than zlib -6 to write and to read, with a better ratio.
_LEVEL = 3
#: Segments of fewer articles get no dictionary: it would not pay for its own bytes.
DICT_MIN_DOCS = 4096
#: Dictionary size: zstd's default for the smallest segments, growing with a segment's
#: articles up to a cap (a larger dictionary holds more of the agencies' recurring sentences,
#: and a large segment amortizes it; compressing with it costs about the same).
_DICT_BYTES = 112_640
_DICT_BYTES_PER_DOC = 16
_DICT_MAX_BYTES = 1_048_576
#: Blocks of the first batch the dictionary is trained on; fastCover's ``k``/``d`` fixed, so
#: training takes one pass (searching them is many times slower for a percent or two).
_DICT_SAMPLES = 100
_DICT_K, _DICT_D = 256, 6
_FIELDS = ("id", "title", "body", "date", "source", "section", "author", "url", "extra")
_TITLE, _BODY, _EXTRA = _FIELDS.index("title"), _FIELDS.index("body"), _FIELDS.index("extra")
_WIDTH = len(_FIELDS)


class StoreWriter:
    """Writes a segment's stored fields: articles, and blocks other processes compressed
    (:func:`compress_blocks`), in order.

    As in tantivy's store writer, a thread of its own encodes, compresses and writes the
    blocks. Compression is one zstd call per batch that releases the GIL; the JSON encoding
    holds it, but fills the gaps the writer leaves while it runs numpy code (tokenizing,
    sorting postings), which releases it too. On Reuters-21578 this takes the stored fields'
    encoding almost entirely off the build's critical path.
    """

    def __init__(self, path: Path, store_body: bool = True):
        """``store_body=False``: rows hold an empty body (the index's ``store_body``)."""
        self._fh = open(create_new(path), "wb")
        self.store_body = store_body
        self._sink = _BlockSink(self._fh, store_body)
        self._started = False

    def train(self, articles: Sequence[Article], total: int | None = None) -> bytes | None:
        """Train the dictionary now, as the first :meth:`write` of ``articles`` (the whole
        segment's) would, and return it: for :func:`compress_blocks` in other processes, whose
        blocks are then appended. Call before the first :meth:`write`. (``total``: the
        segment's number of articles, when ``articles`` are only its first ones.)"""
        head = articles[: BLOCK_DOCS * _BATCH_BLOCKS]
        return self.train_encoded(
            _encode_blocks(head, self.store_body), len(articles) if total is None else total
        )

    def train_encoded(self, encoded: Sequence[bytes], total: int) -> bytes | None:
        """:meth:`train` from the first blocks already encoded (:func:`encode_rows`): those
        of the first ``BLOCK_DOCS * _BATCH_BLOCKS`` articles (or all, when fewer) of a
        segment of ``total``."""
        self._started = True
        if total >= DICT_MIN_DOCS:
            self._sink.train(list(encoded[:_BATCH_BLOCKS]), total)
        return self._sink.dictionary

    @property
    def dictionary(self) -> bytes | None:
        """The dictionary the blocks were compressed with, once :meth:`finish` returned."""
        return self._sink.dictionary

    def write(self, articles: Sequence[Article]) -> None:
        """Append ``articles`` (encoded and written in the background; :meth:`finish` waits);
        every call but the last must pass a multiple of BLOCK_DOCS. A first call with at least
        DICT_MIN_DOCS articles trains the segment's dictionary on its first batch."""
        step = BLOCK_DOCS * _BATCH_BLOCKS
        train = len(articles) if not self._started and len(articles) >= DICT_MIN_DOCS else 0
        self._started = True
        for start in range(0, len(articles), step):
            self._sink.put(articles[start : start + step], train if start == 0 else 0)

    def append_compressed(self, blob: bytes, lengths: Sequence[int]) -> None:
        """Append blocks made by :func:`compress_blocks` (after everything written so far)."""
        self._started = True
        self._sink.drain()
        view = memoryview(blob)
        start = 0
        for length in lengths:
            self._sink.write_block(view[start : start + length])
            start += length

    def finish(self) -> tuple[np.ndarray, np.ndarray, dict]:
        """Flush and fsync; return block offsets, block CRC-32s and the file's size/crc."""
        self._sink.close()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        offsets = self._sink.offsets
        return (
            np.asarray(offsets, dtype=np.int64),
            np.asarray(self._sink.crcs, dtype=np.uint32),
            {"size": offsets[-1], "crc32": self._sink.crc},
        )

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._sink.close(raise_error=exc[0] is None)
        finally:
            self._fh.close()


def compress_blocks(
    articles: Sequence[Article], dictionary: bytes | None = None, store_body: bool = True
) -> tuple[bytes, list[int]]:
    """The compressed blocks of ``articles`` as one blob and the length of each block, for
    :meth:`StoreWriter.append_compressed` in another process (``dictionary``: what
    :meth:`StoreWriter.train` returned; ``store_body``: as the StoreWriter's)."""
    return compress_encoded(_encode_blocks(articles, store_body), dictionary)


def compress_encoded(
    encoded: Iterable[bytes], dictionary: bytes | None = None
) -> tuple[bytes, list[int]]:
    """:func:`compress_blocks` of blocks already encoded (:func:`encode_rows`)."""
    cctx = _compressor(dictionary)
    blocks = [cctx.compress(b) for b in encoded]
    return b"".join(blocks), [len(b) for b in blocks]


def encode_rows(rows: Sequence[list[Any]], store_body: bool = True) -> list[bytes]:
    """Stored rows (as :meth:`DocStore.iter_rows` reads them) encoded into blocks, the bytes
    :func:`compress_blocks` encodes for their articles: a merge copies rows without making
    articles of them."""
    if not store_body:
        rows = [_without_body(row) for row in rows]
    return [_encode_rows(rows[s : s + BLOCK_DOCS]) for s in range(0, len(rows), BLOCK_DOCS)]


def _encode_blocks(
    articles: Sequence[Article], store_body: bool = True, yield_gil: bool = False
) -> list[bytes]:
    blocks = []
    for start in range(0, len(articles), BLOCK_DOCS):
        blocks.append(_encode_block(articles[start : start + BLOCK_DOCS], store_body))
        if yield_gil:
            # Hand the GIL back between blocks: the writer, coming back from numpy code,
            # then waits for one block, not for a whole switch interval.
            time.sleep(0)
    return blocks


#: Blocks compressed at a time: big enough to amortize the call, small enough that little
#: waits at the end.
_BATCH_BLOCKS = 128


# No cycle check: rows are plain lists, strings and the validated extra mapping.
_ASCII_JSON = json.JSONEncoder(check_circular=False).encode


def _encode_block(articles: Sequence[Article], store_body: bool = True) -> bytes:
    return _encode_rows([_row(a) if store_body else _row_without_body(a) for a in articles])


def _encode_rows(rows: Sequence[list[Any]]) -> bytes:
    # orjson writes NaN and infinities as null and refuses ints beyond 64 bits, extra keys
    # that are str subclasses or hold lone surrogates: all valid in an article. Such a block
    # is written by json instead, whose (ASCII-escaped) output holds them all, and which
    # readers tell from orjson's by its separators (_loads).
    try:
        if not _has_float(rows, _not_finite):
            return orjson.dumps(rows)
    except orjson.JSONEncodeError:
        pass
    _check_keys(rows)
    return _ASCII_JSON(rows).encode("ascii")


def _check_keys(rows: Sequence[list[Any]]) -> None:
    """Refuse an extra key holding a surrogate pair as two code points: json writes it as two
    escapes, which every JSON reader joins into one character (Article checks the other
    strings, lone surrogates in keys are read back as written)."""
    for row in rows:
        for key in row[_EXTRA] or ():
            if not key.isascii() and _SURROGATE_PAIR.search(key):
                raise ArticleError(
                    f"article {row[0]!r}: the key {key!r} of field 'extra' holds a surrogate "
                    "pair, not the character it stands for: it cannot be stored as it is",
                    field="extra",
                )


_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _not_finite(value: float) -> bool:
    return not math.isfinite(value)


def _beyond_int64(value: float) -> bool:
    # orjson reads an int outside [-2**63, 2**64) as a float, which lands here (as do floats
    # as large: json reads those the same).
    return not -(2.0**63) < value < 2.0**63


def _has_float(rows: Sequence[Any], test: Callable[[float], bool]) -> bool:
    """Whether a row's extra mapping holds a float, alone or in a list, for which ``test`` is
    true. Extras mostly hold strings and lists of strings: a block's are checked in a few C
    calls."""
    extras = [
        r[_EXTRA] for r in rows if type(r) is list and len(r) == _WIDTH and type(r[_EXTRA]) is dict
    ]
    if not extras:
        return False
    values = list(chain.from_iterable(map(dict.values, extras)))
    kinds = set(map(type, values))
    if float in kinds and any(type(v) is float and test(v) for v in values):
        return True
    if list in kinds or tuple in kinds:
        lists = [v for v in values if type(v) in _SEQUENCES]
        try:
            "".join(chain.from_iterable(lists))  # fails on the first item not a string
        except TypeError:
            return any(type(v) is float and test(v) for v in chain.from_iterable(lists))
    return False


_SEQUENCES = frozenset({list, tuple})


def _loads(text: bytes) -> Any:
    """A block's rows, decoded by orjson where it reads them as json would."""
    try:
        rows = orjson.loads(text)
    except orjson.JSONDecodeError:
        # NaN, infinities, escaped lone surrogates: what json's blocks may hold.
        return json.loads(text)
    if not _compact(text) and type(rows) is list and _has_float(rows, _beyond_int64):
        return json.loads(text)  # json wrote it, with an int orjson read as a float
    return rows


def _compact(text: bytes) -> bool:
    """Whether a block was written by orjson: compact, where json writes ``", "`` after
    the first row's id (a quote after a backslash may be part of the id: not known)."""
    if not text.startswith(b'[["'):
        return False
    end = text.find(b'"', 3)
    return end > 0 and text[end - 1] != 0x5C and text[end + 1 : end + 3] == b',"'


def _compressor(dictionary: bytes | None) -> zstandard.ZstdCompressor:
    # Made from the dictionary's bytes in every process, so all compress alike.
    if dictionary is None:
        return zstandard.ZstdCompressor(level=_LEVEL)
    return zstandard.ZstdCompressor(
        level=_LEVEL, dict_data=zstandard.ZstdCompressionDict(dictionary)
    )


class _BlockSink:
    """Encodes, compresses and writes batches of articles, in order, on a background thread.

    An error there (a full disk) stops the writing and is raised again by :meth:`close`.
    Without the C backend's batch call (the CFFI backend lacks it), everything happens in
    the calling thread.
    """

    def __init__(self, fh: IO[bytes], store_body: bool = True):
        self._fh = fh
        self._store_body = store_body
        self.offsets = [0]
        self.crcs: list[int] = []
        self.crc = 0
        self._error: BaseException | None = None
        self._cctx = _compressor(None)
        self.dictionary: bytes | None = None
        self._threaded = zstandard.backend == "cext"
        # Unbounded: it holds references to articles already in memory, and the writer must
        # never wait on it while it has numpy work to overlap.
        self._queue: queue.Queue[tuple[Sequence[Article], int] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def put(self, articles: Sequence[Article], train: int = 0) -> None:
        """Queue ``articles`` (at most _BATCH_BLOCKS blocks) to be encoded and written
        (``train``: first train the dictionary on them, for a segment of that many
        articles; 0: do not)."""
        if self._error is not None:
            raise self._error
        if not self._threaded:
            encoded = _encode_blocks(articles, self._store_body)
            if train:
                self.train(encoded, train)
            self._write([self._cctx.compress(b) for b in encoded])
            return
        if self._thread is None:
            # Started on first use, not with the writer: analysis workers fork before this
            # process writes, and a fork should not copy a running thread.
            self._thread = threading.Thread(target=self._run, name="newsindex-store", daemon=True)
            self._thread.start()
        self._queue.put((articles, train))

    def train(self, encoded: list[bytes], total: int) -> None:
        """Train the dictionary of a segment of ``total`` articles on (a sample of)
        ``encoded`` blocks and compress with it."""
        step = max(1, len(encoded) // _DICT_SAMPLES)
        samples: list[bytes | bytearray | memoryview] = list(encoded[::step])
        size = min(_DICT_MAX_BYTES, max(_DICT_BYTES, total * _DICT_BYTES_PER_DOC))
        try:
            trained = zstandard.train_dictionary(size, samples, k=_DICT_K, d=_DICT_D, level=_LEVEL)
        except zstandard.ZstdError:  # too little or too uniform text: plain blocks then
            return
        self.dictionary = trained.as_bytes()
        self._cctx = _compressor(self.dictionary)

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
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:  # after an error, keep draining: put() never blocks
                    articles, train = item
                    encoded = _encode_blocks(articles, self._store_body, yield_gil=True)
                    if train:  # (releases the GIL: the writer's numpy work goes on)
                        self.train(encoded, train)
                    # zstandard's stub lags its C type: it asks for a List[ByteString] (which
                    # a list[bytes] is not, lists being invariant) and returns a collection
                    # it does not declare iterable, of segments it does not declare buffers.
                    compressed: Any = self._cctx.multi_compress_to_buffer(encoded, threads=1)  # type: ignore[arg-type]
                    self._write(compressed)
            except BaseException as exc:  # handed to the producer by put()/drain()/close()
                self._error = exc
            finally:
                self._queue.task_done()

    def _write(self, compressed: Iterable[bytes]) -> None:
        for block in compressed:
            self.write_block(memoryview(block))

    def write_block(self, data: bytes | memoryview) -> None:
        self._fh.write(data)
        self.crcs.append(zlib.crc32(data))
        self.crc = zlib.crc32(data, self.crc)
        self.offsets.append(self.offsets[-1] + len(data))


def _row(a: Article) -> list[Any]:
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


def _row_without_body(a: Article) -> list[Any]:
    # The same row with an empty body, so readers need not know which kind they read.
    return _without_body(_row(a))


def _without_body(row: list[Any]) -> list[Any]:
    row = list(row)
    row[_BODY] = ""
    return row


def _article(row: Sequence[Any]) -> Article:
    try:
        values = dict(zip(_FIELDS, row, strict=True))
        values["date"] = parse_date(values["date"])
        values["extra"] = values["extra"] or {}
        return Article(**values)
    except (TypeError, ValueError) as exc:
        raise IndexCorruptError(f"stored article is malformed: {exc}") from None


# python-zstandard contexts must never be used by two threads at once (a shared one
# crashes the process), and a context holds no per-file state: each thread keeps its own.
_local = threading.local()


def _decompress(data: bytes) -> bytes:
    try:
        return _local.decompress(data)
    except AttributeError:
        _local.decompress = zstandard.ZstdDecompressor().decompress
        return _local.decompress(data)


class DocStore:
    """Read side: ``get(doc)`` decompresses the block holding ``doc`` (safe to call from
    several threads at once: each thread decompresses with its own zstd context)."""

    def __init__(
        self,
        path: Path,
        block_offsets: np.ndarray,
        block_crcs: np.ndarray | None,
        dictionary: Callable[[], np.ndarray] | None = None,
    ):
        """``block_crcs``: each block's CRC-32 (None: a segment written without them);
        ``dictionary``: loads the segment's zstd dictionary (None: plain frames)."""
        self.path = path
        self._dictionary = dictionary
        self._local = threading.local()
        self._offsets = block_offsets
        if block_crcs is not None and len(block_crcs) != max(len(block_offsets) - 1, 0):
            raise IndexCorruptError(f"{path}: {len(block_crcs)} block checksums for the blocks")
        # plain-int indexing, cheaper than numpy scalars
        self._crcs = block_crcs.data if block_crcs is not None else None
        self.verified = block_crcs is not None
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: file is missing") from None
        # A refresh drops segments without closing them (an older page of hits may still load
        # articles from them): the descriptor goes when the last user lets go of this store.
        self._release = weakref.finalize(self, os.close, self._fd)
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

    def iter_rows(self, live: np.ndarray | None = None) -> Iterator[list[Any]]:
        """Every stored row (an article's fields as stored, in ``_FIELDS`` order) in doc
        order, ``live`` as in :meth:`iter_articles`; checked for the shape of a row (their
        bytes are checked by the blocks' checksums), not made articles: what a merge
        copies."""
        for block in range(len(self._offsets) - 1):
            rows = self._rows(block)
            for row in rows:
                if type(row) is not list or len(row) != len(_FIELDS):
                    raise IndexCorruptError(f"{self.path}: block {block} holds a malformed row")
                if type(row[_TITLE]) is not str or type(row[_BODY]) is not str:
                    raise IndexCorruptError(f"{self.path}: block {block} holds a malformed row")
            if live is None:
                yield from rows
            else:
                first = block * BLOCK_DOCS
                yield from compress(rows, live[first : first + len(rows)].tolist())

    def _rows(self, block: int) -> list:
        start, end = int(self._offsets[block]), int(self._offsets[block + 1])
        data = os.pread(self._fd, end - start, start)
        if self._crcs is not None and zlib.crc32(data) != self._crcs[block]:
            raise IndexCorruptError(f"{self.path}: block {block} fails its checksum")
        try:
            rows = _loads(self._decompress(data) if self._dictionary else _decompress(data))
        except (zstandard.ZstdError, ValueError):
            raise IndexCorruptError(f"{self.path}: block {block} is corrupt") from None
        if not isinstance(rows, list) or not rows or len(rows) > BLOCK_DOCS:
            raise IndexCorruptError(f"{self.path}: block {block} is corrupt")
        return rows

    def _decompress(self, data: bytes) -> bytes:
        """With the segment's dictionary: a context per thread and store (see _decompress)."""
        try:
            return self._local.decompress(data)
        except AttributeError:
            assert self._dictionary is not None
            raw = self._dictionary().tobytes()
            dctx = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(raw))
            self._local.decompress = dctx.decompress
            return self._local.decompress(data)

    def close(self) -> None:
        if self._fd >= 0:
            self._release()
            self._fd = -1
