"""Prefix queries score as Lucene scores a multi-term query by default: a constant (the
boost) for every match, whatever the expansions and however many of them a document holds;
they match exactly the documents holding one of the expanded terms."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex.querylang import plan as P

PREFIXES = ["co", "com", "oi", "ban", "pr", "sh", "tra", "ex", "mar", "zzq"]
FIELDS = {"": ("title", "body"), "title:": ("title",), "body:": ("body",)}


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from(PREFIXES),
    field=st.sampled_from(sorted(FIELDS)),
    boost=st.sampled_from(["", "^2", "^0.25"]),
    word=st.sampled_from(["oil", "bank", "said"]),
)
def test_a_prefix_scores_its_boost_and_matches_its_expansions(
    sample_index, prefix, field, boost, word
):
    ix = sample_index
    weight = float(boost[1:]) if boost else 1.0
    query = f"{field}{prefix}*{boost}"
    expanded = ix.expand_prefix(prefix, FIELDS[field])
    res = ix.search(query, limit=2000)
    assert {h.id for h in res.hits} == _docs_with_any(ix, expanded, FIELDS[field])
    assert res.total == len(res.hits)
    assert all(h.score == weight for h in res.hits)
    # Next to a word, the prefix adds its constant to the word's score.
    alone = {h.id: h.score for h in ix.search(word, limit=2000).hits}
    together = {h.id: h.score for h in ix.search(f"{word} {query}", limit=2000).hits}
    matched = {h.id for h in res.hits}
    assert set(together) == set(alone) | matched
    for doc_id, score in together.items():
        expected = alone.get(doc_id, 0.0) + (weight if doc_id in matched else 0.0)
        assert score == pytest.approx(expected, rel=1e-12)
    if res.hits:
        why = ix.explain(query, res.hits[0].id)
        assert why.value == weight
        assert f"prefix '{prefix}*'" in str(why) and "constant score" in str(why)


def _docs_with_any(ix, terms, fields):
    """Ids of the live articles holding one of ``terms`` in ``fields``, term by term."""
    searcher = ix._searcher
    found = set()
    for term in terms:
        for si, m in searcher.execute(P.Term(term, fields), ix.settings.scoring):
            found.update(searcher.segments[si].ids[int(d)] for d in m.docs)
    return found


def test_a_prefix_no_longer_outscores_words(sample_index):
    # co* expands to hundreds of terms: summed, it scored ~26 where words score 3-7.
    assert max(h.score for h in sample_index.search("co*", limit=50).hits) == 1.0
    top = sample_index.search("coffee co*", limit=1).hits[0]
    assert "coffee" in (top.article.title + top.article.body).lower()
