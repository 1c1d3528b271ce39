"""Seeded synthetic corpora for scale tests, built from a real one and labelled as synthetic.

Each synthetic article takes a real title, a body of real sentences drawn at random from the
whole source corpus (as many as a randomly drawn real article has), and the date, source,
section and author of another randomly drawn real article. So the vocabulary, term frequencies,
document lengths and metadata distributions follow the real corpus, while the documents are new.
Output is streamed to docs.jsonl.gz, with a ``<name>.meta.json`` sidecar saying it is synthetic.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

from .corpus import corpus_tag, iter_docs

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SPACE = re.compile(r"\s+")


def sentences(text: str) -> list[str]:
    """Split a body into sentences (a period/!/? followed by space and a capital or digit)."""
    text = _SPACE.sub(" ", text).strip()
    return [s for s in _SENTENCE_END.split(text) if s] if text else []


class SentencePool:
    """What the generator samples from: sentences, per-article sentence counts, titles, metadata."""

    def __init__(self, source: Path | str, limit: int | None = None):
        self.sentences: list[str] = []
        self.counts: list[int] = []
        self.titles: list[str] = []
        self.meta: list[tuple] = []
        for doc in iter_docs(source, limit):
            sents = sentences(doc.get("body") or "")
            self.sentences.extend(sents)
            self.counts.append(len(sents))
            self.titles.append(doc.get("title") or "")
            self.meta.append(
                (doc.get("date"), doc.get("source"), doc.get("section"), doc.get("author"))
            )
        if not self.sentences:
            raise ValueError(f"no sentences found in {source}")

    def make(self, rng: random.Random, i: int, prefix: str) -> dict:
        date, source, section, author = self.meta[rng.randrange(len(self.meta))]
        n = self.counts[rng.randrange(len(self.counts))]
        pool = self.sentences
        body = " ".join(pool[rng.randrange(len(pool))] for _ in range(n))
        return {
            "id": f"{prefix}{i:08d}",
            "title": self.titles[rng.randrange(len(self.titles))],
            "body": body,
            "date": date,
            "source": source,
            "section": section,
            "author": author,
            "url": None,
            "extra": {"synthetic": True},
        }


def generate(
    source: Path | str, n_docs: int, out: Path | str, seed: int = 1, level: int = 4
) -> dict:
    """Write ``n_docs`` synthetic articles to ``out`` (docs.jsonl.gz) and its meta sidecar."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pool = SentencePool(source)
    rng = random.Random(seed)
    prefix = "syn"
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=level) as fh:
        for i in range(n_docs):
            fh.write(json.dumps(pool.make(rng, i, prefix)) + "\n")
    meta = {
        "synthetic": True,
        "source": str(source),
        "source_tag": corpus_tag(source),
        "docs": n_docs,
        "seed": seed,
        "method": "real titles; bodies of real sentences sampled uniformly from the source "
        "(sentence count of a random real article); date/source/section/author of a random real article",
        "sentences_in_pool": len(pool.sentences),
    }
    out.with_name(corpus_tag(out) + ".meta.json").write_text(json.dumps(meta, indent=1))
    return meta
