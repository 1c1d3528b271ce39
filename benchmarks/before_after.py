"""Phase timings of one process, for before/after comparisons of a change.

    python benchmarks/before_after.py INDEX CORPUS.jsonl.gz

Imports newsindex, opens INDEX, draws 200 queries (up to three title words of stories drawn
with a fixed seed from CORPUS), then runs one pass of: those queries top-10 loading each hit's
title, 100 of them sorted by date, 100 two-word phrases. Prints the import time, the open
time, the first (cold) pass and the median of three further (warm) passes, in ms; and the
same four kinds warm, one by one. Run it with PYTHONPATH pointing at each checkout, in turn.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
import time
from collections.abc import Callable

started = time.perf_counter()
import newsindex  # noqa: E402

imported = time.perf_counter()


def _queries(corpus: str, n: int = 200, seed: int = 7) -> list[str]:
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        titles = [json.loads(line).get("title") or "" for line in fh]
    rng = random.Random(seed)
    out = []
    for title in rng.sample(titles, 3 * n):
        words = re.findall(r"[a-z]{3,}", title.lower())[:3]
        if words:
            out.append(" ".join(words))
    return out[:n]


def _median_ms(run: Callable[[], None], times: int = 3) -> float:
    spans = []
    for _ in range(times):
        t = time.perf_counter()
        run()
        spans.append(time.perf_counter() - t)
    return 1000 * sorted(spans)[times // 2]


def main() -> None:
    index_path, corpus = sys.argv[1], sys.argv[2]
    ix = newsindex.Index.open(index_path)
    opened = time.perf_counter()
    queries = _queries(corpus)

    def top10() -> None:
        for q in queries:
            ix.search(q, limit=10)

    def articles() -> None:
        for q in queries:
            for hit in ix.search(q, limit=10).hits:
                _ = hit.article.title

    def by_date() -> None:
        for q in queries[:100]:
            ix.search(q, limit=10, sort="date")

    def phrases() -> None:
        for q in queries[:100]:
            ix.search('"' + " ".join(q.split()[:2]) + '"', limit=10)

    def everything() -> None:
        articles()
        by_date()
        phrases()

    t = time.perf_counter()
    everything()
    cold = 1000 * (time.perf_counter() - t)
    warm = _median_ms(everything)
    kinds = {f.__name__: _median_ms(f, 5) for f in (top10, articles, by_date, phrases)}
    print(
        f"import {1000 * (imported - started):.0f} ms, open {1000 * (opened - imported):.1f} ms, "
        f"cold pass {cold:.0f} ms, warm pass {warm:.0f} ms; warm by kind: "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in kinds.items())
    )


if __name__ == "__main__":
    main()
