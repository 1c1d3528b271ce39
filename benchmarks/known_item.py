"""Known-item search on a news corpus: what a ranking option does to news-style queries.

    python -m benchmarks.known_item INDEX CORPUS.jsonl.gz [--queries 500] [--seed 11]

The corpus has no judgments, so each query is three consecutive title words of a story drawn
with a fixed seed, and the story is the one right answer. Prints MRR@10 at the defaults and
with each option (proximity, RM3 feedback), and how often each option changes the top 10
and the top hit. Run with PYTHONPATH pointing at the checkout to measure.
"""

from __future__ import annotations

import argparse
import random
import re

import newsindex
from benchmarks.corpus import load_docs

_SKIP = frozenset({"the", "and", "for", "said", "says", "with"})
OPTIONS = (
    ("proximity 0.25", {"scoring": newsindex.Scoring(proximity=0.25)}),
    ("proximity 0.5", {"scoring": newsindex.Scoring(proximity=0.5)}),
    ("proximity 1", {"scoring": newsindex.Scoring(proximity=1.0)}),
    ("feedback", {"feedback": True}),
)


def known_items(corpus: str, n: int, seed: int) -> list[tuple[str, str]]:
    """(query, id of the story it was drawn from) pairs."""
    docs = load_docs(corpus)
    rng = random.Random(seed)
    out = []
    for d in rng.sample(docs, min(len(docs), 6 * n)):
        words = [
            w for w in re.findall(r"[a-z]{3,}", (d.get("title") or "").lower()) if w not in _SKIP
        ]
        if len(words) >= 3:
            start = rng.randrange(0, len(words) - 2)
            out.append((" ".join(words[start : start + 3]), str(d["id"])))
    return out[:n]


def run(ix: newsindex.Index, items, **options) -> tuple[float, list[list[str]]]:
    rr, tops = 0.0, []
    for query, target in items:
        ids = [h.id for h in ix.search(query, limit=10, **options).hits]
        tops.append(ids)
        if target in ids:
            rr += 1.0 / (ids.index(target) + 1)
    return rr / max(len(items), 1), tops


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.known_item", description=__doc__)
    ap.add_argument("index")
    ap.add_argument("corpus")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    ix = newsindex.Index.open(a.index)
    items = known_items(a.corpus, a.queries, a.seed)
    base, base_tops = run(ix, items)
    print(f"{len(items)} queries; defaults: MRR@10 {base:.4f}")
    for label, options in OPTIONS:
        mrr, tops = run(ix, items, **options)
        changed = sum(a != b for a, b in zip(tops, base_tops)) / len(items)
        first = sum(a[:1] != b[:1] for a, b in zip(tops, base_tops)) / len(items)
        print(
            f"{label}: MRR@10 {mrr:.4f} ({mrr - base:+.4f}); top 10 changed for {changed:.0%}, "
            f"top hit for {first:.0%}"
        )


if __name__ == "__main__":
    main()
