"""Term frequencies read through ``Segment.tfs`` are the analyzer's counts, whatever their size
(the packed one-byte column and its table of large values), for any slice of postings."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.index.segment import TF_BODY_BITS, TF_TITLE_BITS

WORDS = ["oil", "bank", "rate", "grain", "wheat"]
_counts = st.sampled_from([0, 1, 2, (1 << TF_TITLE_BITS) - 1, 1 << TF_TITLE_BITS, 9])
_body_counts = st.sampled_from([0, 1, 3, (1 << TF_BODY_BITS) - 1, 1 << TF_BODY_BITS, 300])


@st.composite
def _docs(draw):
    docs = []
    for i in range(draw(st.integers(1, 12))):
        title = [w for w in WORDS for _ in range(draw(_counts))]
        body = [w for w in WORDS for _ in range(draw(_body_counts))]
        if not title and not body:
            body = ["oil"]
        docs.append(
            {"id": f"d{i}", "title": " ".join(draw(st.permutations(title))), "body": " ".join(body)}
        )
    return docs


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=_docs(), data=st.data())
def test_tfs_are_the_analyzers_counts(tmp_path_factory, docs, data):
    folder = tmp_path_factory.mktemp("tf") / "idx"
    ix = newsindex.Index.create(folder)
    with ix.writer() as w:
        for d in docs:
            w.add(d)
    analyzer = newsindex.Analyzer()
    want = {
        d["id"]: (Counter(analyzer.terms(d["title"])), Counter(analyzer.terms(d["body"])))
        for d in docs
    }
    (seg,) = ix._snap.searcher.segments
    rows = []  # (title tf, body tf) of every posting, in posting order, from the analyzer
    for tid in range(len(seg.terms)):
        term = seg.terms[tid]
        s, e = seg.term_range(term)
        for doc in seg.docs(s, e).tolist():
            title, body = want[seg.ids[doc]]
            rows.append((title[term], body[term]))
    n = len(rows)
    assert n == len(seg.docs(0, n))
    for _ in range(5):
        s = data.draw(st.integers(0, n))
        e = data.draw(st.integers(s, n + 2))
        title, body = seg.tfs(s, e)
        assert list(zip(title.tolist(), body.tolist())) == rows[s:e]
        assert seg.tf(0, s, e).tolist() == [t for t, _ in rows[s:e]]
        assert seg.tf(1, s, e).tolist() == [b for _, b in rows[s:e]]
    assert [tuple(map(int, r)) for r in zip(*seg.post_tf)] == rows
    assert ix.check() == []
    ix.close()
