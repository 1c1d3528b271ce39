"""One shard held open for searches: the phases of a scatter-gather query on its side.

A :class:`Shard` answers in plain data (tuples, lists, dicts, numpy arrays, articles), so the
same object serves a search in this process and, held in a Dask actor, on a worker.

The phases, as Elasticsearch's ``dfs_query_then_fetch``: when a commit is opened each shard
reports its live documents and field length sums (:meth:`Shard.corpus`), the coordinator sums
them and gives every shard the whole (:meth:`Shard.use_corpus`); per query, each shard reports
the df of the query's terms (:meth:`Shard.dfs`), then scores with the summed dfs and returns
its best ``offset + limit`` (:meth:`Shard.top`), which the coordinator merges.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..article import Article
from ..config import Scoring
from ..index import manifest as mf
from ..index.segment import Segment
from ..querylang import plan as P
from ..results.facets import count_facets
from ..search.recency import Recency
from ..search.scoring import Explanation
from ..search.searcher import Corpus, Dfs, Searcher
from ..search.topk import select

#: One hit as a shard returns it: (segment index, doc, score, day, id).
ShardPick = tuple[int, int, float, int, str]
#: Raw facet counts: per keyword field value -> articles; the distinct days and their counts.
RawFacets = tuple[dict[str, Counter[str]], np.ndarray, np.ndarray]


class Shard:
    """Shard ``folder`` at commit ``generation`` (what a cluster manifest names)."""

    def __init__(self, folder: str, generation: int):
        self.folder = Path(folder)
        self.generation = generation
        self.manifest = mf.read(self.folder, generation)
        self.segments: list[Segment] = []
        try:
            for entry in self.manifest.segments:
                self.segments.append(Segment(self.folder, entry))
        except BaseException:
            self.close()
            raise
        self.searcher = Searcher(self.segments)

    def corpus(self) -> Corpus:
        return self.searcher.local

    def use_corpus(self, corpus: Corpus) -> None:
        """Score as part of ``corpus`` (the sum of every shard's :meth:`corpus`)."""
        self.searcher = Searcher(self.segments, Corpus(corpus[0], tuple(corpus[1])))

    def settings(self) -> dict:
        return dict(self.manifest.settings)

    # -- planning helpers ---------------------------------------------------------------------
    def expand_prefix(self, prefix: str, limit: int, fields: tuple[str, ...]) -> list[str]:
        found: set[str] = set()
        for seg in self.segments:
            lo, hi = seg.terms.prefix_range(prefix)
            found.update(seg.terms[i] for i in range(lo, min(hi, lo + limit * 10)))
        return sorted(found)

    def stem_of(self, field: str, spec: dict, word: str) -> str | None:
        for seg in self.segments:
            term = seg.stem_of(field, spec, word)
            if term is not None:
                return term
        return None

    def keyword_values(self, kname: str) -> list[str]:
        return sorted({v for seg in self.segments for v in seg.keyword_values(kname)})

    # -- the query phases ---------------------------------------------------------------------
    def dfs(
        self, terms: list[tuple[str, tuple[int, ...]]]
    ) -> dict[tuple[str, tuple[int, ...]], int]:
        """This shard's df of each ``(term, field indices)``."""
        return {(t, f): self.searcher.term_stats(t, f)[1] for t, f in terms}

    def top(
        self,
        node: P.Node,
        scoring: Scoring,
        dfs: Dfs,
        k: int,
        sort: str,
        decay: Recency | None,
        facets: bool,
    ) -> tuple[list[ShardPick], int, RawFacets | None]:
        """This shard's best ``k`` matches in ``sort`` order, its match count and (asked) its
        raw facet counts, scored with the collection's statistics."""
        matches = self.searcher.execute(node, scoring, dfs=dfs)
        if decay is not None:
            matches = decay.apply(matches, self.segments)
        raw = None
        if facets:
            matches = list(matches)  # type: ignore[assignment]
            keyword, days = count_facets(self.segments, matches)
            values, counts = np.unique(days, return_counts=True)
            raw = (keyword, values, counts)
        picked, total = select(matches, self.segments, k, sort)
        ids = [seg.ids for seg in self.segments]
        return [(si, doc, score, day, ids[si][doc]) for si, doc, score, day in picked], total, raw

    def count(self, node: P.Node, scoring: Scoring) -> int:
        return sum(len(m.docs) for _, m in self.searcher.execute(node, scoring))

    def locate(self, article_id: str) -> tuple[int, int] | None:
        for si, seg in enumerate(self.segments):
            doc = seg.find_id(article_id)
            if doc >= 0:
                return si, doc
        return None

    def explain(
        self, node: P.Node, scoring: Scoring, dfs: Dfs, si: int, doc: int
    ) -> tuple[Explanation | None, int]:
        """The explanation of ``doc`` of segment ``si`` and its day."""
        why = self.searcher.explain(node, scoring, si, doc, dfs=dfs)
        return why, int(self.segments[si].dates[doc])

    def article(self, si: int, doc: int) -> Article:
        return self.segments[si].article(doc)

    def get(self, article_id: str) -> Article | None:
        where = self.locate(article_id)
        return None if where is None else self.article(*where)

    def stats(self) -> dict:
        segs = self.segments
        return {
            "documents": self.searcher.local.doc_count,
            "deleted": sum(s.ndeleted for s in segs),
            "segments": len(segs),
            "terms": sum(s.entry.terms for s in segs),
            "postings": sum(s.entry.postings for s in segs),
            "days": [(s.entry.min_day, s.entry.max_day) for s in segs],
            "size_bytes": sum(f.size for e in self.manifest.segments for f in e.files.values()),
        }

    def close(self) -> None:
        for seg in self.segments:
            seg.close()
        self.segments = []
