"""Analysis of a batch of articles into term ids, optionally split across forked processes.

With ``workers > 1`` (POSIX, opt-in) the batch is split: forked workers analyze the tail of
the batch (and encode and compress its stored fields) while this process does the same for
the head. A fork inherits the vocabulary, so the ids it already knows agree; only terms new
to a worker are sent back by name and remapped. Results travel as raw numpy arrays, JSON and compressed
blocks (plain data, no pickle).
"""

from __future__ import annotations

import io
import json
import os
import struct
from collections.abc import Mapping, Sequence
from itertools import islice

import numpy as np

from ..analysis import Analyzer
from ..analysis.vocab import Vocabulary
from ..article import Article
from ..errors import AnalysisWorkerError
from ..schema import TEXT_FIELDS
from .docstore import BLOCK_DOCS, StoreWriter, compress_blocks

#: Below this many articles a fork costs more than it saves.
MIN_PARALLEL_DOCS = 4000

#: Per text field: (term ids of every token, token count per doc).
Analyzed = list[tuple[np.ndarray, np.ndarray]]


def analyze(
    articles: Sequence[Article],
    analyzers: Mapping[str, Analyzer],
    vocab: Vocabulary,
    store: StoreWriter,
    workers: int = 1,
) -> Analyzed:
    """Per text field: (term ids of every token, -1 for dropped ones; token count per doc).

    The articles' stored fields are written to ``store`` too: each worker encodes and
    compresses its own part, which this process appends in order.
    """
    n = len(articles)
    if workers <= 1 or n < MIN_PARALLEL_DOCS or not hasattr(os, "fork"):
        store.write(articles)
        return _analyze_serial(articles, analyzers, vocab)
    # Equal parts (each process analyzes and compresses its own; measured on Reuters-21578,
    # this process's extra work of collecting is about what the workers spend sending),
    # starting on block boundaries so each part's stored blocks are whole blocks.
    cuts = np.arange(1, workers) * n // workers // BLOCK_DOCS * BLOCK_DOCS
    bounds = [0, *cuts.tolist(), n]
    base = len(vocab)
    dictionary = store.train(articles)  # before the fork: every worker compresses with it
    children: list[tuple[int, int]] = []
    for w in range(1, workers):
        child = _fork(
            articles[bounds[w] : bounds[w + 1]],
            analyzers,
            vocab,
            base,
            dictionary,
            store.store_body,
        )
        if child is None:  # fork failed: do the rest here
            for pid, fd in children:
                _collect(pid, fd, vocab, base, analyzers)
            store.write(articles)
            return _analyze_serial(articles, analyzers, vocab)
        children.append(child)
    head = articles[: bounds[1]]
    parts = [_analyze_serial(head, analyzers, vocab)]
    store.write(head)
    for pid, fd in children:
        analyzed, (blob, lengths) = _collect(pid, fd, vocab, base, analyzers)
        parts.append(analyzed)
        store.append_compressed(blob, lengths)
    return [
        (np.concatenate([p[fi][0] for p in parts]), np.concatenate([p[fi][1] for p in parts]))
        for fi in range(len(TEXT_FIELDS))
    ]


def _analyze_serial(
    articles: Sequence[Article], analyzers: Mapping[str, Analyzer], vocab: Vocabulary
) -> Analyzed:
    return [
        vocab.batch_ids([getattr(a, fname) for a in articles], analyzers[fname])
        for fname in TEXT_FIELDS
    ]


def _fork(
    chunk: Sequence[Article],
    analyzers: Mapping[str, Analyzer],
    vocab: Vocabulary,
    base: int,
    dictionary: bytes | None,
    store_body: bool,
) -> tuple[int, int] | None:
    """Start a worker on ``chunk``: (its pid, the read end of its pipe), or None."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # worker
        status = 1
        try:
            os.close(read_fd)
            caches = _surface_caches(analyzers, vocab)
            known = [len(cache) for cache in caches.values()]
            parts = _analyze_serial(chunk, analyzers, vocab)
            blob, lengths = compress_blocks(chunk, dictionary, store_body)
            # The surface tokens this worker analyzed first go back too: the writer remembers
            # them (no second stemming in a later batch) and the segment stores them.
            tokens = {
                field: list(islice(cache.items(), n, None))
                for (field, cache), n in zip(caches.items(), known)
            }
            meta = {"terms": vocab.terms[base:], "blocks": lengths, "tokens": tokens}
            header = json.dumps(meta).encode("utf-8")
            buf = io.BytesIO()
            buf.write(struct.pack("<Q", len(header)))
            buf.write(header)
            for ids, counts in parts:
                np.save(buf, ids, allow_pickle=False)
                np.save(buf, counts, allow_pickle=False)
            buf.write(blob)
            with os.fdopen(write_fd, "wb") as out:
                out.write(buf.getbuffer())
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _surface_caches(
    analyzers: Mapping[str, Analyzer], vocab: Vocabulary
) -> dict[str, dict[str, int]]:
    """One token cache per distinct analyzer, named by the first field using it."""
    caches: dict[str, dict[str, int]] = {}
    seen = set()
    for field in TEXT_FIELDS:
        spec = analyzers[field].spec
        if spec not in seen:
            seen.add(spec)
            caches[field] = vocab.surface(spec)
    return caches


def _collect(
    pid: int, fd: int, vocab: Vocabulary, base: int, analyzers: Mapping[str, Analyzer]
) -> tuple[Analyzed, tuple[bytes, list[int]]]:
    """Wait for worker ``pid``; read what it sent on ``fd``, its new term ids remapped."""
    with os.fdopen(fd, "rb") as inp:
        data = inp.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise AnalysisWorkerError(f"analysis worker {pid} failed (status {status})")
    buf = io.BytesIO(data)
    (length,) = struct.unpack("<Q", buf.read(8))
    header = json.loads(buf.read(length))
    new_terms = header["terms"]
    remap = np.fromiter((vocab.term_id(t) for t in new_terms), dtype=np.int32, count=len(new_terms))
    caches = _surface_caches(analyzers, vocab)
    for field, pairs in header["tokens"].items():
        cache = caches[field]
        for token, tid in pairs:
            cache.setdefault(token, int(remap[tid - base]) if tid >= base else tid)
    parts: Analyzed = []
    for _ in TEXT_FIELDS:
        ids = np.load(buf, allow_pickle=False)
        counts = np.load(buf, allow_pickle=False)
        fresh = ids >= base
        ids[fresh] = remap[ids[fresh] - base]
        parts.append((ids, counts))
    blob = buf.read()
    return parts, (blob, header["blocks"])
