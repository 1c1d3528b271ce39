"""OR-ed terms are scored in one pass per segment: the impacts of the terms no query has met
yet are computed together, and a dense union adds every clause's scores in one bincount.
Both must give what scoring term by term and adding clause by clause gives, to the bit:
pruning mirrors that order (prune._Segment._sums), and a query's scores must not depend on
which of its words earlier queries happened to meet.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.search.matches import SegmentMatches, union

WORDS = ["oil", "gas", "price", "opec", "crude", "bank", "rate", "wheat"]


@st.composite
def clause_lists(draw):
    """Clauses over ``n`` docs: sorted unique docs, scores of every magnitude (so a different
    order of additions shows in the last bits)."""
    n = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = []
    for _ in range(draw(st.integers(2, 14))):
        size = int(rng.integers(0, n + 1))
        docs = np.sort(rng.choice(n, size, replace=False)).astype(np.int32)
        scores = rng.random(size) * 10.0 ** rng.integers(-3, 4, size)
        out.append(SegmentMatches(docs, scores))
    return n, out


@settings(max_examples=300, deadline=None)
@given(clause_lists())
def test_union_adds_clause_by_clause(case):
    n, clauses = case
    got = union(clauses, n)
    sums: dict[int, float] = {}
    for m in clauses:
        for d, s in zip(m.docs.tolist(), m.scores.tolist()):
            sums[d] = sums.get(d, 0.0) + s  # one after the other, in clause order
    assert got.docs.dtype == np.int32
    assert got.docs.tolist() == sorted(sums)
    expected = [sums[d] for d in sorted(sums)]
    if sum(len(m.docs) for m in clauses) * 2 >= n:  # accumulated densely: to the bit
        assert got.scores.tolist() == expected
    else:  # sorted and reduced (pairwise past two clauses, mirrored by prune)
        assert got.scores.tolist() == pytest.approx(expected, rel=1e-12)


def _text(rng: random.Random, longest: int) -> str:
    words = [WORDS[min(int(rng.paretovariate(1.0)) - 1, len(WORDS) - 1)] for _ in range(longest)]
    if rng.random() < 0.1:  # frequencies past what a posting's packed byte holds
        words += [rng.choice(WORDS)] * rng.randint(4, 90)
    return " ".join(words[: rng.randint(0, len(words))])


def _build(path, seed: int, batches: list[int]) -> None:
    rng = random.Random(seed)
    ix = newsindex.Index.create(path)
    n = 0
    for size in batches:
        with ix.writer() as w:
            for _ in range(size):
                n += 1
                title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
                if rng.random() < 0.05:
                    title += " " + " ".join([rng.choice(WORDS)] * rng.randint(4, 9))
                doc = {"id": f"d{n}", "title": title, "body": _text(rng, 30)}
                if rng.random() < 0.7:
                    doc["date"] = rng.choice(["2016-11-09", "2016-12-01", "2017-01-05"])
                    doc["section"] = rng.choice(["world", "business"])
                w.add(doc)
            for _ in range(rng.randint(0, 5)):
                w.delete(f"d{rng.randint(1, n)}")
    ix.close()


word = st.sampled_from(WORDS + ["absent"])
queries = st.one_of(
    st.lists(word, min_size=2, max_size=12).map(" ".join),
    st.lists(st.tuples(word, st.sampled_from(["", "^2", "^0.5"])).map("".join), min_size=2).map(
        " ".join
    ),
    st.tuples(st.lists(word, min_size=2, max_size=6), st.sampled_from(["world", "business"])).map(
        lambda t: " ".join(t[0]) + f" section:{t[1]} date:2016"
    ),
    st.tuples(word, st.lists(word, min_size=2, max_size=5)).map(
        lambda t: f"+{t[0]} {' '.join(t[1])}"
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32),
    batches=st.lists(st.integers(1, 120), min_size=1, max_size=4),
    asked=st.lists(queries, min_size=1, max_size=6),
)
def test_terms_scored_together_equal_terms_scored_alone(tmp_path_factory, seed, batches, asked):
    path = tmp_path_factory.mktemp("acc") / "idx"
    _build(path, seed, batches)
    for query in asked:
        together = newsindex.Index.open(path)  # a fresh process's view: every term new
        alone = newsindex.Index.open(path)
        try:
            for w in set(query.replace("+", " ").split()):
                alone.search(w.split("^")[0], limit=1)  # each word's impacts made on its own
            a = together.search(query, limit=1000)
            b = alone.search(query, limit=1000)
        finally:
            together.close()
            alone.close()
        assert a.total == b.total
        assert [(h.id, h.score) for h in a.hits] == [(h.id, h.score) for h in b.hits], query
