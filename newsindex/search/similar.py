"""Related stories: Lucene's MoreLikeThis over one stored article.

The article's text is analyzed again (the index keeps no per-document term vectors, and
Lucene's MoreLikeThis does the same without them); each distinct term is scored
``tf * idf`` with the snapshot's live document frequencies, and the best ``max_terms``
become an OR query, each term boosted by its score relative to the best one (Lucene's
``setBoost(true)``), so the story's most distinctive words weigh most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..querylang import plan as P
from ..schema import TEXT_FIELDS
from .leaves import ALL_FIELDS
from .searcher import Searcher

#: Terms of the weighted query (Lucene's default maxQueryTerms).
DEFAULT_MAX_TERMS = 25
#: A term must occur in at least this many live articles: one the story alone holds
#: finds nothing else and would only take a place from a useful term.
MIN_DOC_FREQ = 2


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
