"""bm25s (numpy sparse BM25, Lucene variant) with PyStemmer's English stemmer and Lucene stop words.

bm25s has no fields and no metadata, so title and body are concatenated and filters are a numpy
mask over per-document day ordinals and section codes (``weight_mask``), stored beside the index
as .npy/JSON files (never pickle).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..corpus import doc_day, doc_text
from ..textutil import STOP_LIST
from .base import Engine, day_ordinal, version_of


class Bm25sEngine(Engine):
    name = "bm25s"
    requires = ("bm25s", "Stemmer", "numpy")

    def describe(self) -> dict:
        return {
            "engine": f"bm25s {version_of('bm25s')} (numpy backend), PyStemmer {version_of('PyStemmer')}",
            "analysis": "bm25s regex \\b\\w\\w+\\b (drops 1-char tokens), lowercase, Lucene 33 stop "
            "words, PyStemmer english (Porter2); title + body concatenated into one text",
            "scoring": f"BM25 method='lucene' k1={self.k1} b={self.b}; single field (no title weight)",
            "filters": "numpy boolean mask (day ordinal range & section code) passed as weight_mask",
            "stored": "id, day, section arrays",
            "threads": "single-threaded (n_threads=0)",
        }

    def _stemmer(self):
        import Stemmer

        return Stemmer.Stemmer("english")

    def build(self, docs: Iterable[dict], workdir: Path) -> dict:
        import bm25s
        import numpy as np

        self.workdir = Path(workdir)
        ids, days, sections, texts = [], [], [], []
        for doc in docs:
            title, body = doc_text(doc)
            ids.append(str(doc["id"]))
            days.append(day_ordinal(doc_day(doc)))
            sections.append(doc.get("section"))
            texts.append(f"{title}\n{body}")
        tokens = bm25s.tokenize(
            texts, stopwords=STOP_LIST, stemmer=self._stemmer(), show_progress=False
        )
        retriever = bm25s.BM25(method="lucene", k1=self.k1, b=self.b)
        retriever.index(tokens, show_progress=False)
        retriever.save(str(self.workdir / "bm25s"), show_progress=False)
        names = sorted({s for s in sections if s})
        code = {s: i for i, s in enumerate(names)}
        np.save(self.workdir / "days.npy", np.asarray(days, dtype=np.int32), allow_pickle=False)
        np.save(
            self.workdir / "sections.npy",
            np.asarray([code.get(s, -1) if s else -1 for s in sections], dtype=np.int32),
            allow_pickle=False,
        )
        (self.workdir / "meta.json").write_text(json.dumps({"ids": ids, "sections": names}))
        return {"docs": len(ids)}

    def open(self, workdir: Path) -> None:
        import bm25s
        import numpy as np

        self.workdir = Path(workdir)
        self.retriever = bm25s.BM25.load(str(self.workdir / "bm25s"), show_progress=False)
        meta = json.loads((self.workdir / "meta.json").read_text())
        self.ids = meta["ids"]
        self.section_code = {s: i for i, s in enumerate(meta["sections"])}
        self.days = np.load(self.workdir / "days.npy", allow_pickle=False)
        self.sections = np.load(self.workdir / "sections.npy", allow_pickle=False)
        self.stemmer = self._stemmer()

    def _retrieve(self, query: str, k: int, mask=None) -> list[str]:
        import bm25s

        tokens = bm25s.tokenize(
            [query],
            stopwords=STOP_LIST,
            stemmer=self.stemmer,
            return_ids=False,
            show_progress=False,
        )
        if not tokens or not tokens[0]:
            return []
        k = min(k, len(self.ids))
        docs, scores = self.retriever.retrieve(
            tokens, k=k, show_progress=False, n_threads=0, weight_mask=mask
        )
        # bm25s pads the top-k with zero-score documents; other engines return only matches.
        return [self.ids[d] for d, s in zip(docs[0], scores[0]) if s > 0]

    def search(self, query: str, k: int) -> list[str]:
        return self._retrieve(query, k)

    def search_filtered(self, query, k, date_from, date_to, section) -> list[str]:
        import numpy as np

        mask = np.ones(len(self.ids), dtype=bool)
        if date_from:
            mask &= self.days >= date_from.toordinal()
        if date_to:
            mask &= self.days <= date_to.toordinal()
        if section:
            mask &= self.sections == self.section_code.get(section, -2)
        if not mask.any():
            return []
        return self._retrieve(query, k, mask.astype(np.float32))

    def close(self) -> None:
        self.retriever = None
