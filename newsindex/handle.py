"""The public ``Index``: create or open an index folder, write to it, search a snapshot."""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import difflib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .analysis import Analyzer
from .article import Article
from .cluster import layout as cluster_layout
from .config import IndexSettings, Scoring
from .errors import (
    ConfigError,
    IndexClosedError,
    IndexCorruptError,
    IndexExistsError,
    IndexNotFoundError,
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_type,
)
from .index import manifest as mf
from .index.check import check_index
from .index.lock import WriteLock
from .index.manifest import Manifest
from .index.segment import Segment, known_stems, stem_lookup
from .index.writer import (
    DEFAULT_BUFFER_CHARS,
    DEFAULT_BUFFER_DOCS,
    DEFAULT_MEMORY_BUDGET,
    IndexWriter,
)
from .querylang import plan as P
from .querylang.planner import (
    DEFAULT_EXPANSION_LIMIT,
    DEFAULT_OPERATORS,
    DEFAULT_PREFIX_LIMIT,
    SYNTAXES,
    no_words_warning,
    to_plan,
)
from .results.facets import BUCKETS, Facets, compute_facets
from .results.hits import Hit, Results
from .results.query import Query
from .results.snippets import LazyHighlighter
from .schema import TEXT_FIELDS, UNFIELDED_ANALYZER, day_from_number, day_number, keyword_keys
from .search.collapse import (
    DEFAULT_THRESHOLD,
    MIN_THRESHOLD,
    NearIndex,
    collapse_matches,
    groups,
    signatures_of,
    threshold_of,
)
from .search.feedback import Weights, expand, explain_expansion
from .search.matches import SegmentMatches
from .search.proximity import Proximity, in_window, rescore
from .search.recency import Recency
from .search.scoring import Explanation
from .search.searcher import Searcher
from .search.similar import DEFAULT_MAX_TERMS, distinctive_terms, indexed_terms, like_plan
from .search.suggest import LazySpeller, suggest
from .search.topk import SORTS, article_ids, select

#: Largest ``limit + offset`` a search may ask for.
MAX_RESULTS = 100_000
#: Query texts whose plans a snapshot keeps (all forgotten when full).
PLAN_CACHE_SIZE = 1024
#: Attempts to open the newest commit when a concurrent commit removes files under us.
_OPEN_RETRIES = 5


class _Snapshot:
    """One commit as searches see it: its manifest, segments, searcher, settings and
    analyzers, never changed once made. A search, count, explain or get takes the current
    snapshot once and uses nothing else, and its hits keep it to load their articles, so a
    refresh (which swaps in a new snapshot) never mixes two commits in one answer."""

    __slots__ = (
        "manifest",
        "generation",
        "segments",
        "searcher",
        "settings",
        "analyzers",
        "life",
        "speller",
        "_near",
        "plans",
    )

    def __init__(
        self,
        manifest: Manifest,
        segments: dict[tuple, Segment],
        settings: IndexSettings,
        analyzers: dict[str, Analyzer],
        life: _Life,
        cache_bytes: int | None,
    ):
        self.manifest = manifest
        self.generation = manifest.generation
        self.segments: dict[tuple, Segment] = segments
        self.searcher = Searcher(list(segments.values()), cache_bytes=cache_bytes)
        self.settings: IndexSettings = settings
        self.analyzers: dict[str, Analyzer] = analyzers
        self.life: _Life = life
        self.speller = LazySpeller(self.searcher.segments, analyzers[UNFIELDED_ANALYZER])
        self._near: dict[float, NearIndex] = {}
        #: Plans of query texts this snapshot planned (see :func:`_plan`).
        self.plans: dict[tuple, P.Node] = {}

    def near(self, threshold: float) -> NearIndex:
        """The snapshot's near-duplicates at ``threshold``, found on first use (two threads
        may both find them: the same answer, and the dict keeps one)."""
        found = self._near.get(threshold)
        if found is None:
            found = self._near.setdefault(threshold, NearIndex(self.searcher.segments, threshold))
        return found

    def article(self, si: int, doc: int) -> Article:
        """The stored article of doc ``doc`` of segment ``si`` (what a hit loads)."""
        if self.life.closed:
            raise IndexClosedError(
                f"{self.life.path}: the Index was closed before this article was loaded; read"
                " hit.article (or snippets) before Index.close(), or keep the Index open"
                " while its results are in use"
            )
        return self.searcher.segments[si].article(doc)


class _Life:
    """Whether an Index was closed, shared by all its snapshots (and so by all its hits)."""

    __slots__ = ("path", "closed")

    def __init__(self, path: Path):
        self.path = path
        self.closed = False


class Index:
    """An index folder, opened on a snapshot of its latest commit.

    Searches see that snapshot until :meth:`refresh` (a writer opened from this object
    refreshes it when it commits). Opening maps segment files and verifies each one's checksum
    the first time this process opens it.

    Threads: one Index may be shared by any number of threads. ``search``, ``count``,
    ``explain``, ``get``, ``stats``, ``refresh``, the hits' articles and snippets are safe to
    call concurrently; each call answers from one commit (the snapshot current when it
    started), and hits load their articles from the commit they were found in, whatever
    refreshes happen meanwhile. :meth:`close` is not: call it once no other thread uses the
    Index or its results (after it, they raise :class:`IndexClosedError`). An
    :class:`IndexWriter` belongs to one thread at a time (see :meth:`writer`).
    """

    def __init__(self, path: str | os.PathLike[str], *, cache_mb: int | None = None):
        self.path = _folder(path)
        self._cache_bytes = cache_budget(cache_mb)
        self._life = _Life(self.path)
        # Serializes refresh and close (searches never take it): two refreshes racing must
        # not install an older snapshot over a newer one.
        self._swap = threading.Lock()
        self._snap: _Snapshot | None = None
        #: Most terms one prefix (``word*``) of a query may expand to, and all its prefixes
        #: together (each occurrence counted; repeats of one clause count once); past them a
        #: query raises QueryTooExpensiveError.
        self.prefix_limit: int = DEFAULT_PREFIX_LIMIT
        self.expansion_limit: int = DEFAULT_EXPANSION_LIMIT
        self.refresh()

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        settings: IndexSettings | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        exist_ok: bool = False,
    ) -> Index:
        """Create an empty index in ``path`` (made if missing) and open it.

        ``settings``: an :class:`IndexSettings`, a mapping, or a YAML file path. With
        ``exist_ok=True`` an existing index is opened instead of raising IndexExistsError.
        """
        folder = _folder(path)
        check_bool("exist_ok", exist_ok)
        if isinstance(settings, (str, os.PathLike)):
            settings = IndexSettings.from_yaml(settings)
        elif isinstance(settings, Mapping):
            settings = IndexSettings.from_dict(settings)
        elif settings is None:
            settings = IndexSettings()
        else:
            check_type(
                "settings", settings, IndexSettings, "IndexSettings, a mapping or a YAML path"
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
    def open(
        cls, path: str | os.PathLike[str], *, scheduler: Any = None, cache_mb: int | None = None
    ) -> Index:
        """Open the index in ``path`` on its latest commit.

        A sharded index (see :class:`ShardedIndex`) opens as one: its shards searched in this
        process, or, with ``scheduler`` (a Dask scheduler address or a
        ``dask.distributed.Client``), each held open by an actor on the cluster's workers.

        ``cache_mb``: the memory (MiB; 256 unless set) each open commit may keep of per-word
        arrays later searches reuse: the position keys of phrases' words, the scores of
        words searched without the compiled kernels. 0 keeps none: less memory, repeated
        phrases slower (figures in benchmarks/RESULTS.md). Per shard for a sharded index.
        """
        cache_budget(cache_mb)  # (refused before anything is opened)
        folder = _folder(path)
        if not folder.is_dir():
            raise IndexNotFoundError(f"{folder}: no such index folder")
        if scheduler is not None or cluster_layout.is_sharded(folder):
            from .cluster.sharded import ShardedIndex, check_scheduler

            if scheduler is not None:
                check_scheduler(scheduler)
            if not cluster_layout.is_sharded(folder):
                mf.read_latest(folder)  # no index at all: say so first
                raise ConfigError(
                    f"{folder}: scheduler applies to a sharded index; this one is not sharded"
                )
            return ShardedIndex(folder, scheduler=scheduler, cache_mb=cache_mb)
        return cls(folder, cache_mb=cache_mb)

    def refresh(self) -> bool:
        """Move to the newest commit; return whether anything changed.

        Searches running meanwhile finish on the snapshot they started with.
        """
        with self._swap:
            self._check_open()
            return self._refresh()

    def _refresh(self) -> bool:
        for attempt in range(_OPEN_RETRIES):
            seen = mf.generations(self.path)
            try:
                manifest = mf.read_latest(self.path)
                old = self._snap
                if old is not None and manifest.generation == old.generation:
                    return False
                self._snap = self._open_snapshot(manifest, old)
                return True
            except IndexCorruptError:
                # Writers may have committed and collected the files of the generation we
                # were reading: retry on the newer commit; if nothing moved, it is real.
                if attempt + 1 == _OPEN_RETRIES or mf.generations(self.path) == seen:
                    raise
        return False  # unreachable

    def _open_snapshot(self, manifest: Manifest, old: _Snapshot | None) -> _Snapshot:
        settings = IndexSettings.from_stored(manifest.settings)
        previous = old.segments if old is not None else {}
        opened: dict[tuple, Segment] = {}
        try:
            for entry in manifest.segments:
                key = (entry.name, entry.del_file)
                opened[key] = previous.get(key) or Segment(self.path, entry)
        except BaseException:
            for key, seg in opened.items():
                if key not in previous:
                    seg.close()
            raise
        segments = list(opened.values())
        analyzers = {}
        for field in TEXT_FIELDS:
            if old is not None and old.settings == settings:
                # A shallow copy shares the token cache (the terms of a word do not depend on
                # the commit) but not the lexicon, which reads this snapshot's segments.
                analyzer = copy.copy(old.analyzers[field])
            else:
                analyzer = Analyzer(settings.analyzers[field])
            spec = json.loads(json.dumps(analyzer.spec.to_dict()))
            analyzer.lexicon = stem_lookup(segments, field, spec)
            analyzer.known_stems = known_stems(segments, field, spec)
            analyzers[field] = analyzer
        # Segments no longer in the snapshot are dropped; an mmap'd file stays readable for
        # anything (a Results object loading articles) still holding its Segment.
        return _Snapshot(manifest, opened, settings, analyzers, self._life, self._cache_bytes)

    def close(self) -> None:
        """Release the index's files. Afterwards this Index and the hits of its searches
        raise :class:`IndexClosedError` (articles and snippets already loaded stay usable).

        Not to be called while other threads still use the Index or its results.
        """
        with self._swap:
            if self._life.closed:
                return
            self._life.closed = True
            snap, self._snap = self._snap, None
        if snap is not None:
            for seg in snap.segments.values():
                seg.close()

    def _current(self) -> _Snapshot:
        """The snapshot a call works on, taken once at its start."""
        snap = self._snap
        if snap is None:
            self._check_open()
        return snap  # type: ignore[return-value]

    def _check_open(self) -> None:
        if self._life.closed:
            raise IndexClosedError(
                f"{self.path}: this Index was closed; open it again with Index.open()"
            )

    def _after_commit(self) -> None:
        """A writer's commit: refresh, unless the Index was closed meanwhile."""
        with self._swap:
            if not self._life.closed:
                self._refresh()

    # Views of the current snapshot, for tests and tools that look inside.
    @property
    def _searcher(self) -> Searcher:
        return self._current().searcher

    @property
    def _analyzers(self) -> dict[str, Analyzer]:
        return self._current().analyzers

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- properties ---------------------------------------------------------------------------
    @property
    def settings(self) -> IndexSettings:
        return self._current().settings

    @property
    def generation(self) -> int:
        """The commit generation this snapshot shows."""
        return self._current().generation

    @property
    def doc_count(self) -> int:
        return self._current().searcher.doc_count

    def __len__(self) -> int:
        return self.doc_count

    def __repr__(self) -> str:
        snap = self._snap
        if snap is None:
            return f"Index({str(self.path)!r}, closed)"
        return f"Index({str(self.path)!r}, docs={snap.searcher.doc_count}, generation={snap.generation})"

    def analyzer(self, field: str = "body") -> Analyzer:
        """The analyzer of text ``field`` ("title" or "body")."""
        return self._current().analyzers[check_choice("field", field, TEXT_FIELDS)]

    # -- writing ------------------------------------------------------------------------------
    def writer(
        self,
        *,
        timeout: float = 0.0,
        buffer_docs: int = DEFAULT_BUFFER_DOCS,
        buffer_chars: int = DEFAULT_BUFFER_CHARS,
        workers: int = 1,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
    ) -> IndexWriter:
        """The index's single writer; LockError if another one is open (after ``timeout`` s).

        The writer flushes a segment every ``buffer_docs`` articles or ``buffer_chars``
        characters of title and body, or an estimated ``memory_budget`` bytes, whichever comes
        first; ``workers`` > 1 forks analysis processes (POSIX only; see :class:`IndexWriter`).
        A writer is for one thread at a time (guard it with a lock to share it); its commits
        refresh this Index.
        """
        return IndexWriter(
            self.path,
            self.settings,
            on_commit=self._after_commit,
            timeout=timeout,
            buffer_docs=buffer_docs,
            buffer_chars=buffer_chars,
            workers=workers,
            memory_budget=memory_budget,
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
        recency: str | _dt.timedelta | float | None = None,
        feedback: bool | None = None,
        collapse: bool | float = False,
        count: bool = True,
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
        A query with no searchable word (only stop words or single letters) matches nothing
        and says so in ``Results.warnings``; an empty query text is a QuerySyntaxError
        (with ``syntax="plain"``, a warning).
        ``recency`` (a half-life: ``"30d"``, ``"2w"``, ``"6m"``, ``"1y"``, a timedelta or days)
        multiplies each score by ``0.5 ** (age / half-life)``, the age in days before
        ``today`` (default: the real date; with a Query, ``today`` is then for recency only);
        undated and future-dated stories keep their score. See docs/news.md.
        ``feedback=True`` (or ``Scoring(feedback=True)``) runs RM3 pseudo-relevance feedback:
        the query expanded with terms of its best hits (``Results.expansion``); see
        docs/ranking.md, also for the proximity rescore ``Scoring(proximity=...)`` sets.
        ``collapse=True`` keeps only the best-ranked story of each group of near-duplicates
        (wire copies: estimated Jaccard similarity of their word shingles at least 0.6, or
        the threshold given as ``collapse=0.8``, from 0.5 to 1); each hit's ``duplicates``
        lists the ids of the copies it stands for, and ``total`` counts groups, not
        matches (facets still count every match). See docs/news.md.
        ``count=False`` asks only for the hits: ``Results.total`` may then stop short of the
        number of matches (``Results.total_exact`` False; at least the hits are counted),
        and a search of OR-ed words skips more of what cannot rank (tantivy's
        ``count=False``, Lucene's total hits threshold). The hits are the same either way.
        """
        started = time.perf_counter()
        # Common calls pass one cheap test; anything else gets the checks that name the culprit.
        if not (
            type(limit) is int
            and type(offset) is int
            and 0 <= limit <= MAX_RESULTS - offset
            and offset >= 0
            and type(sort) is str
            and sort in SORTS
            and (facets is False or facets is True)
            and date_bucket is None
            and (count is True or count is False)
        ):
            _check_page(limit, offset, sort)
            check_bool("facets", facets)
            check_bool("count", count)
            if date_bucket is not None:
                check_choice("date_bucket", date_bucket, BUCKETS)
        decay = None if recency is None else Recency.of(recency, today)
        threshold = None if collapse is False else threshold_of(collapse)
        snap = self._current()
        plan_today = _plan_today(query, today, decay)
        node = _plan(snap, query, syntax, default_operator, scoring, plan_today, self._limits())
        node, decay = _with_recency(node, decay, recency, today)
        searcher = snap.searcher
        scoring = _with_feedback(scoring or snap.settings.scoring, feedback)
        run, expansion = _expanded(snap, node, scoring)
        prox = _proximity(snap, node, scoring) if sort == "relevance" else None
        # The first stage must give its best `need`: the page, or the whole rescore window
        # (a pruned first stage that stopped at the page would rescore fewer hits).
        need = limit + offset if prox is None else max(limit + offset, scoring.rescore_window)
        matches: Iterable[tuple[int, SegmentMatches]]
        inexact: list[int] = []
        if decay is None and not facets and sort == "relevance" and threshold is None:
            # Rank-safe: the best `need` (collapsing needs every match, to find the copies).
            matches = searcher.top_matches(run, scoring, need, count=count)
            if not count:
                matches = _noting_inexact(matches, inexact)
        else:
            matches = searcher.execute(run, scoring)
        hits, total, facet_counts = _page(
            snap,
            node,
            matches,
            decay,
            limit,
            offset,
            sort,
            date_bucket,
            facets,
            prox,
            need,
            threshold,
        )
        warning = None
        if not total:
            text = query.text if isinstance(query, Query) else query
            warning = no_words_warning(text, node, snap.analyzers[UNFIELDED_ANALYZER])
        took = (time.perf_counter() - started) * 1000.0
        res = Results(
            hits=hits,
            total=total,
            took_ms=took,
            offset=offset,
            facets=facet_counts,
            warnings=[warning] if warning else [],
            expansion=expansion,
            total_exact=not inexact,
        )
        if not total:  # only an empty answer pays for the suggestions
            res.hints = _value_hints(searcher.segments, node)
        if isinstance(query, Query):
            res._suggest = partial(_suggestion, snap, query.text, query.syntax)
        else:
            res._suggest = partial(_suggestion, snap, query, syntax)
        return res

    def count(
        self,
        query: str | Query,
        *,
        syntax: str = "query",
        default_operator: str = "or",
        today: _dt.date | None = None,
    ) -> int:
        """How many articles match ``query`` (the options mean what they mean for search)."""
        snap = self._current()
        node = _plan(snap, query, syntax, default_operator, None, today, self._limits())
        if isinstance(node, P.Recency):
            node = node.node  # ranking does not change what matches
        # A top-0 search: disjunctions are counted without scoring a single match.
        matches = snap.searcher.top_matches(node, snap.settings.scoring, 0)
        return sum(len(m.docs) if m.count is None else m.count for _, m in matches)

    def explain(
        self,
        query: str | Query,
        article_id: str,
        *,
        syntax: str = "query",
        default_operator: str = "or",
        scoring: Scoring | None = None,
        today: _dt.date | None = None,
        recency: str | _dt.timedelta | float | None = None,
        feedback: bool | None = None,
        collapse: bool | float = False,
    ) -> Explanation:
        """How ``article_id`` scores for ``query``: a tree whose value equals the hit's score
        under relevance order (with ``recency``, the labelled product of its relevance and its
        decay factor; with feedback, the expansion terms; with proximity, the bonus of a hit
        in the rescore window). With ``collapse`` (as for :meth:`search`, by relevance), the
        top line also says which near-duplicates the article stands for, or which hit it is
        collapsed under."""
        decay = None if recency is None else Recency.of(recency, today)
        threshold = None if collapse is False else threshold_of(collapse)
        snap = self._current()
        plan_today = _plan_today(query, today, decay)
        node = _plan(snap, query, syntax, default_operator, scoring, plan_today, self._limits())
        node, decay = _with_recency(node, decay, recency, today)
        scoring = _with_feedback(scoring or snap.settings.scoring, feedback)
        searcher = snap.searcher
        where = _locate(snap, article_id)
        if where is None:
            return Explanation(0.0, f"article {article_id!r} is not in the index")
        run, expansion = _expanded(snap, node, scoring)
        why = searcher.explain(run, scoring, *where)
        if why is None:
            return Explanation(0.0, f"article {article_id!r} does not match the query")
        if scoring.feedback:
            why = explain_expansion(why, expansion, scoring)
        prox = _proximity(snap, node, scoring)
        if prox is not None:
            why = _explain_rescore(snap, run, scoring, decay, prox, where, why)
        if decay is not None:
            day = int(searcher.segments[where[0]].dates[where[1]])
            out = decay.explain(why, day, f"score of {article_id!r}, ")
        elif why.op == "sum" and why.details:
            out = Explanation(why.value, f"score of {article_id!r}, {why.description}", why.details)
        else:
            out = Explanation(why.value, f"score of {article_id!r}:", [why])
        if threshold is not None:
            matches = searcher.execute(run, scoring)
            if decay is not None:
                matches = decay.apply(matches, searcher.segments)
            note = _collapse_note(snap, list(matches), where, threshold)
            out = dataclasses.replace(out, description=f"{out.description} [{note}]")
        return out

    def duplicates(self, *, threshold: float = DEFAULT_THRESHOLD) -> list[tuple[str, ...]]:
        """Every group of near-duplicate articles (estimated Jaccard similarity of their
        word shingles at least ``threshold``, from 0.5 to 1), largest first: each group's
        ids oldest first (then in index order), the first the one a collapsed search would
        keep under ``sort="oldest"``. Articles without a near-duplicate are not listed."""
        limit = check_number("threshold", threshold, MIN_THRESHOLD, 1.0)
        snap = self._current()
        segments = snap.searcher.segments
        near = snap.near(limit)
        parts = []
        for si, seg in enumerate(segments):
            docs = np.arange(seg.ndocs) if seg.live is None else np.flatnonzero(seg.live)
            cls = near.cls[near.bases[si] + docs]
            docs = docs[cls >= 0]
            parts.append((si, docs[near.dupable[cls[cls >= 0]]]))
        segs = np.concatenate([np.full(len(docs), si) for si, docs in parts] + [np.zeros(0)])
        docs = np.concatenate([docs for _, docs in parts] + [np.zeros(0)]).astype(np.int64)
        days = np.concatenate([segments[si].dates[d] for si, d in parts] + [np.zeros(0)])
        order = np.lexsort((docs, segs, days))  # oldest first, then in index order
        where = np.stack([segs[order], docs[order]], axis=1).astype(np.int64)
        _, leader = groups(signatures_of(segments, where), limit)
        members: dict[int, list[str]] = {}
        for (si, doc), lead in zip(where.tolist(), leader.tolist()):
            members.setdefault(lead, []).append(segments[si].ids[doc])
        found = [(lead, ids) for lead, ids in members.items() if len(ids) > 1]
        found.sort(key=lambda item: (-len(item[1]), item[0]))
        return [tuple(ids) for _, ids in found]

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
        check_type("text", text, str, "a string")
        check_bool("lenient", lenient)
        _check_options(syntax, default_operator, None, today)
        snap = self._current()
        stored = snap.settings.store_body
        if lenient and syntax == "query":
            from .querylang import compile_lenient  # the parser loads on first use

            prefix_limit, expansion_limit = self._limits()
            node, warnings = compile_lenient(
                text,
                analyzers=snap.analyzers,
                default_operator=default_operator,
                expand_prefix=partial(_expand_prefix, snap.searcher.segments, prefix_limit),
                prefix_limit=prefix_limit,
                today=today,
                expansion_limit=expansion_limit,
            )
            return Query(text, node, snap.analyzers, tuple(warnings), body_stored=stored)
        node = _plan(snap, text, syntax, default_operator, None, today, self._limits())
        return Query(text, node, snap.analyzers, syntax=syntax, body_stored=stored)

    def facets(self, *, date_bucket: str | None = None) -> Facets:
        """Counts of every article of the snapshot by source, section, author and date, as
        ``search(..., facets=True)`` counts the matches of a query."""
        if date_bucket is not None:
            check_choice("date_bucket", date_bucket, BUCKETS)
        snap = self._current()
        matches = list(snap.searcher.execute(P.MatchAll(), snap.settings.scoring))
        return compute_facets(snap.searcher.segments, matches, date_bucket)

    def get(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        snap = self._current()
        where = _locate(snap, article_id)
        return None if where is None else snap.article(*where)

    def __contains__(self, article_id: str) -> bool:
        return _locate(self._current(), article_id) is not None

    def stats(self) -> dict[str, Any]:
        """Documents, segments, date range, sizes: a summary of the snapshot."""
        snap = self._current()
        segs = snap.searcher.segments
        days = [(s.entry.min_day, s.entry.max_day) for s in segs]
        lo = min((d[0] for d in days if d[0] is not None), default=None)
        hi = max((d[1] for d in days if d[1] is not None), default=None)
        size = sum(f.size for s in snap.manifest.segments for f in s.files.values())
        return {
            "path": str(self.path),
            "generation": snap.generation,
            "documents": snap.searcher.doc_count,
            "deleted": sum(s.ndeleted for s in segs),
            "segments": len(segs),
            "terms": sum(s.entry.terms for s in segs),
            "postings": sum(s.entry.postings for s in segs),
            "date_min": _iso_day(lo),
            "date_max": _iso_day(hi),
            "size_bytes": size,
            "avg_lengths": dict(zip(TEXT_FIELDS, snap.searcher.avg_lengths)),
            "settings": snap.settings.to_dict(),
        }

    # -- related stories ----------------------------------------------------------------------
    def like_query(self, article_id: str, *, max_terms: int = DEFAULT_MAX_TERMS) -> Query:
        """The weighted query :meth:`more_like_this` runs for ``article_id``: its
        ``max_terms`` most distinctive terms (``tf * idf``, in at least two live articles),
        OR-ed, each boosted by its weight relative to the best. For :meth:`explain` and
        snippets of related stories; ``text`` lists the terms and their boosts."""
        return _like(self._current(), article_id, max_terms)[1]

    def more_like_this(
        self,
        article_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        query: str | Query | None = None,
        syntax: str = "query",
        today: _dt.date | None = None,
        sort: str = "relevance",
        scoring: Scoring | None = None,
        facets: bool = False,
        date_bucket: str | None = None,
        max_terms: int = DEFAULT_MAX_TERMS,
        recency: str | _dt.timedelta | float | None = None,
    ) -> Results:
        """Stories related to ``article_id`` (Lucene's MoreLikeThis): a search for its most
        distinctive terms (see :meth:`like_query`), the story itself never among the hits.

        ``query`` (text or a :class:`Query`) restricts the candidates: they must match it
        (a filter: it adds nothing to their scores), e.g. ``"date:2016 -source:reuters"``.
        The other options are :meth:`search`'s.
        """
        started = time.perf_counter()
        _check_page(limit, offset, sort)
        check_bool("facets", facets)
        if date_bucket is not None:
            check_choice("date_bucket", date_bucket, BUCKETS)
        if scoring is not None:
            check_type("scoring", scoring, Scoring, "a Scoring or None")
        decay = None if recency is None else Recency.of(recency, today)
        snap = self._current()
        where, like = _like(snap, article_id, max_terms)
        node: P.Node = like._plan
        if query is not None:
            limits = self._limits()
            only = _plan(snap, query, syntax, "or", None, _plan_today(query, today, decay), limits)
            only, decay = _with_recency(only, decay, recency, today)
            node = P.Bool(must=(node,), filter=(only,))
        searcher = snap.searcher
        matches: Iterable[tuple[int, SegmentMatches]] = _without(
            searcher.execute(node, scoring or snap.settings.scoring), where
        )
        hits, total, facet_counts = _page(
            snap, node, matches, decay, limit, offset, sort, date_bucket, facets
        )
        took = (time.perf_counter() - started) * 1000.0
        return Results(hits=hits, total=total, took_ms=took, offset=offset, facets=facet_counts)

    # -- internals ----------------------------------------------------------------------------
    def expand_prefix(self, prefix: str, fields: tuple[str, ...] = TEXT_FIELDS) -> list[str]:
        """Distinct indexed terms starting with ``prefix`` (any segment), sorted (bounded:
        a prefix matching very many terms returns enough of them to trip the query limit)."""
        check_type("prefix", prefix, str, "a string")
        check_type("fields", fields, tuple, "a tuple of text fields")
        for field in fields:
            check_choice("fields", field, TEXT_FIELDS)
        return _expand_prefix(self._current().searcher.segments, self._limits()[0], prefix, fields)

    def _limits(self) -> tuple[int, int]:
        return (
            check_int("Index.prefix_limit", self.prefix_limit, 1),
            check_int("Index.expansion_limit", self.expansion_limit, 1),
        )


def _plan(
    snap: _Snapshot,
    query: str | Query,
    syntax: str,
    default_operator: str,
    scoring: Scoring | None,
    today: _dt.date | None,
    limits: tuple[int, int],
) -> P.Node:
    """Check the query and its options (callers pass anything), then plan it.

    A text's plan is kept per snapshot (what it depends on besides the text: the
    snapshot's analyzers, stems and prefix expansions, and the options, the date included
    for relative dates): a repeated search or the next page plans nothing. Only calls whose
    options pass the checks as they stand are kept, so a bad one is still refused.
    """
    key = None
    if (
        type(query) is str
        and type(syntax) is str
        and type(default_operator) is str
        and (scoring is None or type(scoring) is Scoring)
        and (today is None or type(today) is _dt.date)
    ):
        key = (query, syntax, default_operator, today or _local_today(), limits)
        found = snap.plans.get(key)
        if found is not None:
            return found
    expand = partial(_expand_prefix, snap.searcher.segments, limits[0])
    node = plan_query(
        snap.analyzers, expand, query, syntax, default_operator, scoring, today, limits
    )
    # (Not kept if the day turned while planning: the key's day may not be the plan's.)
    if key is not None and (today is not None or key[3] == _local_today()):
        if len(snap.plans) >= PLAN_CACHE_SIZE:
            snap.plans.clear()
        snap.plans[key] = node
    return node


#: The local date and the span of clock times it covers (see :func:`_local_today`).
_today_span: tuple[_dt.date, float, float] = (_dt.date.min, 0.0, 0.0)


def _local_today() -> _dt.date:
    """``date.today()``, read from the clock alone while the day lasts: every search's plan
    key holds the date, and ``date.today()`` converts the time to local time each call. A
    clock set back or past the day's span reads the date again."""
    now = time.time()
    day, start, end = _today_span
    if start <= now < end:
        return day
    return _new_day(now)


def _new_day(now: float) -> _dt.date:
    global _today_span
    day = _dt.date.fromtimestamp(now)
    start = _dt.datetime.combine(day, _dt.time.min).timestamp()
    end = _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time.min).timestamp()
    _today_span = (day, start, end)
    return day


def plan_query(
    analyzers: dict[str, Analyzer],
    expand: Callable[[str, tuple[str, ...]], list[str]],
    query: str | Query,
    syntax: str,
    default_operator: str,
    scoring: Scoring | None,
    today: _dt.date | None,
    limits: tuple[int, int],
) -> P.Node:
    """:func:`_plan` for any collection: its analyzers and how it expands a prefix."""
    if not (
        type(syntax) is str
        and syntax in SYNTAXES
        and type(default_operator) is str
        and default_operator in DEFAULT_OPERATORS
        and scoring is None
        and today is None
    ):
        _check_options(syntax, default_operator, scoring, today)
    if isinstance(query, Query):
        if (syntax, default_operator, today) != ("query", "or", None):
            raise ConfigError(
                "syntax, default_operator and today apply to query text; a Query keeps "
                "the ones Index.parse was given"
            )
        if query._analyzers is not analyzers and {
            f: a.spec for f, a in query._analyzers.items()
        } != {f: a.spec for f, a in analyzers.items()}:
            raise ConfigError("this Query was parsed by an index with other analyzers")
        return query._plan
    if type(query) is not str:
        check_type("query", query, str, "text or a Query from Index.parse")
    return to_plan(
        query,
        syntax=syntax,
        analyzers=analyzers,
        default_operator=default_operator,
        expand_prefix=expand,
        today=today,
        prefix_limit=limits[0],
        expansion_limit=limits[1],
    )


def _expand_prefix(
    segments: list[Segment], limit: int, prefix: str, fields: tuple[str, ...] = TEXT_FIELDS
) -> list[str]:
    found: set[str] = set()
    for seg in segments:
        lo, hi = seg.terms.prefix_range(prefix)
        if hi - lo > limit * 10:
            hi = lo + limit * 10  # enough to trip the caller's limit
        found.update(seg.terms[i] for i in range(lo, hi))
    return sorted(found)


def _locate(snap: _Snapshot, article_id: str) -> tuple[int, int] | None:
    check_type("article_id", article_id, str, "a string")
    for si, seg in enumerate(snap.searcher.segments):
        doc = seg.find_id(article_id)
        if doc >= 0:
            return si, doc
    return None


def _page(
    snap: _Snapshot,
    node: P.Node,
    matches: Iterable[tuple[int, SegmentMatches]],
    decay: Recency | None,
    limit: int,
    offset: int,
    sort: str,
    date_bucket: str | None,
    facets: bool,
    prox: Proximity | None = None,
    need: int | None = None,
    threshold: float | None = None,
) -> tuple[list[Hit], int, Facets | None]:
    """The page of hits, the total and (when asked) the facets of one search's matches
    (``prox``: the proximity rescore of the best hits, relevance order only; ``need``: how
    many of the best the first stage gives, at least the page; with a ``threshold``,
    near-duplicates collapsed: the total counts groups)."""
    segments = snap.searcher.segments
    if decay is not None:
        matches = decay.apply(matches, segments)
    counted = None
    if facets or threshold is not None:
        matches = counted = list(matches)
    highlighter = LazyHighlighter(node, snap.analyzers, snap.settings.store_body)
    if threshold is None:
        picked, total = select(matches, segments, need or limit + offset, sort)
        if prox is not None:
            picked = rescore(
                prox, picked, prox.scoring.rescore_window, decay.factors if decay else None
            )
            del picked[limit + offset :]
        hits = _hits(snap, picked[offset:], offset, highlighter)
    else:
        hits, total = _collapsed(
            snap, counted or [], sort, threshold, limit, offset, highlighter, prox, need, decay
        )
    if not facets:
        counted = None
    facet_counts = compute_facets(segments, counted, date_bucket) if counted is not None else None
    return hits, total, facet_counts


def _noting_inexact(
    matches: Iterable[tuple[int, SegmentMatches]], inexact: list[int]
) -> Iterator[tuple[int, SegmentMatches]]:
    """``matches``, noting in ``inexact`` each segment whose count is only a lower bound."""
    for si, m in matches:
        if not m.exact:
            inexact.append(si)
        yield si, m


def _hits(
    snap: _Snapshot,
    picked: list[tuple[int, int, float, int]],
    offset: int,
    highlighter: LazyHighlighter,
) -> list[Hit]:
    names = article_ids(snap.searcher.segments, picked)
    article = snap.article  # each hit keeps its snapshot: it loads from where it was found
    # Positional arguments: a page of hits is built on every search.
    return [
        Hit(name, score, rank, day, partial(article, si, doc), highlighter)
        for rank, (name, (si, doc, score, day)) in enumerate(zip(names, picked), offset + 1)
    ]


def _with_feedback(scoring: Scoring, feedback: bool | None) -> Scoring:
    if feedback is None or feedback is scoring.feedback:
        return scoring
    check_bool("feedback", feedback)
    return scoring.with_(feedback=feedback)


def _expanded(snap: _Snapshot, node: P.Node, scoring: Scoring) -> tuple[P.Node, Weights]:
    """The plan to run (the RM3 expansion of ``node`` with feedback on) and its terms."""
    if not scoring.feedback:
        return node, []
    analyzers = snap.analyzers

    def doc_terms(si: int, doc: int) -> list[str]:
        if not snap.settings.store_body:
            return indexed_terms(snap.searcher.segments[si], doc)
        article = snap.article(si, doc)
        return [t for f in TEXT_FIELDS for t in analyzers[f].terms(getattr(article, f))]

    return expand(snap.searcher, node, scoring, doc_terms)


def _story_terms(snap: _Snapshot, si: int, doc: int) -> list[str]:
    """The terms of a story, one per occurrence, for MoreLikeThis: its stored text analyzed
    again, or (an index that does not store bodies) the terms its postings hold."""
    if not snap.settings.store_body:
        return indexed_terms(snap.searcher.segments[si], doc)
    article = snap.article(si, doc)
    analyzer = snap.analyzers[UNFIELDED_ANALYZER]
    return analyzer.terms(article.title) + analyzer.terms(article.body)


def _proximity(snap: _Snapshot, node: P.Node, scoring: Scoring) -> Proximity | None:
    if scoring.proximity <= 0:
        return None
    prox = Proximity(snap.searcher, scoring, node)
    return prox if prox else None


def _explain_rescore(
    snap: _Snapshot,
    run: P.Node,
    scoring: Scoring,
    decay: Recency | None,
    prox: Proximity,
    where: tuple[int, int],
    why: Explanation,
) -> Explanation:
    """``why`` plus the proximity bonus when the search would rescore the article (it is
    among the first stage's best ``rescore_window``, under the same recency)."""
    segments = snap.searcher.segments
    matches: Iterable[tuple[int, SegmentMatches]] = snap.searcher.execute(run, scoring)
    if decay is not None:
        matches = decay.apply(matches, segments)
    window = scoring.rescore_window
    picked, _total = select(matches, segments, window, "relevance")
    if not in_window(picked, *where):
        return Explanation(
            why.value,
            f"{why.description} (not among the first stage's best {window}: no proximity rescore)",
            why.details,
            why.op,
        )
    bonus = prox.explain(*where)
    return Explanation(
        why.value + bonus.value,
        "first stage plus the proximity rescore, sum of:",
        [why, bonus],
    )


def _with_recency(
    node: P.Node,
    decay: Recency | None,
    recency: str | _dt.timedelta | float | None,
    today: _dt.date | None,
) -> tuple[P.Node, Recency | None]:
    """The plan to execute and the decay to apply: the ``recency=`` argument's, or the one
    the query's ``recency:`` clause asks for. Both, for different half-lives, is an error:
    neither silently wins."""
    if not isinstance(node, P.Recency):
        return node, decay
    if decay is not None and decay.half_life != node.half_life:
        raise ConfigError(
            f"recency is given twice, recency={recency!r} and a recency: clause of "
            f"{node.half_life:g} days in the query; keep one"
        )
    return node.node, Recency(node.half_life, day_number(today or node.today or _dt.date.today()))


def _collapsed(
    snap: _Snapshot,
    matches: list[tuple[int, SegmentMatches]],
    sort: str,
    threshold: float,
    limit: int,
    offset: int,
    highlighter: LazyHighlighter,
    prox: Proximity | None,
    need: int | None,
    decay: Recency | None,
) -> tuple[list[Hit], int]:
    """The page of hits with near-duplicates collapsed, and the number of groups. Only the
    matches with a near-duplicate among them are grouped; the page is the plain top
    ``offset + limit`` plus as many as were collapsed, without the collapsed ones. With a
    proximity rescore, groups follow the first stage's order and the kept stories are
    rescored."""
    segments = snap.searcher.segments
    copies, under = collapse_matches(snap.near(threshold), matches, segments, sort)
    picked, total = select(matches, segments, (need or limit + offset) + len(under), sort)
    picked = [p for p in picked if p[:2] not in under]
    if prox is not None:
        picked = rescore(
            prox, picked, prox.scoring.rescore_window, decay.factors if decay else None
        )
    kept = picked[offset : offset + limit]
    hits = _hits(snap, kept, offset, highlighter)
    if copies:
        ids = [seg.ids for seg in segments]
        for hit, (si, doc, _, _) in zip(hits, kept):
            hit.duplicates = tuple(ids[c_si][c_doc] for c_si, c_doc in copies.get((si, doc), ()))
    return hits, total - len(under)


def _collapse_note(
    snap: _Snapshot,
    matches: list[tuple[int, SegmentMatches]],
    where: tuple[int, int],
    threshold: float,
) -> str:
    """What collapsing at ``threshold`` (by relevance) does with the article at ``where``."""
    segments = snap.searcher.segments
    copies, under = collapse_matches(snap.near(threshold), matches, segments, "relevance")
    ids = [seg.ids for seg in segments]
    return collapse_note(copies, under, where, threshold, lambda w: ids[w[0]][w[1]])


def collapse_note(
    copies: dict[tuple[int, int], list[tuple[int, int]]],
    under: dict[tuple[int, int], tuple[int, int]],
    where: tuple[int, int],
    threshold: float,
    id_of: Callable[[tuple[int, int]], str],
) -> str:
    """What collapsing (``copies``, ``under``: as :func:`collapse_matches` found them) does
    with the story at ``where``; ``id_of`` names a story."""
    if where in under:
        return (
            f"collapsed: a near-duplicate (Jaccard >= {threshold:g}) of the better-ranked "
            f"{id_of(under[where])!r}, which stands for it"
        )
    names = [id_of(w) for w in copies.get(where, ())]
    if not names:
        return f"collapse: no near-duplicate (Jaccard >= {threshold:g}) among the matches"
    return (
        f"collapse: stands for {len(names)} near-duplicate{'s' if len(names) > 1 else ''}"
        f" (Jaccard >= {threshold:g}): {', '.join(map(repr, names))}"
    )


def _plan_today(
    query: str | Query, today: _dt.date | None, decay: Recency | None
) -> _dt.date | None:
    """The ``today`` for planning: a Query keeps its own, so one given with recency is for
    the decay only."""
    return None if decay is not None and isinstance(query, Query) else today


def _like(snap: _Snapshot, article_id: str, max_terms: int) -> tuple[tuple[int, int], Query]:
    """Where ``article_id`` is and its weighted MoreLikeThis query, from one snapshot."""
    check_max_terms(max_terms)
    where = _locate(snap, article_id)
    if where is None:
        raise ConfigError(f"more_like_this: no article with id {article_id!r} in the index")
    weighted = distinctive_terms(snap.searcher, _story_terms(snap, *where), max_terms)
    return where, like_query_of(weighted, snap.analyzers, snap.settings.store_body)


#: Largest ``cache_mb`` accepted (1 TiB): a larger one is a typo.
MAX_CACHE_MB = 1 << 20


def cache_budget(cache_mb: object) -> int | None:
    """The cache budget in bytes of ``Index.open``'s ``cache_mb`` (None: the default)."""
    if cache_mb is None:
        return None
    return check_int("cache_mb", cache_mb, 0, MAX_CACHE_MB) << 20


def check_max_terms(max_terms: object) -> None:
    if not isinstance(max_terms, int) or isinstance(max_terms, bool) or max_terms < 1:
        raise ConfigError(f"max_terms must be an integer >= 1, got {max_terms!r}")


def like_query_of(
    weighted: list[tuple[str, float]], analyzers: dict[str, Analyzer], body_stored: bool
) -> Query:
    """The :class:`Query` of MoreLikeThis's weighted terms (its text lists their boosts)."""
    text = " ".join(f"{t}^{w / weighted[0][1]:.2f}" for t, w in weighted)
    return Query(
        text or "(no distinctive terms)",
        like_plan(weighted),
        analyzers,
        syntax="like",
        body_stored=body_stored,
    )


def _without(
    matches: Iterable[tuple[int, SegmentMatches]], where: tuple[int, int]
) -> Iterator[tuple[int, SegmentMatches]]:
    """``matches`` without document ``where`` (segment index, doc)."""
    for si, m in matches:
        if si == where[0]:
            at = int(m.docs.searchsorted(where[1]))
            if at < len(m.docs) and m.docs[at] == where[1]:
                m = SegmentMatches(np.delete(m.docs, at), np.delete(m.scores, at))
        yield si, m


def _suggestion(snap: _Snapshot, text: str, syntax: str) -> str | None:
    """Did you mean, for ``text`` read as ``syntax`` (see :mod:`newsindex.search.suggest`)."""
    if syntax not in SYNTAXES:
        return None  # a like_query's weighted terms are the index's own
    segments = snap.searcher.segments

    def holding(term: str) -> int:
        return sum(hi - lo for lo, hi in (seg.term_range(term) for seg in segments))

    analyzer = snap.analyzers[UNFIELDED_ANALYZER]
    return suggest(text, syntax, analyzer, snap.speller, snap.searcher.doc_count, holding)


def _iso_day(number: int | None) -> str | None:
    day = day_from_number(number) if number is not None else None
    return day.isoformat() if day is not None else None


def _folder(path: object) -> Path:
    check_type("path", path, (str, os.PathLike), "a str or path-like folder")
    return Path(path)  # type: ignore[arg-type]


def _check_options(
    syntax: object, default_operator: object, scoring: object, today: object
) -> None:
    check_choice("syntax", syntax, SYNTAXES)
    check_choice("default_operator", default_operator, DEFAULT_OPERATORS)
    if scoring is not None:
        check_type("scoring", scoring, Scoring, "a Scoring or None")
    if today is not None:
        check_type("today", today, _dt.date, "a datetime.date or None")


def _check_page(limit: object, offset: object, sort: object) -> None:
    limit = check_int("limit", limit, 0)
    offset = check_int("offset", offset, 0)
    if limit + offset > MAX_RESULTS:
        raise ConfigError(f"limit + offset must be <= {MAX_RESULTS:,}, got {limit + offset:,}")
    check_choice("sort", sort, SORTS)


def _required_keywords(node: P.Node) -> list[P.Keyword]:
    """The keyword filters an article must pass (not those under OR or NOT)."""
    if isinstance(node, P.Keyword):
        return [node]
    if isinstance(node, P.Bool):
        return [kw for child in (*node.must, *node.filter) for kw in _required_keywords(child)]
    return []


def _query_word(value: str) -> str:
    """A keyword value as one query word ("TRT World" -> trt-world)."""
    return "-".join("".join(c if c.isalnum() else " " for c in value.lower()).split())


def _value_hints(segments: list[Segment], node: P.Node) -> list[str]:
    """For each keyword value the query requires that no article has, the nearest ones."""
    hints = []
    for kw in _required_keywords(node):
        values = {v for seg in segments for v in seg.keyword_values(kw.field)}
        by_key: dict[str, str] = {}
        for value in sorted(values):
            for key in keyword_keys(value, kw.field):
                by_key.setdefault(key, value)
        for key in sorted(kw.keys - by_key.keys()):
            near = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
            shown = ", ".join(f"{kw.field}:{_query_word(by_key[k])}" for k in near)
            guess = f"; did you mean {shown}?" if near else ""
            hints.append(f"no {kw.field} is '{key}'{guess}")
    return hints
