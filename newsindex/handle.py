"""The public ``Index``: create or open an index folder, write to it, search a snapshot."""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from .analysis import Analyzer
from .article import Article
from .config import IndexSettings, Scoring
from .errors import ConfigError, IndexCorruptError, IndexExistsError, IndexNotFoundError
from .index import manifest as mf
from .index.check import check_index
from .index.lock import WriteLock
from .index.manifest import Manifest
from .index.segment import Segment
from .index.writer import IndexWriter
from .querylang import plan as P
from .querylang.planner import DEFAULT_PREFIX_LIMIT, to_plan
from .results.facets import Facets, compute_facets
from .results.hits import Hit, Results
from .results.query import Query
from .results.snippets import LazyHighlighter
from .schema import TEXT_FIELDS, day_from_number
from .search.matches import SegmentMatches
from .search.scoring import Explanation
from .search.searcher import Searcher
from .search.topk import SORTS, select

#: Largest ``limit + offset`` a search may ask for.
MAX_RESULTS = 100_000
#: Attempts to open the newest commit when a concurrent commit removes files under us.
_OPEN_RETRIES = 5


class Index:
    """An index folder, opened on a snapshot of its latest commit.

    Searches see that snapshot until :meth:`refresh` (a writer opened from this object
    refreshes it when it commits). Opening maps segment files and verifies each one's checksum
    the first time this process opens it.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._segments: dict[tuple, Segment] = {}
        self._manifest: Manifest  # set by refresh(), which raises if it cannot
        self._searcher: Searcher  # set by refresh(), which raises if it cannot
        self.refresh()

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        settings: IndexSettings | Mapping[str, Any] | str | Path | None = None,
        *,
        exist_ok: bool = False,
    ) -> Index:
        """Create an empty index in ``path`` (made if missing) and open it.

        ``settings``: an :class:`IndexSettings`, a mapping, or a YAML file path. With
        ``exist_ok=True`` an existing index is opened instead of raising IndexExistsError.
        """
        folder = Path(path)
        if isinstance(settings, (str, Path)):
            settings = IndexSettings.from_yaml(settings)
        elif isinstance(settings, Mapping):
            settings = IndexSettings.from_dict(settings)
        elif settings is None:
            settings = IndexSettings()
        elif not isinstance(settings, IndexSettings):
            raise ConfigError(
                f"settings must be IndexSettings, a mapping or a YAML path, got {type(settings).__name__}"
            )
        if folder.exists() and not folder.is_dir():
            raise IndexExistsError(f"{folder}: exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        lock = WriteLock(folder)
        try:
            if mf.generations(folder):
                if exist_ok:
                    return cls(folder)
                raise IndexExistsError(f"{folder}: an index already exists here")
            mf.write(
                folder,
                Manifest(
                    generation=0,
                    next_segment=1,
                    settings=settings.to_dict(),
                    segments=(),
                    doc_count=0,
                ),
            )
        finally:
            lock.release()
        return cls(folder)

    @classmethod
    def open(cls, path: str | Path) -> Index:
        """Open the index in ``path`` on its latest commit."""
        folder = Path(path)
        if not folder.is_dir():
            raise IndexNotFoundError(f"{folder}: no such index folder")
        return cls(folder)

    def refresh(self) -> bool:
        """Move to the newest commit; return whether anything changed."""
        for attempt in range(_OPEN_RETRIES):
            seen = mf.generations(self.path)
            try:
                manifest = mf.read_latest(self.path)
                current: Manifest | None = getattr(self, "_manifest", None)
                if current is not None and manifest.generation == current.generation:
                    return False
                self._open_snapshot(manifest)
                return True
            except IndexCorruptError:
                # Writers may have committed and collected the files of the generation we
                # were reading: retry on the newer commit; if nothing moved, it is real.
                if attempt + 1 == _OPEN_RETRIES or mf.generations(self.path) == seen:
                    raise
        return False  # unreachable

    def _open_snapshot(self, manifest: Manifest) -> None:
        settings = IndexSettings.from_dict(manifest.settings)
        opened: dict[tuple, Segment] = {}
        try:
            for entry in manifest.segments:
                key = (entry.name, entry.del_file)
                opened[key] = self._segments.get(key) or Segment(self.path, entry)
        except BaseException:
            for key, seg in opened.items():
                if key not in self._segments:
                    seg.close()
            raise
        if getattr(self, "_settings", None) != settings:  # keep the analyzers' token caches
            self._analyzers = {f: Analyzer(settings.analyzers[f]) for f in TEXT_FIELDS}
        self._settings = settings
        # Segments no longer in the snapshot are dropped; an mmap'd file stays readable for
        # anything (a Results object loading articles) still holding its Segment.
        self._segments = opened
        self._manifest = manifest
        self._searcher = Searcher(list(opened.values()))
        segments = list(opened.values())
        for field, analyzer in self._analyzers.items():
            spec = json.loads(json.dumps(analyzer.spec.to_dict()))
            analyzer.lexicon = partial(_stored_stem, segments, field, spec)

    def close(self) -> None:
        for seg in self._segments.values():
            seg.close()
        self._segments = {}

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- properties ---------------------------------------------------------------------------
    @property
    def settings(self) -> IndexSettings:
        return self._settings

    @property
    def generation(self) -> int:
        """The commit generation this snapshot shows."""
        return self._manifest.generation

    @property
    def doc_count(self) -> int:
        return self._searcher.doc_count

    def __len__(self) -> int:
        return self.doc_count

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, docs={self.doc_count}, generation={self.generation})"

    def analyzer(self, field: str = "body") -> Analyzer:
        return self._analyzers[field]

    # -- writing ------------------------------------------------------------------------------
    def writer(self, *, timeout: float = 0.0, **options: Any) -> IndexWriter:
        """The index's single writer; LockError if another one is open (after ``timeout`` s)."""
        return IndexWriter(
            self.path, self._settings, on_commit=self.refresh, timeout=timeout, **options
        )

    def check(self) -> list[str]:
        """Verify every file of the latest commit (checksums, structure); return the problems."""
        return check_index(self.path)

    def optimize(self, *, timeout: float = 0.0) -> None:
        """Merge every segment into one (dropping deleted articles) and commit."""
        with self.writer(timeout=timeout) as w:
            w.optimize()

    # -- reading ------------------------------------------------------------------------------
    def search(
        self,
        query: str | Query,
        *,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        syntax: str = "query",
        default_operator: str = "or",
        scoring: Scoring | None = None,
        today: _dt.date | None = None,
        facets: bool = False,
        date_bucket: str | None = None,
    ) -> Results:
        """Search the snapshot.

        ``query`` is query-language text (see docs/query-syntax.md), or any text run as plain
        OR-ed words with ``syntax="plain"`` (no operators, no fields: for natural-language
        questions), or a :class:`Query` from :meth:`parse` (``syntax``, ``default_operator``
        and ``today`` are then the ones it was parsed with). ``sort``: ``"relevance"``,
        ``"date"`` (newest first) or ``"oldest"``.
        ``scoring`` overrides the index's BM25F parameters for this search. ``facets=True`` adds
        counts of all matching articles by source, section, author and date
        (``date_bucket`` = ``"day"``, ``"month"`` or ``"year"``; chosen from the span if None).
        """
        started = time.perf_counter()
        _check_page(limit, offset, sort)
        node = self._plan(query, syntax, default_operator, today)
        searcher = self._searcher
        scoring = scoring or self._settings.scoring
        matches: Iterable[tuple[int, SegmentMatches]] = searcher.execute(node, scoring)
        counted = None
        if facets:
            matches = counted = list(matches)
        picked, total = select(matches, searcher.segments, limit + offset, sort)
        hits = self._hits(picked[offset:], offset, LazyHighlighter(node, self._analyzers))
        facet_counts = (
            compute_facets(searcher.segments, counted, date_bucket) if counted is not None else None
        )
        took = (time.perf_counter() - started) * 1000.0
        return Results(hits=hits, total=total, took_ms=took, offset=offset, facets=facet_counts)

    def count(
        self, query: str | Query, *, syntax: str = "query", today: _dt.date | None = None
    ) -> int:
        """How many articles match ``query``."""
        node = self._plan(query, syntax, "or", today)
        return sum(len(m.docs) for _, m in self._searcher.execute(node, self._settings.scoring))

    def explain(
        self,
        query: str | Query,
        article_id: str,
        *,
        syntax: str = "query",
        default_operator: str = "or",
        scoring: Scoring | None = None,
        today: _dt.date | None = None,
    ) -> Explanation:
        """How ``article_id`` scores for ``query``: a tree whose value equals the hit's score."""
        node = self._plan(query, syntax, default_operator, today)
        scoring = scoring or self._settings.scoring
        searcher = self._searcher
        where = self._locate(article_id)
        if where is None:
            return Explanation(0.0, f"article {article_id!r} is not in the index")
        why = searcher.explain(node, scoring, *where)
        if why is None:
            return Explanation(0.0, f"article {article_id!r} does not match the query")
        if why.op == "sum" and why.details:
            return Explanation(
                why.value, f"score of {article_id!r}, {why.description}", why.details
            )
        return Explanation(why.value, f"score of {article_id!r}:", [why])

    def parse(
        self,
        text: str,
        *,
        lenient: bool = False,
        syntax: str = "query",
        default_operator: str = "or",
        today: _dt.date | None = None,
    ) -> Query:
        """Parse and compile ``text`` once, for :meth:`search`, :meth:`count`, :meth:`explain`
        and snippets: a :class:`Query` for this index (its words analyzed, its prefixes
        expanded against this snapshot's terms).

        A strict parse raises QuerySyntaxError; ``lenient=True`` reads what it can and keeps
        the problems as ``Query.warnings`` (an unclosed quote, an unknown field, a bad date:
        see docs/query-syntax.md), raising only for what no reading can run.
        """
        if lenient and syntax == "query" and isinstance(text, str):
            from .querylang import compile_lenient  # the parser loads on first use

            node, warnings = compile_lenient(
                text,
                analyzers=self._analyzers,
                default_operator=default_operator,
                expand_prefix=self.expand_prefix,
                today=today,
            )
            return Query(text, node, self._analyzers, tuple(warnings))
        return Query(text, self._plan(text, syntax, default_operator, today), self._analyzers)

    def facets(self, *, date_bucket: str | None = None) -> Facets:
        """Counts of every article of the snapshot by source, section, author and date, as
        ``search(..., facets=True)`` counts the matches of a query."""
        matches = list(self._searcher.execute(P.MatchAll(), self._settings.scoring))
        return compute_facets(self._searcher.segments, matches, date_bucket)

    def get(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        where = self._locate(article_id)
        return None if where is None else self._searcher.segments[where[0]].article(where[1])

    def __contains__(self, article_id: str) -> bool:
        return self._locate(article_id) is not None

    def stats(self) -> dict[str, Any]:
        """Documents, segments, date range, sizes: a summary of the snapshot."""
        segs = self._searcher.segments
        days = [(s.entry.min_day, s.entry.max_day) for s in segs]
        lo = min((d[0] for d in days if d[0] is not None), default=None)
        hi = max((d[1] for d in days if d[1] is not None), default=None)
        size = sum(f.size for s in self._manifest.segments for f in s.files.values())
        return {
            "path": str(self.path),
            "generation": self.generation,
            "documents": self.doc_count,
            "deleted": sum(s.ndeleted for s in segs),
            "segments": len(segs),
            "terms": sum(s.entry.terms for s in segs),
            "postings": sum(s.entry.postings for s in segs),
            "date_min": _iso_day(lo),
            "date_max": _iso_day(hi),
            "size_bytes": size,
            "avg_lengths": dict(zip(TEXT_FIELDS, self._searcher.avg_lengths)),
            "settings": self._settings.to_dict(),
        }

    # -- internals ----------------------------------------------------------------------------
    def _plan(
        self,
        query: str | Query,
        syntax: str,
        default_operator: str,
        today: _dt.date | None,
    ) -> P.Node:
        if isinstance(query, Query):
            if (syntax, default_operator, today) != ("query", "or", None):
                raise ConfigError(
                    "syntax, default_operator and today apply to query text; a Query keeps "
                    "the ones Index.parse was given"
                )
            if query._analyzers is not self._analyzers and {
                f: a.spec for f, a in query._analyzers.items()
            } != {f: a.spec for f, a in self._analyzers.items()}:
                raise ConfigError("this Query was parsed by an index with other analyzers")
            return query._plan
        if not isinstance(query, str):
            raise ConfigError(
                f"query must be text or a Query from Index.parse, got {type(query).__name__}"
            )
        return to_plan(
            query,
            syntax=syntax,
            analyzers=self._analyzers,
            default_operator=default_operator,
            expand_prefix=self.expand_prefix,
            today=today,
        )

    def expand_prefix(self, prefix: str, fields: tuple[str, ...] = TEXT_FIELDS) -> list[str]:
        """Distinct indexed terms starting with ``prefix`` (any segment), sorted (bounded:
        a prefix matching very many terms returns enough of them to trip the query limit)."""
        found: set[str] = set()
        for seg in self._searcher.segments:
            lo, hi = seg.terms.prefix_range(prefix)
            if hi - lo > DEFAULT_PREFIX_LIMIT * 10:
                hi = lo + DEFAULT_PREFIX_LIMIT * 10  # enough to trip the caller's limit
            found.update(seg.terms[i] for i in range(lo, hi))
        return sorted(found)

    def _locate(self, article_id: str) -> tuple[int, int] | None:
        for si, seg in enumerate(self._searcher.segments):
            doc = seg.find_id(article_id)
            if doc >= 0:
                return si, doc
        return None

    def _hits(
        self, picked: list[tuple[int, int, float, int]], offset: int, highlighter: LazyHighlighter
    ) -> list[Hit]:
        segments = self._searcher.segments
        # Positional arguments: a page of hits is built on every search.
        return [
            Hit(
                segments[si].ids[doc],
                score,
                rank,
                day,
                partial(segments[si].article, doc),
                None,
                highlighter,
            )
            for rank, (si, doc, score, day) in enumerate(picked, start=offset + 1)
        ]


def _iso_day(number: int | None) -> str | None:
    day = day_from_number(number) if number is not None else None
    return day.isoformat() if day is not None else None


def _stored_stem(segments: list[Segment], field: str, spec: dict, word: str) -> str | None:
    """The stem the index gave ``word`` when it indexed it (None: no segment holds it)."""
    for seg in segments:
        term = seg.stem_of(field, spec, word)
        if term is not None:
            return term
    return None


def _check_page(limit: int, offset: int, sort: str) -> None:
    if not isinstance(limit, int) or limit < 0:
        raise ConfigError(f"limit must be an integer >= 0, got {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ConfigError(f"offset must be an integer >= 0, got {offset!r}")
    if limit + offset > MAX_RESULTS:
        raise ConfigError(f"limit + offset must be <= {MAX_RESULTS:,}, got {limit + offset:,}")
    if sort not in SORTS:
        raise ConfigError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
