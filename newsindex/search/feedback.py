"""RM3 pseudo-relevance feedback, as Anserini runs it (Abdul-Jaleel et al., 2004).

The query runs once; its best ``fb_docs`` hits are taken as relevant. Each one's terms give
a distribution ``tf(t, D) / |D|``, weighted by the hit's score and summed over the hits:
the relevance model. Its ``fb_terms`` heaviest terms (words of 2 or more letters that occur
in at most a tenth of the articles, as Anserini filters them), scaled to sum to 1, are
mixed with the original query (its terms' counts, scaled to sum to 1):
``weight = fb_original_weight x query + (1 - fb_original_weight) x model``, and the mixed
bag of weighted terms is searched instead of the query.

A query with more than plain words (phrases, fields, AND, filters) keeps its own clauses
as one group weighted ``fb_original_weight / number of its words``, OR-ed with the
expansion terms; its filters and exclusions still restrict every hit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..querylang import plan as P
from ..schema import TEXT_FIELDS
from .scoring import Explanation
from .topk import select

if TYPE_CHECKING:
    from ..config import Scoring
    from .searcher import Searcher

#: Terms in more than this share of the articles are too common to expand a query with.
MAX_DF_RATIO = 0.1

#: (term, weight) of the expanded query, heaviest first.
Weights = list[tuple[str, float]]


def relevance_model(
    docs: Iterable[tuple[float, list[str]]], df: Callable[[str], int], n: int, fb_terms: int
) -> Weights:
    """The ``fb_terms`` heaviest terms of the relevance model of ``docs`` ((score, terms)
    of each feedback document), scaled to sum to 1."""
    model: dict[str, float] = {}
    for score, terms in docs:
        if not terms:
            continue
        counts = Counter(terms)
        length = len(terms)
        for t, c in counts.items():
            model[t] = model.get(t, 0.0) + score * c / length
    kept: Weights = []
    # Ties broken by the term, so the expansion does not depend on dict order.
    for t, w in sorted(model.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(t) < 2 or df(t) > MAX_DF_RATIO * n:
            continue
        kept.append((t, w))
        if len(kept) == fb_terms:
            break
    total = sum(w for _, w in kept)
    return [(t, w / total) for t, w in kept] if total > 0 else []


def plain_words(node: P.Node) -> list[str] | None:
    """The terms of a plain-words query (OR-ed whole-document terms, repeats kept), else None."""
    if isinstance(node, P.Term):
        return [node.term] if node.fields == TEXT_FIELDS and node.boost == 1.0 else None
    if (
        isinstance(node, P.Bool)
        and not (node.must or node.filter or node.must_not)
        and node.boost == 1.0
        and node.should
        and all(
            isinstance(c, P.Term) and c.fields == TEXT_FIELDS and c.boost == 1.0
            for c in node.should
        )
    ):
        return [c.term for c in node.should]
    return None


def _scoring_leaves(node: P.Node) -> int:
    if isinstance(node, P.SCORING):
        return 1
    if isinstance(node, P.Bool):
        return sum(_scoring_leaves(c) for c in node.must + node.should)
    return 0


def expanded_plan(node: P.Node, model: Weights, original_weight: float) -> P.Node:
    """``node`` mixed with the relevance model's terms (see the module's docstring)."""
    if not model:
        return node
    words = plain_words(node)
    if words is not None:
        mixed: dict[str, float] = {}
        for t, c in Counter(words).items():
            mixed[t] = original_weight * c / len(words)
        for t, w in model:
            mixed[t] = mixed.get(t, 0.0) + (1.0 - original_weight) * w
        return P.Bool(should=tuple(P.Term(t, boost=w) for t, w in sorted(mixed.items()) if w > 0))
    expansion = tuple(P.Term(t, boost=(1.0 - original_weight) * w) for t, w in model)
    own = max(_scoring_leaves(node), 1)
    if isinstance(node, P.Bool):
        inner: P.Node = P.Bool(
            must=node.must, should=node.should, boost=node.boost * original_weight / own
        )
        either = P.Bool(should=(inner, *expansion))
        return P.Bool(must=(either,), filter=node.filter, must_not=node.must_not)
    if isinstance(node, P.SCORING):
        boosted = type(node)(**{**node.__dict__, "boost": node.boost * original_weight})
        return P.Bool(should=(boosted, *expansion))
    return node  # filters only: nothing to expand


def expand(
    searcher: Searcher,
    node: P.Node,
    scoring: Scoring,
    doc_terms: Callable[[int, int], list[str]],
) -> tuple[P.Node, Weights]:
    """The RM3 plan of ``node`` and the relevance model's terms (empty when no hit)."""
    picked, _total = select(
        searcher.execute(node, scoring), searcher.segments, scoring.fb_docs, "relevance"
    )
    feedback = [(score, doc_terms(si, doc)) for si, doc, score, _day in picked if score > 0]
    if not feedback:
        return node, []
    model = relevance_model(
        feedback,
        lambda t: searcher.term_stats(t, tuple(range(len(TEXT_FIELDS))))[1],
        searcher.doc_count,
        scoring.fb_terms,
    )
    return expanded_plan(node, model, scoring.fb_original_weight), model


def explain_expansion(inner: Explanation, model: Weights, scoring: Scoring) -> Explanation:
    """``inner`` (the expanded query's tree) labelled with where its terms came from."""
    terms = ", ".join(f"{t} {w:.3f}" for t, w in model) or (
        "none (no hit to learn from, or no term of theirs rare enough)"
    )
    return Explanation(
        inner.value,
        f"RM3 feedback from the best {scoring.fb_docs} hits, original query weight "
        f"{scoring.fb_original_weight:g}; expansion terms: {terms}; score of the expanded "
        "query:",
        [inner],
    )
