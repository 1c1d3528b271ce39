"""Explanations add up: for generated queries, every node of every hit's explanation is the
sum (or the labelled product) of its children, the root is the hit's score, group boosts
show, and clauses that do not match the article are not listed."""

from __future__ import annotations

import datetime
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import Scoring

VOCAB = ["aleppo", "battle", "siege", "syria", "oil", "price", "rebels", "city"]
TODAY = datetime.date(2016, 11, 4)  # the fixture's stories are 1 to 3 days old
SCORINGS = [None, Scoring(k1=0.9, b=1.0), Scoring(k1=0.0, b=0.3, weights={"title": 0.0})]


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    rng = random.Random(6)
    index = newsindex.Index.create(tmp_path_factory.mktemp("explain") / "idx")
    n = 0
    for _ in range(3):
        with index.writer() as w:
            for _ in range(40):
                n += 1
                w.add(
                    {
                        "id": f"e{n}",
                        "title": " ".join(rng.choices(VOCAB, k=rng.randint(0, 4))),
                        "body": " ".join(rng.choices(VOCAB, k=rng.randint(0, 25))),
                        "date": f"2016-11-{rng.randint(1, 3):02d}",
                        "section": rng.choice(["world", "business"]),
                    }
                )
    with index.writer() as w:
        w.delete("e3")
    return newsindex.Index.open(index.path)


word = st.sampled_from(VOCAB)
boost = st.sampled_from(["", "", "^2", "^0.5", "^3.5"])
leaf = st.one_of(
    st.builds(lambda w, b: w + b, word, boost),
    st.builds(lambda f, w, b: f"{f}:{w}{b}", st.sampled_from(["title", "body"]), word, boost),
    st.builds(
        lambda ws, s, b: '"' + " ".join(ws) + '"' + s + b,
        st.lists(word, min_size=2, max_size=3),
        st.sampled_from(["", "~1", "~3"]),
        boost,
    ),
    st.builds(lambda w: w[:3] + "*", word),
    st.sampled_from(["section:world", "date:2016-11-02", "date:2016-11-01..2016-11-02"]),
)


def _join(parts, op):
    return f" {op} ".join(parts) if op else " ".join(parts)


queries = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(
            lambda ps, op: _join(ps, op),
            st.lists(inner, min_size=2, max_size=3),
            st.sampled_from(["", "AND", "OR"]),
        ),
        st.builds(lambda q, b: f"({q}){b}", inner, boost),
        st.builds(lambda s, q: s + q, st.sampled_from(["+", "-"]), inner),
        st.builds(lambda a, b: f"{a} NOT {b}", inner, inner),
    ),
    max_leaves=6,
)


def check_adds_up(node) -> int:
    """Assert the arithmetic of every node below ``node``; return how many nodes."""
    assert math.isfinite(node.value)
    count = 1
    if node.details:
        values = [d.value for d in node.details]
        if node.op == "product":
            assert "product" in node.description
            expected = math.prod(values)
        else:
            assert node.op == "sum"
            expected = math.fsum(values)
        assert node.value == pytest.approx(expected, rel=1e-9, abs=1e-12), str(node)
        for d in node.details:
            count += check_adds_up(d)
    return count


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=queries,
    which=st.sampled_from(range(len(SCORINGS))),
    recency=st.sampled_from([None, None, "1d", "30d"]),
)
def test_every_explanation_adds_up_to_the_score(ix, query, which, recency):
    scoring = SCORINGS[which]
    fresh = {"recency": recency, "today": TODAY} if recency else {}
    try:
        res = ix.search(query, limit=8, scoring=scoring, **fresh)
    except newsindex.QuerySyntaxError:
        return  # (e.g. a lone negation inside a group the generator made)
    for hit in res.hits:
        why = ix.explain(query, hit.id, scoring=scoring, **fresh)
        assert why.value == pytest.approx(hit.score, rel=1e-12, abs=1e-12)
        check_adds_up(why)
        _terms_listed_occur(ix, why, hit.id)


def _terms_listed_occur(ix, node, article_id):
    """A listed term has an occurrence in the article (a non-matching clause is never listed:
    its terms' tfs would all be 0)."""
    if node.description.startswith("term "):
        tfn = next(d for d in node.details if d.description.startswith("tfn /"))
        fields = tfn.details[0].details if tfn.details else []
        tfs = [int(f.description.split("tf=")[1].split()[0]) for f in fields]
        assert not fields or sum(tfs) > 0, (article_id, str(node))
    for d in node.details:
        _terms_listed_occur(ix, d, article_id)


def test_group_boosts_show_and_non_matching_clauses_do_not(tmp_path):
    index = newsindex.Index.create(tmp_path / "idx")
    with index.writer() as w:
        w.add({"id": "a", "title": "Aleppo battle", "body": "the siege of Aleppo"})
        w.add({"id": "b", "title": "Siege", "body": "Aleppo under siege"})
    hit = index.search("(aleppo battle)^2 siege").hits[0]
    why = index.explain("(aleppo battle)^2 siege", hit.id)
    text = str(why)
    assert "boost of the group" in text and "2.000000" in text
    assert why.value == pytest.approx(hit.score)
    assert math.fsum(d.value for d in why.details) == pytest.approx(hit.score)
    why = index.explain("(aleppo AND battle) OR siege", "b")
    assert "aleppo" not in str(why)  # the group needs "battle", which "b" lacks
    assert [d.description.split(" (")[0] for d in why.details] == ["term 'sieg'"]
