"""newsindex itself, through its public API only (``Index.create/open``, ``writer``, ``search``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .base import Engine, version_of

SUBDIR = "newsindex"


def _quote(value: str) -> str:
    """A section value as a query-language token: bare when it is a plain word, else quoted."""
    if value.replace("-", "").replace("_", "").isalnum():
        return value
    return '"' + value.replace('"', "") + '"'


class NewsindexEngine(Engine):
    name = "newsindex"
    # newsindex imports its stemmer on first use (so opening an index stays ~1 ms); like the
    # peers' stemmer libraries, that import is start-up cost when indexing and timed as
    # import_s. A search process needs it only for words no indexed story contains (segments
    # keep what analysis made of every word they hold), so it is not imported up front there:
    # if a query needs it, the warm-up pass pays for it.
    requires = ("newsindex", "newsindex.analysis.snowball")
    search_requires = ("newsindex",)
    supports_phrase = True

    def __init__(
        self,
        k1=None,
        b=None,
        title_weight=None,
        scoring=None,
        workers: int = 1,
        cache_mb: int | None = None,
    ):
        # None means "newsindex's own defaults": the point of the benchmark is to measure what a
        # user gets out of the box. Explicit values become a newsindex.Scoring (used by tune.py).
        # workers=1, the writer's default (every peer indexes with one thread);
        # ``--newsindex-workers`` measures the opt-in forked writer.
        super().__init__(k1, b, title_weight)
        self.workers = workers
        # None: newsindex's default term-array cache; ``--newsindex-cache-mb`` measures others.
        self.cache_mb = cache_mb
        self.scoring = scoring
        if scoring is None and any(v is not None for v in (k1, b, title_weight)):
            import newsindex

            kwargs = {}
            if k1 is not None:
                kwargs["k1"] = k1
            if b is not None:
                kwargs["b"] = b
            if title_weight is not None:
                kwargs["weights"] = {"title": title_weight, "body": 1.0}
            self.scoring = newsindex.Scoring(**kwargs)
        self.ix = None

    def describe(self) -> dict:
        info = {
            "engine": f"newsindex {version_of('newsindex')}",
            "analysis": "newsindex default analyzer (Unicode word tokenizer, accent folding, "
            "Lucene 33 stop words, Snowball English stemmer); fields title + body",
            "scoring": "BM25F, newsindex defaults"
            if self.scoring is None
            else f"BM25F {self.scoring!r}",
            "filters": "query language: date:FROM..TO section:NAME",
            "stored": "full documents (for snippets and display)",
            "threads": f"writer workers={self.workers}, plus a thread that encodes and compresses "
            "stored fields (as tantivy's store writer compresses on its own thread); "
            "single-threaded search; count=False (top-k only, as tantivy's)",
        }
        if self.cache_mb is not None:
            info["cache"] = f"Index.open(cache_mb={self.cache_mb})"
        if self.ix is not None:
            d = self.ix.settings.to_dict()
            info["analysis"] = f"analyzers {d.get('analyzers')}; fields title + body"
            if self.scoring is None:
                info["scoring"] = f"BM25F defaults {d.get('scoring')}"
        return info

    def build(self, docs: Iterable[dict], workdir: Path) -> dict:
        import newsindex

        self.workdir = Path(workdir)
        ix = newsindex.Index.create(str(self.workdir / SUBDIR))
        n = 0
        with ix.writer(workers=self.workers) as w:
            for doc in docs:
                w.add(doc)
                n += 1
        ix.close()
        return {"docs": n}

    def open(self, workdir: Path) -> None:
        import newsindex

        self.workdir = Path(workdir)
        self.ix = newsindex.Index.open(str(self.workdir / SUBDIR), cache_mb=self.cache_mb)

    def _search(self, text: str, k: int, plain: bool):
        # Only the hits are asked for, as the tantivy engine asks (count=False): the harness
        # never reads the total.
        kwargs = {"limit": k, "count": False}
        if self.scoring is not None:
            kwargs["scoring"] = self.scoring
        return self.ix.search(text, syntax="plain" if plain else "query", **kwargs)

    def search(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return [str(h.id) for h in self._search(query, k, plain=True).hits]

    def search_filtered(self, query, k, date_from, date_to, section) -> list[str]:
        if not query.strip():
            return []
        parts = [query]
        if date_from or date_to:
            lo = date_from.isoformat() if date_from else ""
            hi = date_to.isoformat() if date_to else ""
            parts.append(f"date:{lo}..{hi}")
        if section:
            parts.append(f"section:{_quote(section)}")
        return [str(h.id) for h in self._search(" ".join(parts), k, plain=False).hits]

    def search_phrase(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return [str(h.id) for h in self._search(f'"{query}"', k, plain=False).hits]

    def close(self) -> None:
        if self.ix is not None:
            self.ix.close()
        self.ix = None
