"""Related stories: Lucene's MoreLikeThis over one stored article.

The article's text is analyzed again (the index keeps no per-document term vectors, and
Lucene's MoreLikeThis does the same without them), or, in an index that does not store
bodies, its terms are read from the postings (:func:`indexed_terms`); each distinct term is scored
``tf * idf`` with the snapshot's live document frequencies, and the best ``max_terms``
become an OR query, each term boosted by its score relative to the best one (Lucene's
``setBoost(true)``), so the story's most distinctive words weigh most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from ..index.segment import Segment
from ..querylang import plan as P
from ..schema import TEXT_FIELDS
from .leaves import ALL_FIELDS
from .searcher import Searcher

#: Terms of the weighted query (Lucene's default maxQueryTerms).
DEFAULT_MAX_TERMS = 25
#: A term must occur in at least this many live articles: one the story alone holds
#: finds nothing else and would only take a place from a useful term.
MIN_DOC_FREQ = 2
#: Postings read at a time by :func:`indexed_terms` (bounds its scratch memory).
_SCAN_POSTINGS = 1 << 22


def distinctive_terms(
    searcher: Searcher, terms: Iterable[str], max_terms: int = DEFAULT_MAX_TERMS
) -> list[tuple[str, float]]:
    """The ``max_terms`` terms of ``terms`` (one entry per occurrence) with the highest
    ``tf * idf``, best first (ties by term, so the choice never depends on dict order)."""
    scored = []
    for term, tf in Counter(terms).items():
        _, df, weight = searcher.term_stats(term, ALL_FIELDS)
        if df >= MIN_DOC_FREQ:
            scored.append((-tf * weight, term))
    scored.sort()
    return [(term, -neg) for neg, term in scored[:max_terms]]


def like_plan(weighted: list[tuple[str, float]]) -> P.Node:
    """An OR of the terms over both text fields, each boosted by score / best score."""
    if not weighted:
        return P.MatchNone()
    top = weighted[0][1]
    return P.Bool(should=tuple(P.Term(t, TEXT_FIELDS, s / top) for t, s in weighted))


def indexed_terms(segment: Segment, doc: int) -> list[str]:
    """The terms ``doc`` of ``segment`` was indexed with, one per occurrence in its title and
    body: what analyzing its text again gives (with one analyzer for both fields), for an
    index that did not store the text. Costs one scan of the segment's postings, in slices."""
    offs = segment.post_offs
    total = int(offs[-1])
    found: list[np.ndarray] = []
    start = 0
    while start < total:
        # Slices end on a term's first posting, so each read lies within whole terms.
        end = int(offs[min(int(np.searchsorted(offs, start + _SCAN_POSTINGS)), len(offs) - 1)])
        found.append(np.flatnonzero(segment.docs(start, end) == doc) + start)
        start = end
    postings = np.concatenate(found) if found else np.zeros(0, np.intp)
    terms: list[str] = []
    for p, tid in zip(postings.tolist(), (np.searchsorted(offs, postings, "right") - 1).tolist()):
        count = sum(int(tf[0]) for tf in segment.tfs(p, p + 1))
        terms += [segment.terms[tid]] * count
    return terms
