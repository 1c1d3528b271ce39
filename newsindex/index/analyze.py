"""Analysis of a batch of articles into term ids, optionally split across forked processes.

Tokenizing and stemming are the one part of indexing that runs Python per token, so on a
multi-core POSIX machine the batch is split: forked workers analyze the tail of the batch
while this process analyzes the head. A fork inherits the vocabulary, so the ids it already
knows agree; only terms new to a worker are sent back by name and remapped. Results travel
as raw numpy arrays and JSON (plain data, no pickle).
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
from typing import Callable, Mapping, Sequence

import numpy as np

from ..analysis import Analyzer
from ..analysis.vocab import Vocabulary
from ..article import Article
from ..schema import TEXT_FIELDS

#: Below this many articles a fork costs more than it saves.
MIN_PARALLEL_DOCS = 4000
#: With a side task, this process analyzes this fraction of an equal share (measured on
#: Reuters-21578: writing stored fields costs about a third of analyzing an equal share).
SIDE_TASK_SHARE = 0.6


def default_workers() -> int:
    if sys.platform == "win32" or not hasattr(os, "fork"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def analyze(
    articles: Sequence[Article],
    analyzers: Mapping[str, Analyzer],
    vocab: Vocabulary,
    workers: int = 1,
    side_task: Callable[[], object] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per text field: (term ids of every token, -1 for dropped ones; token count per doc).

    ``side_task`` (e.g. writing the stored fields) runs in this process while the workers
    analyze, so its share of the batch is made smaller to keep every core busy.
    """
    n = len(articles)
    if workers <= 1 or n < MIN_PARALLEL_DOCS:
        if side_task:
            side_task()
        return _analyze_serial(articles, analyzers, vocab)
    head = 1.0 / workers * (SIDE_TASK_SHARE if side_task else 1.0)
    bounds = np.concatenate(([0], np.linspace(head * n, n, workers))).astype(int)
    base = len(vocab)
    children = []
    for w in range(1, workers):
        chunk = articles[bounds[w] : bounds[w + 1]]
        child = _fork(chunk, analyzers, vocab, base)
        if child is None:  # fork failed: do the rest here
            for pid, fd in children:
                _collect(pid, fd, vocab, base)
            if side_task:
                side_task()
            return _analyze_serial(articles, analyzers, vocab)
        children.append(child)
    parts = [_analyze_serial(articles[: bounds[1]], analyzers, vocab)]
    if side_task:
        side_task()
    for pid, fd in children:
        parts.append(_collect(pid, fd, vocab, base))
    return [
        (np.concatenate([p[fi][0] for p in parts]), np.concatenate([p[fi][1] for p in parts]))
        for fi in range(len(TEXT_FIELDS))
    ]


def _analyze_serial(articles, analyzers, vocab):
    out = []
    ids_of = vocab.ids
    for fname in TEXT_FIELDS:
        analyzer = analyzers[fname]
        flat: list[int] = []
        counts = np.empty(len(articles), dtype=np.int64)
        for d, article in enumerate(articles):
            token_ids = ids_of(getattr(article, fname), analyzer)
            flat.extend(token_ids)
            counts[d] = len(token_ids)
        out.append((np.array(flat, dtype=np.int32), counts))
    return out


def _fork(chunk, analyzers, vocab, base):
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
            parts = _analyze_serial(chunk, analyzers, vocab)
            buf = io.BytesIO()
            new_terms = json.dumps(vocab.terms[base:]).encode("utf-8")
            buf.write(struct.pack("<Q", len(new_terms)))
            buf.write(new_terms)
            for ids, counts in parts:
                np.save(buf, ids, allow_pickle=False)
                np.save(buf, counts, allow_pickle=False)
            with os.fdopen(write_fd, "wb") as out:
                out.write(buf.getbuffer())
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _collect(pid, fd, vocab, base):
    with os.fdopen(fd, "rb") as inp:
        data = inp.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"analysis worker {pid} failed (status {status})")
    buf = io.BytesIO(data)
    (length,) = struct.unpack("<Q", buf.read(8))
    new_terms = json.loads(buf.read(length))
    remap = np.fromiter((vocab.term_id(t) for t in new_terms), dtype=np.int32, count=len(new_terms))
    parts = []
    for _ in TEXT_FIELDS:
        ids = np.load(buf, allow_pickle=False)
        counts = np.load(buf, allow_pickle=False)
        fresh = ids >= base
        ids[fresh] = remap[ids[fresh] - base]
        parts.append((ids, counts))
    return parts
