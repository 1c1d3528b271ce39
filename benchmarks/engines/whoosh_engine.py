"""Whoosh (pure Python, whoosh-reloaded): BM25F over title + body, StemmingAnalyzer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from ..corpus import doc_day, doc_text
from ..textutil import LUCENE_STOP_WORDS
from .base import Engine, version_of


def _analyzer():
    """Whoosh's StemmingAnalyzer (its regex tokenizer, lowercase, Porter stemmer) with Lucene's
    33 stop words instead of Whoosh's own list, and minsize=1 so one-letter words are kept as
    newsindex keeps them."""
    from whoosh.analysis import StemmingAnalyzer

    return StemmingAnalyzer(stoplist=LUCENE_STOP_WORDS, minsize=1)


class WhooshEngine(Engine):
    name = "whoosh"
    requires = ("whoosh",)
    supports_phrase = True

    def describe(self) -> dict:
        return {
            "engine": f"whoosh-reloaded {version_of('whoosh-reloaded')}",
            "analysis": "StemmingAnalyzer(stoplist=Lucene 33, minsize=1): regex tokenizer, "
            "lowercase, Porter stemmer (Whoosh's own); fields title + body",
            "scoring": f"BM25F B={self.b} K1={self.k1}"
            + (f", title boost {self.title_weight}" if self.title_weight != 1.0 else ""),
            "filters": "searcher.search(filter=And([Term(section), DateRange(date)]))",
            "stored": "id only",
            "threads": "writer procs=1, limitmb=256; single-threaded search",
        }

    def _schema(self):
        from whoosh.fields import DATETIME, ID, TEXT, Schema

        ana = _analyzer()
        return Schema(
            id=ID(stored=True),
            title=TEXT(analyzer=ana, field_boost=self.title_weight),
            body=TEXT(analyzer=ana),
            date=DATETIME(),
            section=ID(),
        )

    def build(self, docs: Iterable[dict], workdir: Path) -> dict:
        from whoosh import index

        self.workdir = Path(workdir)
        ix = index.create_in(str(self.workdir), self._schema())
        writer = ix.writer(limitmb=256, procs=1)
        n = 0
        for doc in docs:
            title, body = doc_text(doc)
            fields = {"id": str(doc["id"]), "title": title, "body": body}
            day = doc_day(doc)
            if day:
                fields["date"] = dt.datetime(day.year, day.month, day.day)
            if doc.get("section"):
                fields["section"] = doc["section"]
            writer.add_document(**fields)
            n += 1
        writer.commit()
        ix.close()
        return {"docs": n}

    def open(self, workdir: Path) -> None:
        from whoosh import index, scoring
        from whoosh.qparser import MultifieldParser, OrGroup

        self.workdir = Path(workdir)
        self.ix = index.open_dir(str(self.workdir))
        self.searcher = self.ix.searcher(weighting=scoring.BM25F(B=self.b, K1=self.k1))
        # OrGroup: any word may match, the same disjunctive query every engine runs.
        self.parser = MultifieldParser(["title", "body"], self.ix.schema, group=OrGroup)

    def _ids(self, query, k: int, filter=None) -> list[str]:
        results = self.searcher.search(query, limit=k, filter=filter)
        return [hit["id"] for hit in results]

    def search(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return self._ids(self.parser.parse(query), k)

    def search_filtered(self, query, k, date_from, date_to, section) -> list[str]:
        from whoosh.query import And, DateRange, Term

        if not query.strip():
            return []
        parts = []
        if section:
            parts.append(Term("section", section))
        if date_from or date_to:
            lo = dt.datetime.combine(date_from, dt.time()) if date_from else None
            hi = dt.datetime.combine(date_to, dt.time()) if date_to else None
            parts.append(DateRange("date", lo, hi))
        return self._ids(self.parser.parse(query), k, filter=And(parts) if parts else None)

    def search_phrase(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return self._ids(self.parser.parse(f'"{query}"'), k)

    def close(self) -> None:
        if getattr(self, "searcher", None):
            self.searcher.close()
            self.searcher = None
        if getattr(self, "ix", None):
            self.ix.close()
