"""rank_bm25 (pure Python BM25Okapi): scores every document per query, so small corpora only.

rank_bm25 has no analysis and no persistence. Tokens come from the same analysis as bm25s
(regex words, Lucene stop words, PyStemmer English); "build" tokenizes, fits and writes the
tokens as gzipped JSON lines, and "open" reads them back and fits BM25Okapi again, which is
the only way to reopen a rank_bm25 index without pickle.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from pathlib import Path

from ..corpus import doc_day, doc_text
from ..textutil import LUCENE_STOP_WORDS
from .base import Engine, day_ordinal, version_of

_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default pattern, so both see the same terms
MAX_DOCS = 20_000


class RankBm25Engine(Engine):
    name = "rank-bm25"
    requires = ("rank_bm25", "Stemmer", "numpy")
    max_docs = MAX_DOCS

    def describe(self) -> dict:
        return {
            "engine": f"rank_bm25 {version_of('rank-bm25')} (BM25Okapi), PyStemmer {version_of('PyStemmer')}",
            "analysis": "regex \\b\\w\\w+\\b, lowercase, Lucene 33 stop words, PyStemmer english "
            "(Porter2); title + body concatenated",
            "scoring": f"BM25Okapi k1={self.k1} b={self.b} epsilon=0.25 (negative idf floored)",
            "filters": "numpy mask over the full score vector",
            "stored": "token lists (gzipped JSON) + id, day, section",
            "threads": "single-threaded",
        }

    def _analyze(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in LUCENE_STOP_WORDS]
        return self.stemmer.stemWords(words)

    def _fit(self, corpus_tokens):
        from rank_bm25 import BM25Okapi

        return BM25Okapi(corpus_tokens, k1=self.k1, b=self.b)

    def build(self, docs: Iterable[dict], workdir: Path) -> dict:
        import Stemmer

        self.workdir = Path(workdir)
        self.stemmer = Stemmer.Stemmer("english")
        path = self.workdir / "tokens.jsonl.gz"
        n = 0
        corpus = []
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
            for doc in docs:
                title, body = doc_text(doc)
                tokens = self._analyze(f"{title}\n{body}")
                corpus.append(tokens)
                day = day_ordinal(doc_day(doc))
                row = {"id": str(doc["id"]), "day": day, "section": doc.get("section"), "t": tokens}
                out.write(json.dumps(row) + "\n")
                n += 1
        self._fit(corpus)  # part of the build cost: the index *is* the fitted model
        return {"docs": n}

    def open(self, workdir: Path) -> None:
        import numpy as np
        import Stemmer

        self.workdir = Path(workdir)
        self.stemmer = Stemmer.Stemmer("english")
        ids, days, sections, corpus = [], [], [], []
        with gzip.open(self.workdir / "tokens.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                ids.append(row["id"])
                days.append(row["day"])
                sections.append(row["section"])
                corpus.append(row["t"])
        self.ids = ids
        self.days = np.asarray(days, dtype=np.int32)
        self.sections = np.asarray([s or "" for s in sections], dtype=object)
        self.bm25 = self._fit(corpus)

    def _top(self, scores, k: int) -> list[str]:
        import numpy as np

        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [self.ids[i] for i in top if scores[i] > 0]

    def search(self, query: str, k: int) -> list[str]:
        tokens = self._analyze(query)
        if not tokens:
            return []
        return self._top(self.bm25.get_scores(tokens), k)

    def search_filtered(self, query, k, date_from, date_to, section) -> list[str]:
        import numpy as np

        tokens = self._analyze(query)
        if not tokens:
            return []
        mask = np.ones(len(self.ids), dtype=bool)
        if date_from:
            mask &= self.days >= date_from.toordinal()
        if date_to:
            mask &= self.days <= date_to.toordinal()
        if section:
            mask &= self.sections == section
        scores = np.where(mask, self.bm25.get_scores(tokens), 0.0)
        return self._top(scores, k)

    def close(self) -> None:
        self.bm25 = None
