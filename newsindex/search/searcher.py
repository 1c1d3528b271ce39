"""Executes a plan over a snapshot of segments: filters, vectorized BM25F, top-k merge.

Every step works on whole numpy arrays per segment: a term's postings slice is scored in one
expression, filters become a doc-id range (documents are date-sorted inside a segment) and a
boolean mask, boolean operators are sorted-array set operations. Python runs per clause and
per segment, never per posting or per candidate document.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple, overload

import numpy as np

from ..bm25f import field_factors, idf, saturate
from ..config import Scoring
from ..index.segment import Segment
from ..querylang import plan as P
from ..schema import NO_DATE, TEXT_FIELDS
from . import prune, scan
from .leaves import (
    ALL_FIELDS,
    PhraseLeaf,
    PrefixLeaf,
    TermLeaf,
    all_position_keys,
    field_filter,
    field_indices,
)
from .matches import (
    EMPTY_DOCS,
    EMPTY_SCORES,
    ColumnTest,
    Restrict,
    SegmentMatches,
    add_optional,
    all_docs,
    difference,
    intersect,
    union,
)
from .phrasekeys import position_keys_within
from .scoring import Explanation

#: Memory for the per-term arrays a snapshot keeps: score arrays ("impacts"), their doc
#: numbers and position keys for phrase joins, together (the least recently used go first
#: when full). At 1M stories a run of phrases' position keys are most of it: a smaller
#: budget drops them before they are asked for again (benchmarks/RESULTS.md, "The
#: term-array cache's budget after compiled scoring").
TERM_ARRAYS_CACHE_BYTES = 256 * 1024 * 1024
#: A phrase word's keys are made only in the documents its rarer words left (and not kept)
#: when those are fewer than its postings divided by this; else all of them (and kept):
#: past that share, made for the query they cost about as much as all of them, made again
#: by each query (benchmarks/RESULTS.md, issue 15, "Thirteenth run").
WITHIN_SHARE = 4
#: ... and only for a word of this many postings or more in the segment: a rarer word's keys
#: are small, kept whole, and read again by later phrases at no cost.
WITHIN_FROM = 1 << 15
#: Terms whose postings slices and df a snapshot keeps (cleared when full).
TERM_STATS_CACHE_SIZE = 100_000


class _ArrayCache:
    """Read-only arrays computed once and shared by every later query, within a byte budget.

    Segmented LRU: a new array waits in a probation list; a later lookup promotes it to the
    protected list (at most PROTECTED of the budget, its least recently used demoted back).
    Past the budget, the least recently used of probation go first: arrays made once and
    not asked for again leave before those queries keep sharing (the terms most queries
    meet), and a run of queries over more terms than fit cannot flush those. An array
    larger than the whole budget is returned, never held.
    """

    #: Most of the budget stays for probation: a phrase word's position keys are large, and
    #: a probation list too small for the keys of the phrases in flight drops each before
    #: its second use (measured in benchmarks/RESULTS.md, "the cache's protected share").
    PROTECTED = 0.3

    def __init__(self, budget: int):
        self._probation: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._protected: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._protected_bytes = 0
        self._budget = budget
        # Threads share a snapshot: lookups move entries, and inserts, evictions and the
        # byte counts must happen as one step, or the counts drift from what is held.
        self._lock = threading.Lock()

    def get(self, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
        found = self.peek(key)
        if found is None:
            found = make()  # outside the lock: threads may make the same array; one is kept
            if found.nbytes > self._budget:
                found.flags.writeable = False  # (read-only as a held one is)
                return found  # used by this query, never held
            if not found.flags.owndata:
                # A view would keep its whole base alive past its own eviction: the budget
                # counts what the cache holds only if every entry owns its memory.
                found = found.copy()
            found.flags.writeable = False  # shared by every query that slices it
            with self._lock:
                kept = self._protected.get(key)
                if kept is None:
                    kept = self._probation.get(key)
                if kept is None:
                    # Room is made before the array is counted: the count is never over
                    # the budget, not even for a moment a reader of ``nbytes`` could see.
                    self._evict(self._budget - found.nbytes)
                    self._probation[key] = found
                    self._bytes += found.nbytes
                    kept = found
                found = kept
        return found

    def _evict(self, room: int) -> None:
        while self._bytes > room:
            if self._probation:
                self._bytes -= self._probation.popitem(last=False)[1].nbytes
            else:
                gone = self._protected.popitem(last=False)[1].nbytes
                self._bytes -= gone
                self._protected_bytes -= gone

    def peek(self, key: tuple) -> np.ndarray | None:
        with self._lock:
            found = self._protected.get(key)
            if found is not None:
                self._protected.move_to_end(key)
                return found
            found = self._probation.pop(key, None)
            if found is not None:
                self._protected[key] = found
                self._protected_bytes += found.nbytes
                cap = self._budget * self.PROTECTED
                while self._protected_bytes > cap:
                    old_key, old = self._protected.popitem(last=False)
                    self._protected_bytes -= old.nbytes
                    self._probation[old_key] = old  # demoted: newest of probation
        return found

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays held (never more than the budget)."""
        with self._lock:
            return self._bytes

    def held(self) -> list[np.ndarray]:
        """The arrays held now, least recently used first."""
        with self._lock:
            return [*self._probation.values(), *self._protected.values()]


class Corpus(NamedTuple):
    """Statistics of a whole collection that one searcher sees only a part of (a shard of a
    sharded index): live documents and, per text field, the sum of their lengths."""

    doc_count: int
    field_totals: tuple[float, ...]


#: Global document frequencies of a query's terms: ``(term, field indices) -> df``.
Dfs = Mapping[tuple[str, tuple[int, ...]], int]


class FieldNorms:
    """A text field's ``w_f / norm`` of every document of a segment, found by the document's
    length in the field's table by length (:meth:`Searcher.length_tables`, made by the same
    operations, so the values are the per-document ones to the bit): no float64 per document
    and field (16 bytes a story, all made before a query's first answer over an archive).
    ``take`` and indexing answer as on the per-document array."""

    __slots__ = ("table", "lengths")

    def __init__(self, table: np.ndarray, lengths: np.ndarray):
        self.table = table
        self.lengths = lengths

    def take(self, docs: np.ndarray) -> np.ndarray:
        return self.table.take(self.lengths.take(docs))

    def __getitem__(self, doc: int) -> np.float64:
        return self.table[self.lengths[doc]]

    def __len__(self) -> int:
        return len(self.lengths)


#: A field's norms of a segment's documents, by length or one per document.
Norms = FieldNorms | np.ndarray


class Searcher:
    """A consistent view of one commit's segments, with corpus statistics for scoring.

    ``corpus`` replaces the segments' own statistics with a whole collection's (a shard
    scores as the whole sharded index would); the df of each term is then given per query
    (``execute(..., dfs=...)``), summed over the shards by the caller.
    """

    #: Internal: True evaluates every query exhaustively (the reference the pruned top-k is
    #: tested against).
    exhaustive = False

    def __init__(
        self,
        segments: Sequence[Segment],
        corpus: Corpus | None = None,
        cache_bytes: int | None = None,
    ):
        self.segments = list(segments)
        self.doc_count = sum(s.nlive for s in self.segments)
        self.max_postings = max((s.entry.postings for s in self.segments), default=0)
        totals = np.zeros(len(TEXT_FIELDS), dtype=np.float64)
        for seg in self.segments:
            for fi, fname in enumerate(TEXT_FIELDS):
                totals[fi] += seg.entry.field_lengths[fname]
                if seg.ndeleted:
                    totals[fi] -= float(seg.lengths[fi][seg.deleted].sum(dtype=np.int64))
        #: This view's own statistics, what a coordinator sums into a Corpus.
        self.local = Corpus(self.doc_count, tuple(float(t) for t in totals))
        if corpus is not None:
            self.doc_count = corpus.doc_count
            totals = np.array(corpus.field_totals, dtype=np.float64)
        n = max(self.doc_count, 1)
        self.avg_lengths = tuple(float(t) / n for t in totals)
        self._norms: dict[tuple, tuple] = {}
        # (cache_bytes None: TERM_ARRAYS_CACHE_BYTES, read now.)
        self._term_arrays = _ArrayCache(
            TERM_ARRAYS_CACHE_BYTES if cache_bytes is None else cache_bytes
        )
        self._term_stats: dict[tuple, tuple] = {}
        self._term_slices: dict[str, tuple[tuple[int, int], ...]] = {}
        self._ratios: dict[tuple, list[float | None]] = {}
        self._order: list[int] | None = None

    # -- per-segment helpers ----------------------------------------------------------------
    def weighted_norms(self, si: int, scoring: Scoring) -> tuple[Norms, ...]:
        """Per field, ``w_f / (1 - b_f + b_f * len / avglen)`` of every doc of segment ``si``:
        found by length (:class:`FieldNorms`, over :meth:`length_tables`) where the segment's
        lengths are coded, a float64 per document (:meth:`document_norms`, kept) otherwise."""
        seg = self.segments[si]
        if seg.length_codes is not None:
            return tuple(map(FieldNorms, self.length_tables(si, scoring), seg.lengths))
        key = (si, scoring.key())
        cached = self._norms.get(key)
        if cached is None:
            cached = self.document_norms(si, scoring)
            if len(self._norms) > 64:
                self._norms.clear()
            self._norms[key] = cached
        return cached

    def document_norms(self, si: int, scoring: Scoring) -> tuple[np.ndarray, ...]:
        """:meth:`weighted_norms` as a float64 per document of segment ``si``."""
        seg = self.segments[si]
        return tuple(
            field_factors(
                seg.lengths[fi], self.avg_lengths[fi], scoring.b_for(f), scoring.weight(f)
            )
            for fi, f in enumerate(TEXT_FIELDS)
        )

    def length_tables(self, si: int, scoring: Scoring) -> tuple[np.ndarray, ...]:
        """Per field, :meth:`weighted_norms`' value for each length from 0 to segment
        ``si``'s longest (its ``length_codes`` must be set): the same elementwise
        operations, so ``table[length] == norm`` of every document to the bit."""
        key = (si, scoring.key(), "by length")
        cached = self._norms.get(key)
        if cached is None:
            coded = self.segments[si].length_codes
            assert coded is not None
            cached = tuple(
                field_factors(
                    np.arange(top + 1, dtype=np.int32),
                    self.avg_lengths[fi],
                    scoring.b_for(f),
                    scoring.weight(f),
                )
                for fi, (f, top) in enumerate(zip(TEXT_FIELDS, coded.tops))
            )
            if len(self._norms) > 64:
                self._norms.clear()
            self._norms[key] = cached
        return cached

    def tight_ratios(self, scoring: Scoring) -> list[float | None]:
        """Per segment, :func:`.scan.tight_ratio` under ``scoring`` once worked out (None:
        not yet): a search asks for it in every segment, and it depends on nothing else."""
        key = scoring.key()
        found = self._ratios.get(key)
        if found is None:
            if len(self._ratios) > 64:
                self._ratios.clear()
            found = self._ratios[key] = [None] * len(self.segments)
        return found

    def term_stats(
        self, term: str, fields: tuple[int, ...], dfs: Dfs | None = None
    ) -> tuple[tuple, int, float]:
        """(postings slice per segment, df over live docs, idf) of ``term`` in ``fields``;
        with ``dfs``, the df given there (the collection's) and its idf.

        Kept per snapshot: they depend on nothing else, and working them out is most of the
        fixed cost of a term in a short query.
        """
        if dfs is not None:  # a shard: the collection's df is given, its own is not needed
            df = dfs[(term, fields)]
            return self.term_slices(term), df, idf(df, self.doc_count) if df else 0.0
        key = (term, fields)
        found = self._term_stats.get(key)
        if found is None:
            found = self._keep_stats(term, fields, self.term_slices(term))
        return found

    def terms_stats(
        self, terms: Sequence[str], fields: tuple[int, ...], dfs: Dfs | None = None
    ) -> list[tuple[tuple, int, float]]:
        """:meth:`term_stats` of each of ``terms``, the words new to this snapshot looked up
        together in each segment (:meth:`Segment.term_ranges`): a long request meets many."""
        if dfs is not None:
            return [self.term_stats(t, fields, dfs) for t in terms]
        cache = self._term_stats
        found = [cache.get((t, fields)) for t in terms]
        if None in found:
            new = [t for t in dict.fromkeys(terms) if (t, fields) not in cache]
            ranges = [seg.term_ranges(new) for seg in self.segments]
            per_term = zip(*ranges) if ranges else [()] * len(new)  # (no segment: no slices)
            made = {t: self._keep_stats(t, fields, sl) for t, sl in zip(new, per_term)}
            found = [made[t] if f is None else f for t, f in zip(terms, found)]
        return found  # type: ignore[return-value]

    def _keep_stats(
        self, term: str, fields: tuple[int, ...], slices: tuple[tuple[int, int], ...]
    ) -> tuple[tuple, int, float]:
        """:meth:`term_stats` of a term not yet kept, from its postings slices; kept."""
        df = 0
        for seg, (s, e) in zip(self.segments, slices):
            if e <= s:
                continue
            sel = field_filter(seg, fields, s, e)
            if sel is None and seg.live is None:
                df += e - s  # every posting counts: no need to read its doc number
                continue
            docs = seg.docs(s, e)
            if sel is not None:
                docs = docs[sel]
            df += len(docs) if seg.live is None else int(np.count_nonzero(seg.live.take(docs)))
        found = (slices, df, idf(df, self.doc_count) if df else 0.0)
        if len(self._term_stats) >= TERM_STATS_CACHE_SIZE:
            self._term_stats.clear()
        self._term_stats[(term, fields)] = found
        return found

    def term_slices(self, term: str) -> tuple[tuple[int, int], ...]:
        """The postings slice ``(s, e)`` of ``term`` in each segment (kept per snapshot)."""
        found = self._term_slices.get(term)
        if found is None:
            found = tuple(seg.term_range(term) for seg in self.segments)
            if len(self._term_slices) >= TERM_STATS_CACHE_SIZE:
                self._term_slices.clear()
            self._term_slices[term] = found
        return found

    def term_docs(self, si: int, s: int, e: int) -> np.ndarray:
        """Doc numbers of the postings ``[s, e)`` of one term in segment ``si`` (read-only),
        kept beside its impacts: decoding them is most of a known term's cost in a query."""
        return self._term_arrays.get(("docs", si, s, e), lambda: self.segments[si].docs(s, e))

    def term_impacts(self, si: int, leaf: TermLeaf, s: int, e: int) -> np.ndarray:
        """Unboosted scores of the postings ``[s, e)`` of a whole-document term (read-only)."""

        def make() -> np.ndarray:
            seg = self.segments[si]
            docs = seg.docs(s, e)
            tfs = seg.tfs(s, e)
            norms = leaf.ctx.norms(si)
            # take: several times faster than [] with int32 indices, the same values
            tfn = tfs[0] * norms[0].take(docs)
            for fi in ALL_FIELDS[1:]:
                tfn += tfs[fi] * norms[fi].take(docs)
            found = saturate(tfn, leaf.ctx.scoring.k1)
            found *= leaf.idf
            return found

        return self._term_arrays.get(self._impacts_key(si, leaf), make)

    @staticmethod
    def _impacts_key(si: int, leaf: TermLeaf) -> tuple:
        # (The idf is in the key: with per-query dfs it is not a fact of the snapshot alone.)
        return ("impacts", si, leaf.node.term, leaf.ctx.scoring.key(), leaf.idf)

    def impacts_many(self, si: int, leaves: Sequence[TermLeaf]) -> list[np.ndarray]:
        """:meth:`term_impacts` of each leaf (whole-document terms with postings in segment
        ``si``), those no query made yet computed together: one pass of numpy calls for all
        of them instead of one per term, the same operations, so the same values."""
        found: list[np.ndarray | None] = [self.cached_impacts(si, leaf, 0, 0) for leaf in leaves]
        missing = [i for i, f in enumerate(found) if f is None]
        if len(missing) == 1:
            i = missing[0]
            found[i] = self.term_impacts(si, leaves[i], *leaves[i].slices[si])
        elif missing:
            seg = self.segments[si]
            spans = [leaves[i].slices[si] for i in missing]
            docs, tfs = seg.postings_many(spans)
            ctx = leaves[missing[0]].ctx
            norms = ctx.norms(si)
            tfn = tfs[0] * norms[0].take(docs)
            for fi in ALL_FIELDS[1:]:
                tfn += tfs[fi] * norms[fi].take(docs)
            scores = saturate(tfn, ctx.scoring.k1)
            lengths = [e - s for s, e in spans]
            # Each term's idf times its own scores, as term_impacts multiplies them.
            scores *= np.repeat([leaves[i].idf for i in missing], lengths)
            ends = np.cumsum(lengths).tolist()
            for i, a, b in zip(missing, [0] + ends[:-1], ends):
                leaf = leaves[i]
                found[i] = self._term_arrays.get(self._impacts_key(si, leaf), scores[a:b].view)
        return found  # type: ignore[return-value]

    def cached_impacts(self, si: int, leaf: TermLeaf, s: int, e: int) -> np.ndarray | None:
        """:meth:`term_impacts` if some query already made them, else None."""
        return self._term_arrays.peek(self._impacts_key(si, leaf))

    def block_bounds(self, si: int, leaf: TermLeaf) -> np.ndarray:
        """Per block of ``leaf``'s postings in segment ``si``, a bound of its unboosted scores
        there (see :mod:`.prune`; read-only)."""
        return self._term_arrays.get(
            ("bmax", si, leaf.node.term, leaf.ctx.scoring.key(), leaf.idf),
            lambda: prune.block_bounds(leaf.ctx, si, leaf),
        )

    def window_bounds(self, si: int, leaf: TermLeaf, s: int, e: int, nwin: int) -> np.ndarray:
        """Per doc-id window of segment ``si``, a bound of ``leaf``'s unboosted scores there
        (see :mod:`.prune`; read-only)."""
        return self._term_arrays.get(
            ("wmax", si, leaf.node.term, leaf.ctx.scoring.key(), leaf.idf),
            lambda: prune.window_bounds(leaf.ctx, si, leaf, s, e, nwin),
        )

    def window_edges(self, si: int, leaf: TermLeaf, s: int, e: int, nwin: int) -> np.ndarray:
        """Where each doc-id window starts in ``leaf``'s postings of segment ``si``."""
        return self._term_arrays.get(
            ("wedges", si, leaf.node.term),
            lambda: prune.window_edges(self.segments[si].docs(s, e), nwin),
        )

    def position_keys(
        self, si: int, leaf: TermLeaf, within: np.ndarray | None = None
    ) -> np.ndarray:
        """Sorted ``doc << 32 | field << 24 | position`` of every occurrence of ``leaf``'s term
        (in its fields) in segment ``si`` (read-only); given ``within`` (sorted keys, a
        phrase's anchors), those of documents none of them is in may be left out.

        All of a term's are kept per snapshot like the impacts (a phrase's rarest word's,
        read again by the next phrase that has it). Those within some documents (a phrase's
        more common word's, where its rarer words are) are made for the query and not kept:
        a common word's keys are large, and a query's documents seldom come again. When
        the documents are many for the term's postings, all its keys are made (and kept):
        kept to those, they would cost as much and be made again by the next query.
        """
        s, e = leaf.slices[si]
        key = ("positions", si, leaf.node.term, leaf.fields)
        if within is not None and e - s >= WITHIN_FROM and len(within) * WITHIN_SHARE < e - s:
            if self._term_arrays.peek(key) is None:
                made = position_keys_within(self.segments[si], s, e, leaf.fields, within)
                if made is not None:
                    return made
        return self._term_arrays.get(
            key, lambda: all_position_keys(self.segments[si], s, e, leaf.fields)
        )

    def phrase_postings(self, si: int, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
        """A phrase's matches in segment ``si`` over every live document, packed by
        :class:`~.leaves.PhraseLeaf` (read-only): kept per snapshot, as a word's impacts are.
        Its common words' keys are not kept (see :meth:`position_keys`), so a phrase asked
        again would make them again; its matches are few bytes a document."""
        return self._term_arrays.get(("phrase", si, *key), make)

    def base_restrict(self, si: int) -> Restrict:
        seg = self.segments[si]
        return Restrict(0, seg.ndocs, seg.live)

    # -- execution ----------------------------------------------------------------------------
    def execute(
        self,
        node: P.Node,
        scoring: Scoring,
        only: tuple[int, int] | None = None,
        dfs: Dfs | None = None,
    ) -> Iterator[tuple[int, SegmentMatches]]:
        """Evaluate ``node`` in every segment; yields ``(segment index, SegmentMatches)``.

        ``only=(si, doc)`` restricts evaluation to one document (used by explain); ``dfs``:
        the collection's df of every term of ``node`` (see :func:`scored_terms`).
        """
        node = _normalize(node)
        ctx = _Context(self, scoring, dfs)
        try:
            for si, seg in enumerate(self.segments):
                if only is not None:
                    if only[0] != si:
                        continue
                    mask = np.zeros(seg.ndocs, dtype=bool)
                    mask[only[1]] = True
                    if seg.live is not None:
                        mask &= seg.live
                    restrict = Restrict(only[1], only[1] + 1, mask)
                else:
                    restrict = self.base_restrict(si)
                yield si, ctx.evaluate(node, si, restrict)
        finally:
            ctx.close()

    def top_matches(
        self,
        node: P.Node,
        scoring: Scoring,
        k: int,
        dfs: Dfs | None = None,
        count: bool = True,
    ) -> Iterator[tuple[int, SegmentMatches]]:
        """What :meth:`execute` yields, for a search that wants only the ``k`` best by
        relevance (and the total): a segment's matches may leave out documents that cannot
        rank, counted in ``SegmentMatches.count`` instead (rank-safe, see :mod:`.prune`).
        ``dfs`` as for :meth:`execute`. Without ``count`` (and ``k`` > 0), matches that
        cannot rank may go uncounted (``SegmentMatches.exact`` False)."""
        node = _normalize(node)
        dis = None
        if not self.exhaustive and (k <= 0 or self.max_postings >= prune.SMALL):
            dis = prune.disjunction(node)
        if dis is None:
            if k > 0 and not self.exhaustive:
                dis = prune.disjunction(node)
                if dis is not None:
                    yield from self._scanned(node, dis, scoring, k, dfs, count)
                    return
            yield from self.execute(node, scoring, dfs=dfs)
            return
        ctx = _Context(self, scoring, dfs)
        try:
            yield from prune.run(ctx, node, dis, k)
        finally:
            ctx.close()

    def _scanned(
        self,
        node: P.Node,
        dis: prune.Disjunction,
        scoring: Scoring,
        k: int,
        dfs: Dfs | None,
        count: bool,
    ) -> Iterator[tuple[int, SegmentMatches]]:
        """:meth:`top_matches` of a disjunction: each segment's ``k`` best through the
        compiled :mod:`.scan` where it applies, else the numpy path (what :meth:`execute`
        does). The k-th best score of the segments done is the bar the next must reach."""
        ctx = _Context(self, scoring, dfs)
        try:
            use = scan.wanted(ctx, dis)
            best = prune.Best(k)
            # Plain words: the largest segment first (see _largest_first). A filtered search
            # keeps the index's order: what a filter leaves of a small segment is cheap to
            # score whole, and the bar it sets lets the large ones prune from their start.
            plain = not dis.filters and not dis.nots
            order = self._largest_first() if plain else range(len(self.segments))
            for n, si in enumerate(order):
                found = None
                if use:
                    found = scan.segment_top(ctx, dis, si, k, best if n else None, count)
                if found is None:
                    found = ctx.evaluate(node, si, self.base_restrict(si))
                if use:
                    best.add(found.scores)
                yield si, found
        finally:
            ctx.close()

    def _largest_first(self) -> list[int]:
        """The segments' indices, the most documents first: a top-k search that takes them
        in this order knows a high k-th best score early, below which the smaller segments'
        blocks need no reading."""
        order = self._order
        if order is None:
            sizes = [seg.ndocs for seg in self.segments]
            order = self._order = sorted(range(len(sizes)), key=lambda si: -sizes[si])
        return order

    def explain(
        self, node: P.Node, scoring: Scoring, si: int, doc: int, dfs: Dfs | None = None
    ) -> Explanation | None:
        """How ``doc`` of segment ``si`` scores for ``node``: a tree that mirrors the plan, in
        which every node's value is the sum (or the labelled product) of its children's and
        clauses that do not match the document are left out; None when it does not match."""
        seg = self.segments[si]
        mask = np.zeros(seg.ndocs, dtype=bool)
        mask[doc] = True
        if seg.live is not None:
            mask &= seg.live
        ctx = _Context(self, scoring, dfs)
        try:
            return ctx.explain(_normalize(node), si, Restrict(doc, doc + 1, mask))
        finally:
            ctx.close()


class _Context:
    """Per-query state: leaf statistics (computed once across segments) and the scoring."""

    def __init__(self, searcher: Searcher, scoring: Scoring, dfs: Dfs | None = None):
        self.searcher = searcher
        self.scoring = scoring
        self.dfs = dfs
        self._leaves: dict[P.Term | P.Phrase | P.Prefix, TermLeaf | PhraseLeaf | PrefixLeaf] = {}
        self._norms: dict[int, tuple[Norms, ...]] = {}
        self._tables: dict[int, tuple[np.ndarray, ...]] = {}
        self._scan: dict[int, scan.Prepared] = {}
        self._ratios: list[float | None] | None = None

    def close(self) -> None:
        # Leaves point back at their context: without this the pair (and through it the
        # searcher and its segments' open files) would wait for the cyclic garbage collector
        # after a refresh instead of going when the query ends.
        self._leaves.clear()
        self._norms.clear()
        self._tables.clear()
        self._scan.clear()

    def scan_query(self, dis: prune.Disjunction) -> scan.Prepared:
        """What :func:`.scan.segment_top` works out once per query for ``dis``."""
        # (By identity: hashing a plan hashes every node in it. A Prepared keeps its
        # disjunction, so the id is not reused while the entry lives.)
        found = self._scan.get(id(dis))
        if found is None or found.dis is not dis:
            found = self._scan[id(dis)] = scan.Prepared(self, dis)
        return found

    def norms(self, si: int) -> tuple[Norms, ...]:
        found = self._norms.get(si)
        if found is None:
            found = self._norms[si] = self.searcher.weighted_norms(si, self.scoring)
        return found

    def tight_ratio(self, si: int) -> float:
        """:func:`.scan.tight_ratio` of segment ``si`` for this query's scoring."""
        ratios = self._ratios
        if ratios is None:
            ratios = self._ratios = self.searcher.tight_ratios(self.scoring)
        found = ratios[si]
        if found is None:
            found = ratios[si] = scan.tight_ratio(self.searcher, si, self.scoring)
        return found

    def length_tables(self, si: int) -> tuple[np.ndarray, ...]:
        found = self._tables.get(si)
        if found is None:
            found = self._tables[si] = self.searcher.length_tables(si, self.scoring)
        return found

    @overload
    def leaf(self, node: P.Term) -> TermLeaf: ...
    @overload
    def leaf(self, node: P.Phrase) -> PhraseLeaf: ...
    @overload
    def leaf(self, node: P.Prefix) -> PrefixLeaf: ...
    @overload
    def leaf(self, node: P.Term | P.Phrase | P.Prefix) -> TermLeaf | PhraseLeaf | PrefixLeaf: ...
    def leaf(self, node: P.Term | P.Phrase | P.Prefix) -> TermLeaf | PhraseLeaf | PrefixLeaf:
        leaf = self._leaves.get(node)
        if leaf is None:
            if isinstance(node, P.Term):
                leaf = TermLeaf(node, self)
            elif isinstance(node, P.Phrase):
                leaf = PhraseLeaf(node, self)
            else:
                leaf = PrefixLeaf(node, self)
            self._leaves[node] = leaf
        return leaf

    def evaluate(self, node: P.Node, si: int, restrict: Restrict) -> SegmentMatches:
        if isinstance(node, P.SCORING):
            return self.leaf(node).match(si, restrict)
        if isinstance(node, P.Bool):
            return self._bool(node, si, restrict)
        # A bare filter: every doc it allows, unscored.
        return all_docs(self.restrict(node, si, restrict))

    def explain(self, node: P.Node, si: int, r: Restrict) -> Explanation | None:
        """See :meth:`Searcher.explain` (``r`` allows the one document)."""
        if isinstance(node, P.SCORING):
            m = self.leaf(node).match(si, r)
            return self.leaf(node).explain(si, r.lo, float(m.scores[0])) if len(m.docs) else None
        m = self.evaluate(node, si, r)
        if not len(m.docs):
            return None
        value = float(m.scores[0])
        if not isinstance(node, P.Bool) or not _has_scoring(node):
            return Explanation(value, "matches the filters (no score)")
        parts = []
        for c in node.must + node.should:
            if _has_scoring(c):
                found = self.explain(c, si, r)
                if found is not None:
                    parts.append(found)
        if node.boost == 1.0:
            return Explanation(value, "sum of the matching clauses:", parts)
        total = sum(p.value for p in parts)
        inner = Explanation(total, "sum of the matching clauses:", parts)
        boost = Explanation(node.boost, "boost of the group")
        return Explanation(value, "boosted group, product of:", [inner, boost], op="product")

    # -- filters ------------------------------------------------------------------------------
    def restrict(self, node: P.Node, si: int, r: Restrict, negate: bool = False) -> Restrict:
        """Narrow ``r`` by a filter clause (or by its negation)."""
        seg = self.searcher.segments[si]
        if isinstance(node, P.DateRange) and not negate:
            lo, hi = _date_bounds(seg, node)
            return Restrict(max(r.lo, lo), min(r.hi, hi), r.mask, r.tests)
        if isinstance(node, P.MatchAll):
            return r if not negate else Restrict(r.lo, r.lo, r.mask, r.tests)
        if isinstance(node, P.MatchNone):
            return Restrict(r.lo, r.lo, r.mask, r.tests) if not negate else r
        if isinstance(node, P.Keyword):
            codes = seg.keyword_codes_for(node.field, node.keys)
            if not len(codes) and not negate:
                return Restrict(r.lo, r.lo, r.mask, r.tests)
            if len(codes):
                test = ColumnTest(seg.keyword_codes[node.field], codes, negate)
                return Restrict(r.lo, r.hi, r.mask, r.tests + (test,))
            return r
        allowed = self.filter_mask(node, si)
        if negate:
            allowed = ~allowed
        mask = allowed if r.mask is None else (r.mask & allowed)
        return Restrict(r.lo, r.hi, mask, r.tests)

    def filter_mask(self, node: P.Node, si: int) -> np.ndarray:
        """A boolean mask over segment ``si`` of the docs ``node`` matches (scores ignored)."""
        seg = self.searcher.segments[si]
        n = seg.ndocs
        if isinstance(node, P.DateRange):
            lo, hi = _date_bounds(seg, node)
            mask = np.zeros(n, dtype=bool)
            mask[lo:hi] = True
            return mask
        if isinstance(node, P.Keyword):
            codes = seg.keyword_codes_for(node.field, node.keys)
            return np.isin(seg.keyword_codes[node.field], codes)
        if isinstance(node, P.MatchAll):
            return np.ones(n, dtype=bool)
        if isinstance(node, P.MatchNone):
            return np.zeros(n, dtype=bool)
        mask = np.zeros(n, dtype=bool)
        mask[self.evaluate(node, si, Restrict(0, n, None)).docs] = True
        return mask

    # -- boolean ------------------------------------------------------------------------------
    def _evaluate_all(self, clauses: tuple[P.Node, ...], si: int, r: Restrict) -> list:
        """Each clause's matches in segment ``si``; the impacts of its whole-document terms
        that no query made yet made together (see :meth:`Searcher.impacts_many`)."""
        made: dict[TermLeaf, np.ndarray] = {}
        if len(clauses) > 1:
            searcher = self.searcher
            cold = []
            for c in clauses:
                if isinstance(c, P.Term):
                    leaf = self.leaf(c)
                    s, e = leaf.slices[si]
                    if e > s and leaf.fields == ALL_FIELDS:
                        if searcher.cached_impacts(si, leaf, s, e) is None:
                            cold.append(leaf)
            if len(cold) > 1:
                made = dict(zip(cold, searcher.impacts_many(si, cold)))
        if not made:
            return [self.evaluate(c, si, r) for c in clauses]
        out = []
        for c in clauses:
            got = self._leaves.get(c) if isinstance(c, P.Term) else None
            if isinstance(got, TermLeaf) and got in made:
                out.append(got.match(si, r, made[got]))
            else:
                out.append(self.evaluate(c, si, r))
        return out

    def _bool(self, node: P.Bool, si: int, r: Restrict) -> SegmentMatches:
        n = self.searcher.segments[si].ndocs
        if not (node.must or node.should or node.filter or node.must_not):
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES)
        for f in node.filter:
            r = self.restrict(f, si, r)
        scoring_not = []
        for f in node.must_not:
            if isinstance(f, (P.DateRange, P.Keyword, P.MatchAll, P.MatchNone)) or (
                isinstance(f, P.Bool) and not _has_scoring(f)
            ):
                r = self.restrict(f, si, r, negate=True)
            else:
                scoring_not.append(f)
        if r.lo >= r.hi:
            return SegmentMatches(EMPTY_DOCS, EMPTY_SCORES)
        scored_must = [c for c in node.must if not _is_match_all(c)]
        if scored_must:
            result = self.evaluate(scored_must[0], si, r)
            for c in scored_must[1:]:
                if not len(result.docs):
                    break
                result = intersect(result, self.evaluate(c, si, r))
            if node.should and len(result.docs):
                result = add_optional(result, self._evaluate_all(node.should, si, r))
        elif node.should and not node.must and not node.filter:
            result = union(self._evaluate_all(node.should, si, r), n)
        else:  # filters (or MatchAll) only, maybe with optional should clauses
            result = all_docs(r)
            if node.should:
                result = add_optional(result, self._evaluate_all(node.should, si, r))
        for c in scoring_not:
            if not len(result.docs):
                break
            result = difference(result, self.evaluate(c, si, r).docs)
        if node.boost != 1.0:
            result = SegmentMatches(result.docs, result.scores * node.boost)
        return result


# -- plan utilities ----------------------------------------------------------------------------
def _normalize(node):
    """Merge repeated identical should-leaves into one with a multiplied boost."""
    if not isinstance(node, P.Bool):
        return node
    must, should, filter_, must_not = node.must, node.should, node.filter, node.must_not
    # (An empty tuple needs no call: most plans leave two or three of the four empty.)
    if must or type(must) is not tuple:
        must = _normalized(must)
    if should or type(should) is not tuple:
        should = _normalized(should)
    if filter_ or type(filter_) is not tuple:
        filter_ = _normalized(filter_)
    if must_not or type(must_not) is not tuple:
        must_not = _normalized(must_not)
    if len(should) > 1:
        should = _merged_repeats(should)
    if (
        must is node.must
        and should is node.should
        and filter_ is node.filter
        and must_not is node.must_not
    ):
        return node  # most plans need no change: rebuilding them is a few us per query
    return P.Bool(must=must, should=should, filter=filter_, must_not=must_not, boost=node.boost)


def _merged_repeats(should: tuple) -> tuple:
    """``should`` with each repeated scoring leaf merged into its first copy, the boost
    times the number of copies; the same tuple when nothing repeats."""
    names = set()
    for c in should:
        if type(c) is P.Term:
            if c.term in names:
                break
            names.add(c.term)
        elif isinstance(c, P.SCORING):
            break
    else:
        # Every scoring clause a term with a word of its own (a long plain query's words
        # mostly are): nothing repeats, found with the words' cached hashes alone.
        return should
    scoring = [c for c in should if isinstance(c, P.SCORING)]
    # Until none repeats: a merged boost may equal another copy's ("gas gas^0.5 gas^0.5"),
    # and a plan normalized twice (execute after top_matches) must not change again.
    while len(scoring) > 1:
        counts = Counter(scoring)
        if len(counts) == len(scoring):
            break
        merged = []
        for c in should:
            if isinstance(c, P.SCORING):
                k = counts.pop(c, 0)  # the first copy takes the count, later ones nothing
                if not k:
                    continue
                if k > 1:
                    c = type(c)(**{**c.__dict__, "boost": c.boost * k})
            merged.append(c)
        should = tuple(merged)
        scoring = [c for c in should if isinstance(c, P.SCORING)]
    return should


def _normalized(clauses: tuple) -> tuple:
    """``clauses`` normalized, as a tuple; the same tuple when no clause changes."""
    if type(clauses) is tuple:  # (a hand-built plan may hold lists)
        for c in clauses:
            if isinstance(c, P.Bool):
                break
        else:
            return clauses
    out = tuple(map(_normalize, clauses))
    if type(clauses) is tuple and all(a is b for a, b in zip(out, clauses)):
        return clauses
    return out


def _leaves(node: P.Node) -> Iterator[P.Term | P.Phrase | P.Prefix]:
    if isinstance(node, P.SCORING):
        yield node
    elif isinstance(node, P.Bool):
        for c in node.must + node.should:
            yield from _leaves(c)


def scored_terms(node: P.Node) -> list[tuple[str, tuple[int, ...]]]:
    """The ``(term, field indices)`` whose df scoring ``node`` needs (phrases' words
    included), keyed as :meth:`Searcher.execute`'s ``dfs``."""
    out: dict[tuple[str, tuple[int, ...]], None] = {}
    for leaf in _all_leaves(node):
        if isinstance(leaf, P.Prefix):
            continue  # a prefix scores its boost: no statistics
        fields = field_indices(leaf.fields)
        for term in (leaf.term,) if isinstance(leaf, P.Term) else leaf.terms:
            out[(term, fields)] = None
    return list(out)


def _all_leaves(node: P.Node) -> Iterator[P.Term | P.Phrase | P.Prefix]:
    """Every scoring leaf, those of filters and exclusions too (they are evaluated as well)."""
    if isinstance(node, P.SCORING):
        yield node
    elif isinstance(node, P.Bool):
        for c in node.must + node.should + node.filter + node.must_not:
            yield from _all_leaves(c)


def _has_scoring(node: P.Node) -> bool:
    return any(True for _ in _leaves(node)) or (
        isinstance(node, P.Bool) and any(_has_scoring(c) for c in node.filter + node.must_not)
    )


def _is_match_all(node: P.Node) -> bool:
    return isinstance(node, P.MatchAll)


def _date_bounds(seg: Segment, node: P.DateRange) -> tuple[int, int]:
    start = NO_DATE + 1 if node.start is None else max(node.start, NO_DATE + 1)
    days, starts = seg.day_starts()
    i = bisect_left(days, start)
    lo = starts[i] if i < len(starts) else seg.ndocs
    if node.end is None:
        hi = seg.ndocs
    else:
        i = bisect_right(days, node.end)
        hi = starts[i] if i < len(starts) else seg.ndocs
    return lo, max(lo, hi)
