"""SQLite FTS5 (stdlib sqlite3): contentless title/body table, porter tokenizer, bm25().

Filters go through an ordinary ``docs`` table (id, day, section) joined on rowid, with an index
on (section, day): the way an application would add metadata filters to FTS5.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ..corpus import doc_day, doc_text
from .base import Engine

DB = "index.sqlite"
# porter wraps unicode61; remove_diacritics 2 folds accents as newsindex does.
TOKENIZE = "porter unicode61 remove_diacritics 2"


def _match(query: str) -> str:
    """``w1 w2`` -> ``"w1" OR "w2"``: FTS5's bare ``w1 w2`` means AND, every other engine ORs."""
    return " OR ".join(f'"{w}"' for w in query.split())


class SqliteFts5Engine(Engine):
    name = "sqlite-fts5"
    requires = ("sqlite3",)
    supports_phrase = True

    @classmethod
    def missing(cls, phase: str = "build") -> str | None:
        reason = super().missing(phase)
        if reason:
            return reason
        try:
            sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(a)")
        except sqlite3.OperationalError as exc:
            return f"sqlite-fts5: this SQLite has no FTS5 ({exc})"
        return None

    def describe(self) -> dict:
        return {
            "engine": f"SQLite {sqlite3.sqlite_version} FTS5 (Python sqlite3)",
            "analysis": f"tokenize='{TOKENIZE}' (Porter stemmer); no stop-word filter in FTS5, so "
            "stop words stay in the index (doc lengths) and the harness drops them from queries",
            "scoring": f"bm25(fts, {self.title_weight}, 1.0): k1=1.2 b=0.75 fixed by FTS5, "
            "one length norm over all columns",
            "filters": "JOIN docs ON rowid, WHERE section = ? AND day BETWEEN ? AND ?, index on (section, day)",
            "stored": "id, day, section (contentless FTS table)",
            "threads": "one connection, single-threaded",
        }

    def build(self, docs: Iterable[dict], workdir: Path) -> dict:
        self.workdir = Path(workdir)
        con = sqlite3.connect(self.workdir / DB)
        # A bulk load into a fresh file: no journal and no fsync, as a user would do for a rebuild.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute(
            "CREATE TABLE docs(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, day TEXT, section TEXT)"
        )
        con.execute(
            f"CREATE VIRTUAL TABLE fts USING fts5(title, body, content='', tokenize='{TOKENIZE}')"
        )
        n = 0
        with con:
            for n, doc in enumerate(docs, 1):
                title, body = doc_text(doc)
                day = doc_day(doc)
                con.execute(
                    "INSERT INTO docs VALUES (?, ?, ?, ?)",
                    (n, str(doc["id"]), day.isoformat() if day else None, doc.get("section")),
                )
                con.execute(
                    "INSERT INTO fts(rowid, title, body) VALUES (?, ?, ?)", (n, title, body)
                )
        with con:
            con.execute("CREATE INDEX docs_section_day ON docs(section, day)")
            # Merge FTS5's b-tree segments into one, the state a finished index should be in.
            con.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        con.close()
        return {"docs": n}

    def open(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.con = sqlite3.connect(self.workdir / DB)
        # mmap like tantivy does; a 64 MB page cache. Both are ordinary settings for a read path.
        self.con.execute("PRAGMA mmap_size=1073741824")
        self.con.execute("PRAGMA cache_size=-65536")
        w = float(self.title_weight)
        self._sql = (
            f"SELECT d.id FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? "
            f"ORDER BY bm25(fts, {w}, 1.0) LIMIT ?"
        )
        self._sql_filtered = (
            f"SELECT d.id FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? "
            f"AND d.section = ? AND d.day BETWEEN ? AND ? ORDER BY bm25(fts, {w}, 1.0) LIMIT ?"
        )
        self._sql_dates = (
            f"SELECT d.id FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? "
            f"AND d.day BETWEEN ? AND ? ORDER BY bm25(fts, {w}, 1.0) LIMIT ?"
        )

    def search(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return [r[0] for r in self.con.execute(self._sql, (_match(query), k))]

    def search_filtered(self, query, k, date_from, date_to, section) -> list[str]:
        if not query.strip():
            return []
        lo = date_from.isoformat() if date_from else "0000-00-00"
        hi = date_to.isoformat() if date_to else "9999-99-99"
        if section:
            rows = self.con.execute(self._sql_filtered, (_match(query), section, lo, hi, k))
        else:
            rows = self.con.execute(self._sql_dates, (_match(query), lo, hi, k))
        return [r[0] for r in rows]

    def search_phrase(self, query: str, k: int) -> list[str]:
        if not query.strip():
            return []
        return [r[0] for r in self.con.execute(self._sql, (f'"{query}"', k))]

    def close(self) -> None:
        if getattr(self, "con", None):
            self.con.close()
            self.con = None
