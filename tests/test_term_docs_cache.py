"""A snapshot keeps each term's decoded doc numbers beside its impacts
(``Searcher.term_docs``): a query must match the same documents, with the same scores,
whether its terms' doc numbers were decoded for it or kept from earlier queries, in every
segment. Tiny segments over a four-word vocabulary give many segments the same postings
ranges for a word with different documents behind them: an array kept under the wrong key
would show as a wrong match, checked against the documents' words themselves.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex

VOCAB = ["oil", "gas", "bank", "wheat"]

doc_words = st.lists(st.sampled_from(VOCAB), max_size=5)
segment = st.lists(st.tuples(doc_words, doc_words), min_size=1, max_size=6)
query = st.one_of(
    st.lists(st.sampled_from(VOCAB), min_size=1, max_size=4).map(lambda ws: (None, ws)),
    st.tuples(st.sampled_from(VOCAB), st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3)),
)


def _text(q: tuple[str | None, list[str]]) -> str:
    must, should = q
    return " ".join(([f"+{must}"] if must else []) + should)


def _expected(docs: dict[str, set[str]], q: tuple[str | None, list[str]]) -> set[str]:
    must, should = q
    if must is not None:
        return {d for d, words in docs.items() if must in words}
    return {d for d, words in docs.items() if words & set(should)}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=st.lists(segment, min_size=1, max_size=4),
    deleted=st.lists(st.integers(0, 23), max_size=5),
    asked=st.lists(query, min_size=1, max_size=6),
)
def test_kept_doc_numbers_match_what_a_fresh_snapshot_decodes(
    tmp_path_factory, segments, deleted, asked
):
    path = tmp_path_factory.mktemp("docs") / "idx"
    ix = newsindex.Index.create(path)
    live: dict[str, set[str]] = {}
    n = 0
    for batch in segments:
        with ix.writer() as w:
            for title, body in batch:
                n += 1
                w.add({"id": f"d{n}", "title": " ".join(title), "body": " ".join(body)})
                live[f"d{n}"] = set(title) | set(body)
    with ix.writer() as w:
        for i in deleted:
            w.delete(f"d{i % n + 1}")
            live.pop(f"d{i % n + 1}", None)
    ix.close()
    warm = newsindex.Index.open(path)
    try:
        for q in asked:  # every word's doc numbers kept before the answers compared
            warm.search(_text(q), limit=100)
        for q in asked:
            fresh = newsindex.Index.open(path)
            try:
                a = fresh.search(_text(q), limit=100)
            finally:
                fresh.close()
            b = warm.search(_text(q), limit=100)
            want = _expected(live, q)
            assert {h.id for h in a.hits} == want, _text(q)
            assert a.total == len(want)
            assert [(h.id, h.score) for h in b.hits] == [(h.id, h.score) for h in a.hits]
            assert b.total == a.total
    finally:
        warm.close()
