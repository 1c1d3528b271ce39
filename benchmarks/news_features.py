"""The cost of the news features beside a plain search: related stories, recency.

Usage (from the repository root)::

    python benchmarks/news_features.py [--corpus PATH] [--stories 200] [--runs 3] [--json]

Indexes the corpus (default: Reuters-21578, ``../shared/data/reuters21578/docs.jsonl.gz``;
the bundled sample if that is missing) into a temporary folder, then times, for
``--stories`` stories picked with a fixed seed, each the median of ``--runs`` passes:

- ``search``: a plain search for the story's title (``syntax="plain"``), the baseline;
- ``search_recency``: the same with ``recency="30d"`` (every match's score decayed);
- ``like_query``: choosing the story's distinctive terms (read, analyze, tf-idf);
- ``more_like_this``: the whole related-stories search, limit 10.

Prints the median and 95th percentile per story in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # standalone: run without installing the package

from benchmarks.corpus import load_docs  # noqa: E402
from newsindex import Index  # noqa: E402

REUTERS = REPO.parent / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"
SAMPLE = REPO / "newsindex" / "data" / "reuters-sample.jsonl.gz"


def _time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def measure(corpus: Path, stories: int, runs: int) -> dict:
    docs = load_docs(corpus)
    with tempfile.TemporaryDirectory() as tmp:
        ix = Index.create(Path(tmp) / "idx")
        with ix.writer() as w:
            for d in docs:
                w.add(d)
        picked = random.Random(7).sample([d for d in docs if d.get("title")], stories)
        for d in picked[:20]:  # warm the snapshot's caches as a long-lived process has them
            ix.more_like_this(d["id"])
        cases: dict[str, Callable[[dict], Callable[[], object]]] = {
            "search": lambda d: lambda: ix.search(d["title"], syntax="plain"),
            "search_recency": lambda d: (
                lambda: ix.search(d["title"], syntax="plain", recency="30d")
            ),
            "like_query": lambda d: lambda: ix.like_query(d["id"]),
            "more_like_this": lambda d: lambda: ix.more_like_this(d["id"]),
        }
        figures = {}
        for name, make in cases.items():
            per_story = sorted(_time(make(d), runs) for d in picked)
            figures[name] = {
                "median_ms": round(statistics.median(per_story), 3),
                "p95_ms": round(per_story[int(0.95 * (len(per_story) - 1))], 3),
            }
        ix.close()
    return {
        "corpus": str(corpus),
        "docs": len(docs),
        "stories": stories,
        "runs": runs,
        "python": platform.python_version(),
        "figures": figures,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=REUTERS if REUTERS.exists() else SAMPLE)
    p.add_argument("--stories", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = measure(args.corpus, args.stories, args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['docs']:,} docs from {result['corpus']}; {args.stories} stories")
    for name, f in result["figures"].items():
        print(f"{name:>15}: median {f['median_ms']:8.3f} ms   p95 {f['p95_ms']:8.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
