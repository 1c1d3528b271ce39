"""One shard held open for searches: the phases of a scatter-gather query on its side.

A :class:`Shard` answers in plain data (tuples, lists, dicts, numpy arrays, articles), so the
same object serves a search in this process and, held in a Dask actor, on a worker.

The phases, as Elasticsearch's ``dfs_query_then_fetch``: when a commit is opened each shard
reports its live documents and field length sums (:meth:`Shard.corpus`), the coordinator sums
them and gives every shard the whole (:meth:`Shard.use_corpus`); each shard reports the df
of the query's terms (:meth:`Shard.dfs`; on a cluster, of every term once per commit:
:meth:`Shard.term_table`), then scores with the summed dfs and returns its best
``offset + limit`` (:meth:`Shard.top`), which the coordinator merges.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis import Analyzer
from ..article import Article
from ..config import IndexSettings, Scoring
from ..errors import ClusterError
from ..handle import _without
from ..index import manifest as mf
from ..index.segment import Segment, stem_lookup
from ..querylang import plan as P
from ..results.facets import count_facets
from ..schema import TEXT_FIELDS, UNFIELDED_ANALYZER
from ..search.leaves import ALL_FIELDS
from ..search.matches import SegmentMatches
from ..search.proximity import Proximity
from ..search.recency import Recency
from ..search.scoring import Explanation
from ..search.searcher import Corpus, Dfs, Searcher
from ..search.similar import indexed_terms
from ..search.topk import article_ids, select
from .channel import Listener

#: A shard's best hits as arrays: segment index, doc, score, day; and their ids.
ShardTop = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]
#: What :meth:`Shard.prepare` says of one query word: stored stem, term, dfs.
WordFacts = tuple[str | None, str | None, list[int] | None]
#: Raw facet counts: per keyword field value -> articles; the distinct days and their counts.
RawFacets = tuple[dict[str, Counter[str]], np.ndarray, np.ndarray]


#: The field sets a term table counts dfs in: all text fields, then each alone.
DF_FIELDS: tuple[tuple[int, ...], ...] = (ALL_FIELDS, *((fi,) for fi in range(len(TEXT_FIELDS))))
#: A shard's terms, their dfs in :data:`DF_FIELDS`, and per field its stored stems.
TermTable = tuple[list[str], np.ndarray, dict[str, tuple[list[str], list[str]]]]


def _segment_dfs(seg: Segment) -> np.ndarray:
    """The live df of every term of ``seg`` in each of :data:`DF_FIELDS` (a column each)."""
    offs = np.asarray(seg.post_offs, dtype=np.int64)
    n = int(offs[-1]) if len(offs) else 0
    out = np.zeros((max(len(offs) - 1, 0), len(DF_FIELDS)), dtype=np.int64)
    if n == 0:
        return out
    live = None if seg.live is None else seg.live.take(seg.docs(0, n))
    tfs = seg.tfs(0, n)
    for c, fields in enumerate(DF_FIELDS):
        mask = live
        if fields != ALL_FIELDS:
            mask = tfs[fields[0]] > 0 if mask is None else mask & (tfs[fields[0]] > 0)
        if mask is None:
            out[:, c] = np.diff(offs)
        else:  # (the kept postings before each term's start: no pass of integer sums)
            out[:, c] = np.diff(np.searchsorted(np.flatnonzero(mask), offs))
    return out


class Shard:
    """Shard ``folder`` at commit ``generation`` (what a cluster manifest names)."""

    def __init__(self, folder: str, generation: int, cache_bytes: int | None = None):
        self.folder = Path(folder)
        self.generation = generation
        self.cache_bytes = cache_bytes
        self.manifest = mf.read(self.folder, generation)
        self.segments: list[Segment] = []
        try:
            for entry in self.manifest.segments:
                self.segments.append(Segment(self.folder, entry))
        except BaseException:
            self.close()
            raise
        self.searcher = Searcher(self.segments, cache_bytes=cache_bytes)
        #: The collection this shard scores as part of (:meth:`use_corpus`), once given.
        self.scored_as: Corpus | None = None
        self._dupable: dict[float, list[np.ndarray]] = {}
        settings = IndexSettings.from_stored(self.manifest.settings)
        self.store_body = settings.store_body
        self.analyzers: dict[str, Analyzer] = {}
        self._stem_lookups: dict[tuple[str, str], Callable[[str], str | None]] = {}
        for field in TEXT_FIELDS:
            analyzer = Analyzer(settings.analyzers[field])
            spec = json.loads(json.dumps(analyzer.spec.to_dict()))
            analyzer.lexicon = self._stem_lookup(field, spec)
            self.analyzers[field] = analyzer

    def corpus(self) -> Corpus:
        return self.searcher.local

    def vocabulary(self) -> int:
        """The terms of this shard's segments, counted per segment (the size of its
        :meth:`term_table` before the segments' common terms are merged)."""
        return sum(seg.entry.terms for seg in self.segments)

    def use_corpus(self, corpus: Corpus) -> None:
        """Score as part of ``corpus`` (the sum of every shard's :meth:`corpus`)."""
        self.scored_as = Corpus(corpus[0], tuple(corpus[1]))
        self.searcher = Searcher(self.segments, self.scored_as, self.cache_bytes)

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
        return self._stem_lookup(field, spec)(word)

    def _stem_lookup(self, field: str, spec: dict) -> Callable[[str], str | None]:
        """The segments' stems of ``field`` for analyzer ``spec``, each segment's table
        matched to it once, not once a word (a coordinator without a term table asks for
        every word a query meets first); the shard's own analyzers share them."""
        key = (field, json.dumps(spec, sort_keys=True))
        look_up = self._stem_lookups.get(key)
        if look_up is None:
            look_up = self._stem_lookups[key] = stem_lookup(self.segments, field, spec)
        return look_up

    def keyword_values(self, kname: str) -> list[str]:
        return sorted({v for seg in self.segments for v in seg.keyword_values(kname)})

    def term_table(self) -> TermTable:
        """Every term of this shard with its df in each of :data:`DF_FIELDS` (a column each),
        and per text field each stemmer input a segment stored a stem for, and that stem
        (as :meth:`stem_of` answers: the first segment holding the word; others: None)."""
        merged: dict[str, int] = {}
        seg_terms = [seg.terms.strings() for seg in self.segments]
        parts = []
        for seg, terms in zip(self.segments, seg_terms):
            rows = np.fromiter(
                (merged.setdefault(t, len(merged)) for t in terms), np.int64, len(terms)
            )
            parts.append((rows, _segment_dfs(seg)))
        dfs = np.zeros((len(merged), len(DF_FIELDS)), dtype=np.int64)
        for rows, counts in parts:
            dfs[rows] += counts
        stems: dict[str, tuple[list[str], list[str]]] = {}
        made: dict[tuple, tuple[list[str], list[str]]] = {}
        for field in TEXT_FIELDS:
            spec = json.loads(json.dumps(self.analyzers[field].spec.to_dict()))
            # Fields whose segments share their stem tables (title and body do) share one
            # answer: the same object, which pickling then sends once.
            key = (
                json.dumps(spec, sort_keys=True),
                tuple(getattr(seg.entry.stems.get(field), "table", None) for seg in self.segments),
            )
            if key not in made:
                found: dict[str, str] = {}
                for seg, terms in zip(reversed(self.segments), reversed(seg_terms)):
                    table = seg.surface_words(field, spec)
                    if table is not None:
                        words, numbers = table
                        found.update(zip(words, [terms[i] for i in numbers.tolist()]))
                made[key] = (list(found), list(found.values()))
            stems[field] = made[key]
        return list(merged), dfs, stems

    # -- the query phases ---------------------------------------------------------------------
    def dfs(
        self, terms: list[tuple[str, tuple[int, ...]]]
    ) -> dict[tuple[str, tuple[int, ...]], int]:
        """This shard's df of each ``(term, field indices)``."""
        return {(t, f): self.searcher.term_stats(t, f)[1] for t, f in terms}

    def prepare(
        self, words: list[tuple[str, str]], fields: list[tuple[int, ...]]
    ) -> list[WordFacts | None]:
        """For each ``(field, surface token)`` of a query about to be planned: the stem this
        shard stored for it (None: none), the term this shard's analyzer makes of it, and the
        df of that term in each of ``fields`` (field indices; None for a dropped token). The
        coordinator learns a new query's stems and dfs in one round with this."""
        out: list[WordFacts | None] = []
        for field, token in words:
            analyzer = self.analyzers[field]
            key = analyzer.stem_input(token)
            if key is None:
                out.append(None)
                continue
            stored = None if key.isdigit() else analyzer.lexicon(key)  # type: ignore[misc]
            term = analyzer.normalize(token)
            if term is None:
                out.append((stored, None, None))
                continue
            stats = self.searcher.term_stats
            out.append((stored, term, [stats(term, f)[1] for f in fields]))
        return out

    def top(
        self,
        node: P.Node,
        scoring: Scoring,
        dfs: Dfs,
        k: int,
        sort: str,
        decay: Recency | None,
        facets: bool,
        exclude: tuple[int, int] | None = None,
    ) -> tuple[ShardTop, int, RawFacets | None]:
        """This shard's best ``k`` matches in ``sort`` order, its match count and (asked) its
        raw facet counts, scored with the collection's statistics (``exclude``: a story
        never to match, (segment index, doc))."""
        matches: Iterable[tuple[int, SegmentMatches]]
        if _plain(sort, decay, facets, exclude):
            matches = self.searcher.top_matches(node, scoring, k, dfs=dfs)  # rank-safe
        else:
            matches = self.searcher.execute(node, scoring, dfs=dfs)
            if exclude is not None:
                matches = _without(matches, exclude)
        if decay is not None:
            matches = decay.apply(matches, self.segments)
        raw = None
        if facets:
            matches = list(matches)
            raw = self._raw_facets(matches)
        picked, total = select(matches, self.segments, k, sort)
        return self._compact(picked), total, raw

    def _raw_facets(self, matches: list[tuple[int, SegmentMatches]]) -> RawFacets:
        """Keyword counts and the days' histogram of ``matches`` (summed by the coordinator)."""
        keyword, days = count_facets(self.segments, matches)
        values, counts = np.unique(days, return_counts=True)
        return keyword, values, counts

    def signatures(self) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Per segment: its size, its live docs, their MinHash signatures and every doc's
        day (what a coordinator finds near-duplicates across shards with)."""
        out = []
        for seg in self.segments:
            live = np.arange(seg.ndocs) if seg.live is None else np.flatnonzero(seg.live)
            out.append((seg.ndocs, live, seg.signatures(live), np.asarray(seg.dates)))
        return out

    def use_dupable(self, threshold: float, masks: list[np.ndarray]) -> None:
        """Per segment, which docs have a near-duplicate at ``threshold`` in the whole
        collection (found by the coordinator from every shard's :meth:`signatures`)."""
        self._dupable[threshold] = masks

    def collapse_top(
        self,
        node: P.Node,
        scoring: Scoring,
        dfs: Dfs,
        k: int,
        sort: str,
        decay: Recency | None,
        facets: bool,
        threshold: float,
    ) -> tuple[ShardTop, int, RawFacets | None, ShardTop]:
        """:meth:`top` for a collapsed search: the best ``k`` plus as many as this shard has
        matches with a near-duplicate (``use_dupable``), and those matches (the coordinator
        groups them; each one it collapses leaves a place to the next best)."""
        matches: Iterable[tuple[int, SegmentMatches]] = self.searcher.execute(
            node, scoring, dfs=dfs
        )
        if decay is not None:
            matches = decay.apply(matches, self.segments)
        matches = list(matches)
        raw = self._raw_facets(matches) if facets else None
        masks = self._dupable[threshold]
        dup: list[tuple[int, int, float, int]] = []
        for si, m in matches:
            ok = masks[si].take(m.docs)
            dup.extend(
                (si, doc, score, int(self.segments[si].dates[doc]))
                for doc, score in zip(m.docs[ok].tolist(), m.scores[ok].tolist())
            )
        picked, total = select(matches, self.segments, k + len(dup), sort)
        return self._compact(picked), total, raw, self._compact(dup)

    def bonus(
        self, node: P.Node, scoring: Scoring, dfs: Dfs, segs: np.ndarray, docs: np.ndarray
    ) -> np.ndarray:
        """The proximity bonus of ``node`` for each (segment index, doc) of ``segs`` and
        ``docs``, with the collection's statistics (the rescore of a sharded search)."""
        prox = Proximity(self.searcher, scoring, node, dfs)
        out = np.zeros(len(docs), dtype=np.float64)
        for si in np.unique(segs).tolist():
            at = (segs == si).nonzero()[0]
            at = at[np.argsort(docs[at], kind="stable")]
            out[at] = prox.bonus(si, docs[at].astype(np.int32))
        return out

    def explain_bonus(
        self, node: P.Node, scoring: Scoring, dfs: Dfs, si: int, doc: int
    ) -> Explanation:
        return Proximity(self.searcher, scoring, node, dfs).explain(si, doc)

    def doc_terms(self, picks: list[tuple[int, int]]) -> list[list[str]]:
        """The terms of each (segment index, doc)'s title and body (RM3's feedback docs)."""
        out = []
        for si, doc in picks:
            if not self.store_body:
                out.append(indexed_terms(self.segments[si], doc))
                continue
            article = self.segments[si].article(doc)
            out.append(
                [t for f in TEXT_FIELDS for t in self.analyzers[f].terms(getattr(article, f))]
            )
        return out

    def like_terms(self, article_id: str) -> tuple[tuple[int, int], list[str]] | None:
        """Where ``article_id`` is and the terms of its title and body, analyzed as an
        unfielded query (MoreLikeThis's input); None if this shard does not hold it."""
        where = self.locate(article_id)
        if where is None:
            return None
        if not self.store_body:
            return where, indexed_terms(self.segments[where[0]], where[1])
        article = self.article(*where)
        analyzer = self.analyzers[UNFIELDED_ANALYZER]
        return where, analyzer.terms(article.title) + analyzer.terms(article.body)

    def _compact(self, picked: list[tuple[int, int, float, int]]) -> ShardTop:
        """Picks as arrays (what crosses the network is a few buffers, not tuples)."""
        segs = np.array([p[0] for p in picked], dtype=np.int32)
        docs = np.array([p[1] for p in picked], dtype=np.int64)
        scores = np.array([p[2] for p in picked], dtype=np.float64)
        days = np.array([p[3] for p in picked], dtype=np.int64)
        ids = article_ids(self.segments, picked)
        return segs, docs, scores, days, ids

    def count(self, node: P.Node, scoring: Scoring) -> int:
        # A top-0 search: disjunctions are counted without scoring a match (as one index).
        matches = self.searcher.top_matches(node, scoring, 0)
        return sum(len(m.docs) if m.count is None else m.count for _, m in matches)

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

    def ids_of(self, segs: np.ndarray, docs: np.ndarray) -> list[str]:
        """The id of each (segment index, doc) of ``segs`` and ``docs``."""
        return [self.segments[si].ids[doc] for si, doc in zip(segs.tolist(), docs.tolist())]

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


def run_calls(
    shards: dict[int, Shard], calls: list[tuple[int, str, tuple]], together: dict
) -> list[Any]:
    """The results of ``calls`` (``(shard number, method, arguments)``), in order.

    The ``top`` calls of a round that share their arguments (a query sent to every shard:
    one object, as unpickling keeps it) and ask for the plain top ``k`` by relevance are
    answered by one search over all those shards' segments, as one index of them
    (:func:`top_together`): a query pays its fixed costs once, not once per shard, and a
    shard's segments are pruned with the best scores of the shards searched before.
    ``together`` keeps that search's :class:`Searcher` between rounds."""
    out: list[Any] = [None] * len(calls)
    groups: dict[int, list[int]] = {}
    for at, (_, method, args) in enumerate(calls):
        if method == "top" and _plain_top(args):
            groups.setdefault(id(args), []).append(at)
    done = set()
    for ats in groups.values():
        if len(ats) < 2:
            continue
        mine = [shards[calls[at][0]] for at in ats]
        found = top_together(mine, calls[ats[0]][2], together)
        if found is not None:
            for at, reply in zip(ats, found):
                out[at] = reply
                done.add(at)
    for at, (i, method, args) in enumerate(calls):
        if at not in done:
            out[at] = getattr(shards[i], method)(*args)
    return out


def _plain_top(args: tuple) -> bool:
    """Whether :meth:`Shard.top` with ``args`` asks for the plain top ``k`` by relevance."""
    exclude = args[7] if len(args) > 7 else None
    return _plain(args[4], args[5], args[6], exclude)


def _plain(sort: str, decay: Recency | None, facets: bool, exclude: tuple[int, int] | None) -> bool:
    """Whether a top-k asks for nothing but the ``k`` best by relevance (what the rank-safe
    path answers)."""
    return decay is None and not facets and sort == "relevance" and exclude is None


def top_together(
    shards: list[Shard], args: tuple, together: dict
) -> list[tuple[ShardTop, int, None]] | None:
    """What :meth:`Shard.top` answers for each of ``shards`` (in shard order, each scoring
    as part of the same collection) for the plain top ``k`` by relevance ``args`` asks,
    from one search over all their segments; None when they do not score alike.

    A shard's part holds only its hits among the ``k`` best of them all, which is enough:
    the coordinator keeps the ``k`` best of every part, in the order :func:`select` gives
    (shard, then segment, where it gives segment), and each shard's count is its own."""
    corpus = shards[0].scored_as
    if corpus is None or any(sh.scored_as != corpus for sh in shards):
        return None
    key = tuple(id(sh.searcher) for sh in shards)
    found = together.get(key)
    if found is None or any(a is not b.searcher for a, b in zip(found[1], shards)):
        segments = [seg for sh in shards for seg in sh.segments]
        found = (Searcher(segments, corpus, shards[0].cache_bytes), [sh.searcher for sh in shards])
        together.clear()  # (one query shape at a time: a new commit replaces the old)
        together[key] = found
    searcher = found[0]
    node, scoring, dfs, k = args[0], args[1], args[2], args[3]
    owner: list[int] = []
    first: list[int] = []
    for n, sh in enumerate(shards):
        first.append(len(owner))
        owner.extend([n] * len(sh.segments))
    totals = [0] * len(shards)

    def tallied() -> Iterable[tuple[int, SegmentMatches]]:
        for si, m in searcher.top_matches(node, scoring, k, dfs=dfs):
            totals[owner[si]] += len(m.docs) if m.count is None else m.count
            yield si, m

    picked, _ = select(tallied(), searcher.segments, k, "relevance")
    parts: list[list[tuple[int, int, float, int]]] = [[] for _ in shards]
    for si, doc, score, day in picked:
        n = owner[si]
        parts[n].append((si - first[n], doc, score, day))
    return [(sh._compact(part), totals[n], None) for n, (sh, part) in enumerate(zip(shards, parts))]


class ShardGroup:
    """The shards one Dask worker holds, in one actor: a round of a query is one message
    per worker, not one per shard.

    ``run`` is a coroutine so the worker runs it on its event loop: a call is short, and
    handing it to the actor thread and back costs more than it does (a thread switch waits
    for the GIL). Where it can, the coordinator sends its rounds past Dask, to the port
    :meth:`listen` opens (see :mod:`newsindex.cluster.channel`).
    """

    def __init__(self, shards: list[tuple[int, str, int]], cache_bytes: int | None):
        self.shards: dict[int, Shard] = {}
        self._listener: Listener | None = None
        self._together: dict = {}  # (see run_calls)
        try:
            for i, folder, generation in shards:
                self.shards[i] = Shard(folder, generation, cache_bytes)
        except BaseException:
            self.close()
            raise

    async def run(self, calls: bytes) -> bytes:
        """The results of ``calls``, a list of ``(shard number, method, arguments)``, in
        order. Both are pickled here, not by Dask: Dask serializes a message's objects one
        by one (every numpy array a frame of its own), which costs more than a small query.
        """
        out = run_calls(self.shards, pickle.loads(calls), self._together)
        return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)

    async def listen(self, host: str) -> tuple[int, bytes] | None:
        """Serve rounds on a port of ``host`` (this worker's own) too: the port and the
        token a connection must send first; None if no port could be opened there."""
        if self._listener is None:
            try:
                self._listener = Listener(self, ShardGroup._answer, host)
            except OSError:
                return None
        return self._listener.port, self._listener.token

    def _answer(self, calls: bytearray) -> bytes:
        """:meth:`run` for a message that came to the port: ``(True, results)``, or
        ``(False, the exception)`` that the coordinator raises."""
        try:
            reply = (True, run_calls(self.shards, pickle.loads(calls), self._together))
            return pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            try:
                return pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # (an exception that cannot cross: say what it was)
                error = ClusterError(f"a shard failed: {type(exc).__name__}: {exc}")
                return pickle.dumps((False, error), protocol=pickle.HIGHEST_PROTOCOL)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        for shard in self.shards.values():
            shard.close()
        self.shards = {}
