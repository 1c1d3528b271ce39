"""Generated commit histories for tests that hold an index's arrays or statistics to a brute
force over its stored articles: commits of (articles, ids deleted) over a small pool of ids
(so replacements, and segments with and without deletions), words of Zipf-like frequencies
(so terms in one story and in hundreds), and whether to optimize at the end."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import strategies as st

import newsindex


@st.composite
def histories(draw, words: int = 40, max_commit: int = 400, max_pool: int = 600):
    rng = random.Random(draw(st.integers(0, 2**32)))
    vocab = [f"w{i}" for i in range(words)]
    pool = draw(st.integers(3, max_pool))
    out = []
    for size in draw(st.lists(st.integers(1, max_commit), min_size=1, max_size=4)):
        docs = []
        for _ in range(size):
            text = [vocab[min(int(rng.paretovariate(0.7)) - 1, words - 1)] for _ in range(12)]
            docs.append(
                {
                    "id": f"d{rng.randrange(pool)}",
                    "title": " ".join(text[: rng.randint(0, 3)]),
                    "body": " ".join(text[3 : rng.randint(3, 12)]),
                    "date": f"2016-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                }
            )
        gone = [f"d{rng.randrange(pool)}" for _ in range(draw(st.integers(0, 30)))]
        out.append((docs, gone))
    return out, draw(st.booleans())


def replay(folder: Path, history) -> newsindex.Index:
    """A new index at ``folder`` holding ``history`` (refreshed to its last commit)."""
    commits, optimize = history
    ix = newsindex.Index.create(folder)
    for docs, gone in commits:
        with ix.writer() as w:
            for doc in docs:
                w.add(doc)
            for doc_id in gone:
                w.delete(doc_id)
    if optimize:
        ix.optimize()
    ix.refresh()
    return ix
