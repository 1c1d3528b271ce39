"""Ranking options beyond the first stage: the proximity rescore, RM3 feedback, and how
repeated query words count, on the bundled Reuters sample."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex import Scoring
from newsindex.querylang import plan as P
from newsindex.search.feedback import MAX_DF_RATIO, relevance_model
from newsindex.search.proximity import MAX_DISTANCE, Proximity

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# News-style queries whose words occur together in the sample (names and events).
QUERIES = [
    "crude oil prices",
    "bank of england",
    "interest rates",
    "trade deficit",
    "west germany",
    "stock exchange",
    "federal reserve",
    "oil production",
    "money supply",
    "dollar yen",
    "wheat exports",
    "coffee quota",
]


def _positions(ix, article) -> dict[str, list[tuple[int, int]]]:
    """(field, position) of every term of a stored article, from the analyzer alone."""
    out: dict[str, list[tuple[int, int]]] = {}
    for fi, (field, text) in enumerate((("title", article.title), ("body", article.body))):
        analyzer = ix._current().analyzers[field]
        for term, pos in analyzer.terms_with_positions(text):
            out.setdefault(term, []).append((fi, pos))
    return out


def _reference_acc(occ, a: str, b: str) -> float:
    """BM25TP's accumulation for a pair, by brute force over every pair of occurrences."""
    total = 0.0
    for fa, pa in occ.get(a, []):
        near = [abs(pa - pb) for fb, pb in occ.get(b, []) if fb == fa and pb != pa]
        if near and min(near) <= MAX_DISTANCE:
            total += 1.0 / min(near) ** 2
    return total


@SETTINGS
@given(query=st.sampled_from(QUERIES))
def test_proximity_matches_a_brute_force_reference(sample_index, query):
    ix = sample_index
    snap = ix._current()
    node = ix.parse(query)._plan
    prox = Proximity(snap.searcher, Scoring(proximity=1.0), node)
    hits = ix.search(query, limit=30).hits
    assert hits
    for hit in hits:
        si, doc = next(
            (si, d)
            for si, seg in enumerate(snap.searcher.segments)
            if (d := seg.find_id(hit.id)) >= 0
        )
        occ = _positions(ix, hit.article)
        got = prox.accumulations(si, np.array([doc], dtype=np.int32))
        for ((wa, _), (wb, _)), acc in zip(prox.pairs, got):
            assert acc[0] == pytest.approx(_reference_acc(occ, wa.term, wb.term), rel=1e-12)


def test_proximity_puts_the_story_with_adjacent_words_first(sample_index):
    ix = sample_index
    changed = 0
    for query in QUERIES:
        words = ix.parse(query)._plan
        terms = [c.term for c in words.should] if isinstance(words, P.Bool) else []
        if len(terms) != 2:
            continue
        plain = ix.search(query, limit=10).hits
        near = ix.search(query, limit=10, scoring=Scoring(proximity=50.0)).hits

        def adjacent(hit, a=terms[0], b=terms[1]) -> bool:
            return _reference_acc(_positions(ix, hit.article), a, b) >= 1.0  # a distance of 1

        if any(adjacent(h) for h in plain) and not adjacent(plain[0]):
            assert adjacent(near[0]), query
            changed += 1
    assert changed, "no query of the list has its words adjacent below a non-adjacent top hit"


def test_rescore_keeps_pages_consistent(sample_index):
    scoring = Scoring(proximity=2.0, rescore_window=20)
    full = [(h.id, h.score) for h in sample_index.search("oil prices", limit=40, scoring=scoring)]
    for offset, limit in ((0, 5), (5, 10), (15, 10), (18, 7), (30, 10)):
        page = sample_index.search("oil prices", limit=limit, offset=offset, scoring=scoring)
        assert [(h.id, h.score) for h in page] == full[offset : offset + limit]
    # The window is rescored, the rest keeps its first-stage scores and order below it.
    first = [(h.id, h.score) for h in sample_index.search("oil prices", limit=40)]
    assert full[20:] == first[20:]
    assert min(s for _, s in full[:20]) >= max(s for _, s in full[20:])


OPTIONS = st.fixed_dictionaries(
    {
        "proximity": st.sampled_from([0.0, 0.3, 1.0, 7.5]),
        "rescore_window": st.sampled_from([1, 5, 100]),
        "feedback": st.booleans(),
        "fb_docs": st.integers(1, 12),
        "fb_terms": st.integers(1, 15),
        "fb_original_weight": st.sampled_from([0.0, 0.2, 0.5, 1.0]),
        "k1": st.sampled_from([0.0, 0.9, 1.8]),
    }
)


@SETTINGS
@given(
    query=st.sampled_from(
        [*QUERIES, "oil date:1987", "+oil -gas", '"crude oil" opec', "gold^3 silver"]
    ),
    options=OPTIONS,
    recency=st.sampled_from([None, "30d"]),
)
def test_explain_sums_to_the_score_for_every_option(sample_index, query, options, recency):
    import datetime as dt

    scoring = Scoring(**options)
    today = dt.date(1987, 4, 1)
    extra = {"recency": recency, "today": today} if recency else {}
    res = sample_index.search(query, limit=12, scoring=scoring, **extra)
    for hit in res.hits:
        why = sample_index.explain(query, hit.id, scoring=scoring, **extra)
        assert why.value == pytest.approx(hit.score, rel=1e-9, abs=1e-12)
        _assert_adds_up(why)
    if options["feedback"]:
        assert len(res.expansion) <= options["fb_terms"]


def _assert_adds_up(node) -> None:
    if not node.details:
        return
    values = [d.value for d in node.details]
    total = float(np.prod(values)) if node.op == "product" else sum(values)
    assert node.value == pytest.approx(total, rel=1e-9, abs=1e-12), node.description
    for d in node.details:
        _assert_adds_up(d)


def test_rm3_expansion_terms_come_from_the_feedback_docs(sample_index):
    ix = sample_index
    scoring = Scoring(feedback=True, fb_docs=5, fb_terms=12)
    for query in QUERIES:
        res = ix.search(query, scoring=scoring, limit=5)
        top = ix.search(query, limit=5).hits  # the first stage: the feedback documents
        if not top:
            continue
        feedback_terms = set()
        for hit in top:
            for field in ("title", "body"):
                feedback_terms |= set(
                    ix._current().analyzers[field].terms(getattr(hit.article, field))
                )
        assert res.expansion, query
        assert {t for t, _ in res.expansion} <= feedback_terms
        assert sum(w for _, w in res.expansion) == pytest.approx(1.0)
        n = ix.stats()["documents"]
        for t, _ in res.expansion:
            assert ix.count(t, syntax="plain") <= MAX_DF_RATIO * n
        assert [w for _, w in res.expansion] == sorted((w for _, w in res.expansion), reverse=True)
        why = ix.explain(query, res.hits[0].id, scoring=scoring)
        assert all(t in why.description for t, _ in res.expansion)


@SETTINGS
@given(
    docs=st.lists(
        st.tuples(
            st.floats(0.1, 20.0),
            st.lists(st.sampled_from(["aa", "bb", "cc", "dd", "ee", "x"]), max_size=12),
        ),
        min_size=1,
        max_size=6,
    ),
    fb_terms=st.integers(1, 6),
)
def test_relevance_model_matches_its_definition(docs, fb_terms):
    df = {"aa": 1, "bb": 2, "cc": 50, "dd": 3, "ee": 4, "x": 1}
    n = 100
    got = relevance_model(docs, df.__getitem__, n, fb_terms)
    # The definition, written out: sum over docs of score * tf / |D|.
    weights: Counter[str] = Counter()
    for score, terms in docs:
        for t in set(terms):
            weights[t] += score * terms.count(t) / len(terms)
    allowed = {t: w for t, w in weights.items() if len(t) >= 2 and df[t] <= MAX_DF_RATIO * n}
    best = sorted(allowed.items(), key=lambda kv: (-kv[1], kv[0]))[:fb_terms]
    total = sum(w for _, w in best)
    want = [(t, w / total) for t, w in best] if total else []
    assert [t for t, _ in got] == [t for t, _ in want]
    assert [w for _, w in got] == pytest.approx([w for _, w in want])


@pytest.mark.parametrize("query", QUERIES)
def test_a_repeated_query_word_counts_as_that_word_boosted(sample_index, query):
    first = query.split()[0]
    repeated = sample_index.search(f"{query} {first} {first}", limit=20)
    boosted = sample_index.search(
        " ".join(f"{w}^3" if w == first else w for w in query.split()), limit=20
    )
    assert [h.id for h in repeated] == [h.id for h in boosted]
    assert [h.score for h in repeated] == pytest.approx([h.score for h in boosted], rel=1e-12)


def test_feedback_switch_on_search_and_in_scoring_agree(sample_index):
    a = sample_index.search("coffee quota", feedback=True)
    b = sample_index.search("coffee quota", scoring=Scoring(feedback=True))
    assert [(h.id, h.score) for h in a] == [(h.id, h.score) for h in b]
    assert a.expansion == b.expansion and a.expansion
    off = sample_index.search("coffee quota", scoring=Scoring(feedback=True), feedback=False)
    assert off.expansion == []
    assert [h.id for h in off] == [h.id for h in sample_index.search("coffee quota")]


@SETTINGS
@given(
    query=st.sampled_from(
        [
            "oil date:1987-03",
            "oil -gas",
            "+crude prices -opec",
            "title:oil source:reuters",
            '"crude oil" date:1987-03-01..1987-03-31',
            "oil AND prices -date:1987-03",
        ]
    ),
    fb_docs=st.integers(1, 10),
    fb_terms=st.integers(1, 25),
)
def test_feedback_keeps_the_queries_filters_and_exclusions(sample_index, query, fb_docs, fb_terms):
    """The expansion terms widen what matches, never past the query's filters: every hit
    with feedback is a hit of the query's filters and exclusions on their own."""
    scoring = Scoring(feedback=True, fb_docs=fb_docs, fb_terms=fb_terms)
    res = sample_index.search(query, limit=200, scoring=scoring)
    filters = " ".join(w for w in query.split() if ":" in w and not w.startswith("title:"))
    excluded = [w[1:] for w in query.split() if w.startswith("-") and ":" not in w]
    allowed = {h.id for h in sample_index.search(filters, limit=2000).hits} if filters else None
    banned = set()
    for word in excluded:
        banned |= {h.id for h in sample_index.search(word, limit=2000).hits}
    for hit in res.hits:
        assert allowed is None or hit.id in allowed, (query, hit.id)
        assert hit.id not in banned, (query, hit.id)
