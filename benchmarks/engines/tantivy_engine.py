"""tantivy (Rust, via tantivy-py): title + body text fields, date and section fast fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from ..corpus import doc_day, doc_text
from ..textutil import STOP_LIST
from .base import Engine, version_of

ANALYZER = "en_stem_stop"


def _analyzer():
    """tantivy's ``en_stem`` chain (simple tokenizer, remove_long 40, lowercase, English Snowball
    stemmer) plus Lucene's 33 stop words, which ``en_stem`` lacks. It must be registered on every
    open: tantivy stores only the analyzer's name in the schema."""
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(STOP_LIST))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


class TantivyEngine(Engine):
    name = "tantivy"
    requires = ("tantivy",)
    supports_phrase = True
    #: Store every field newsindex stores (``tantivy-stored``), not only the id: the same
    #: content on disk, for comparing index sizes.
    store_all = False

    def describe(self) -> dict:
        return {
            "engine": f"tantivy-py {version_of('tantivy')}",
            "analysis": "simple tokenizer, lowercase, Lucene 33 stop words (custom_stopword), "
            "Snowball English (Porter2) stemmer; fields title + body",
            "scoring": "BM25 k1=1.2 b=0.75 (fixed by tantivy), per-field norms, summed over fields"
            + (f", title boost {self.title_weight}" if self.title_weight != 1.0 else ""),
            "filters": "date fast-field range query + section term query, ANDed (Occur.Must)",
            "stored": "id, title, body, date, source, section, author, url (as newsindex)"
            if self.store_all
            else "id only",
            "threads": "writer num_threads=1; search single-threaded; count=False (top-k only)",
        }

    def _schema(self):
        import tantivy

        stored = self.store_all
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("title", stored=stored, tokenizer_name=ANALYZER)
        sb.add_text_field("body", stored=stored, tokenizer_name=ANALYZER)
        sb.add_date_field("date", stored=stored, indexed=True, fast=True)
        sb.add_text_field("section", stored=stored, tokenizer_name="raw", fast=True)
        if stored:
            # Keyword fields, indexed exactly as newsindex indexes them (filters and facets);
            # the url is stored only (newsindex does not index it either).
            sb.add_text_field("source", stored=True, tokenizer_name="raw", fast=True)
            sb.add_text_field("author", stored=True, tokenizer_name="raw", fast=True)
            sb.add_bytes_field("url", stored=True, indexed=False)
        return sb.build()

    def build(self, docs: Iterable[dict], workdir: Path) -> dict:
        import tantivy

        self.workdir = Path(workdir)
        index = tantivy.Index(self._schema(), path=str(workdir))
        index.register_tokenizer(ANALYZER, _analyzer())
        # One indexing thread, as for every other engine; 256 MB heap so it rarely flushes.
        writer = index.writer(heap_size=256_000_000, num_threads=1)
        n = 0
        for doc in docs:
            title, body = doc_text(doc)
            fields = {"id": str(doc["id"]), "title": title, "body": body}
            day = doc_day(doc)
            if day:
                fields["date"] = dt.datetime(day.year, day.month, day.day)
            if doc.get("section"):
                fields["section"] = doc["section"]
            if self.store_all:
                for key in ("source", "author"):
                    if doc.get(key):
                        fields[key] = doc[key]
                if doc.get("url"):
                    fields["url"] = doc["url"].encode()
            writer.add_document(tantivy.Document(**fields))
            n += 1
        writer.commit()
        writer.wait_merging_threads()
        return {"docs": n}

    def open(self, workdir: Path) -> None:
        import tantivy

        self.workdir = Path(workdir)
        self.index = tantivy.Index.open(str(workdir))
        self.index.register_tokenizer(ANALYZER, _analyzer())
        self.index.reload()
        self.schema = self.index.schema
        self.searcher = self.index.searcher()
        boosts = {"title": self.title_weight} if self.title_weight != 1.0 else {}
        self._boosts = boosts

    def _parse(self, text: str):
        # Disjunction over title and body (the parser's default), like every other engine here.
        return self.index.parse_query(text, ["title", "body"], field_boosts=self._boosts)

    def _ids(self, query, k: int) -> list[str]:
        hits = self.searcher.search(query, k, count=False).hits
        doc = self.searcher.doc
        return [doc(addr)["id"][0] for _score, addr in hits]

    def search(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return self._ids(self._parse(query), k)

    def search_filtered(self, query, k, date_from, date_to, section) -> list[str]:
        import tantivy

        if not query.strip():
            return []
        must = [(tantivy.Occur.Must, self._parse(query))]
        if date_from or date_to:
            lo = dt.datetime.combine(date_from, dt.time()) if date_from else None
            hi = dt.datetime.combine(date_to, dt.time()) if date_to else None
            must.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(self.schema, "date", tantivy.FieldType.Date, lo, hi),
                )
            )
        if section:
            must.append(
                (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "section", section))
            )
        return self._ids(tantivy.Query.boolean_query(must), k)

    def search_phrase(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return self._ids(self._parse(f'"{query}"'), k)

    def close(self) -> None:
        self.searcher = self.index = None


class TantivyStoredEngine(TantivyEngine):
    """tantivy storing the fields newsindex stores: built for its size on disk (``size_only``);
    the ids-only :class:`TantivyEngine` is the one timed, its fastest configuration."""

    name = "tantivy-stored"
    store_all = True
    size_only = True
