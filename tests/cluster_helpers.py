"""Generated corpora and queries, and the comparison of a sharded index's answers with one
index's, for the cluster tests (in process and on a LocalCluster)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import strategies as st

import newsindex

WORDS = ["oil", "price", "opec", "crude", "gas", "market", "bank", "rate", "cut", "talk"]
DAYS = [None, "2016-11-09", "2016-11-10", "2016-12-01", "2017-01-15", "1987-03-02"]
SOURCES = [None, "Reuters", "TRT World", "AP"]
SECTIONS = [None, "World", "Business", "crude"]
AUTHORS = [None, "John Smith", "Ann Lee", "Smith"]

texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=8).map(" ".join)
articles = st.fixed_dictionaries(
    {
        "id": st.integers(0, 40).map(str),
        "title": texts,
        "body": texts,
        "date": st.sampled_from(DAYS),
        "source": st.sampled_from(SOURCES),
        "section": st.sampled_from(SECTIONS),
        "author": st.sampled_from(AUTHORS),
    }
).map(lambda d: {k: v for k, v in d.items() if v is not None})
#: Batches of operations, each batch one commit: an article to add, or an id to delete.
batches = st.lists(
    st.lists(st.one_of(articles, articles, articles, st.integers(0, 40).map(str)), max_size=25),
    min_size=1,
    max_size=3,
)

word = st.sampled_from(WORDS)
leaf = st.one_of(
    word,
    word,
    st.builds(lambda a, b: f'"{a} {b}"', word, word),
    st.builds(lambda f, w: f"{f}:{w}", st.sampled_from(["title", "body"]), word),
    st.builds(lambda w: w[:2] + "*", word),
    st.builds(lambda w, b: f"{w}^{b}", word, st.sampled_from([0.5, 2, 3])),
    st.sampled_from(
        [
            "date:2016-11",
            "date:>=2016-12-01",
            "date:1987",
            "source:reuters",
            'source:"TRT World"',
            "section:(world OR business)",
            "author:smith",
            "recency:30d",
        ]
    ),
)
queries = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} {b}", inner, inner),
        st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
        st.builds(lambda a, b: f"{a} -({b})", inner, inner),
        st.builds(lambda a: f"+({a})", inner),
    ),
    max_leaves=4,
)
#: The opt-in stages: none, the proximity rescore (a window that may cut the matches), or
#: RM3 feedback (from a few or the default best hits).
scorings = st.one_of(
    st.none(),
    st.builds(
        lambda p, w: newsindex.Scoring(proximity=p, rescore_window=w),
        st.sampled_from([0.5, 2.0]),
        st.sampled_from([3, 100]),
    ),
    st.builds(
        lambda d: newsindex.Scoring(feedback=True, fb_docs=d, fb_terms=5),
        st.sampled_from([2, 10]),
    ),
)
searches = st.fixed_dictionaries(
    {
        "query": queries,
        "sort": st.sampled_from(newsindex.SORTS),
        "limit": st.integers(0, 12),
        "offset": st.integers(0, 8),
        "facets": st.booleans(),
        "scoring": scorings,
        "collapse": st.sampled_from([False, False, True, 0.9]),
    }
)


def build(ix: newsindex.Index, ops: list[list]) -> None:
    for batch in ops:
        with ix.writer() as w:
            for op in batch:
                if isinstance(op, str):
                    w.delete(op)
                else:
                    w.add(op)


def cut_at_a_tie(one: newsindex.Index, search: dict) -> bool:
    """Whether the hits an opt-in stage takes from the first stage (RM3's best ``fb_docs``,
    the proximity rescore's ``rescore_window``) end inside a group of equal score and day:
    which of the ties it takes is then the order of shards or of segments, and either is
    right, so answers may differ."""
    scoring = search.get("scoring")
    if scoring is None:
        return False
    if scoring.feedback:
        n = scoring.fb_docs
    elif scoring.proximity > 0 and search.get("sort", "relevance") == "relevance":
        n = scoring.rescore_window
    else:
        return False
    first = {**search, "offset": 0, "limit": n + 1, "facets": False, "sort": "relevance"}
    first["scoring"] = scoring.with_(proximity=0.0)  # (with feedback: its own first stage)
    if scoring.feedback:
        first["scoring"] = scoring.with_(feedback=False, proximity=0.0)
    hits = one.search(**first).hits
    if len(hits) <= n:
        return False
    return (round(hits[n - 1].score, 9), hits[n - 1].date_day) == (
        round(hits[n].score, 9),
        hits[n].date_day,
    )


def assert_same_answers(one: newsindex.Index, sharded: newsindex.Index, search: dict) -> None:
    """``sharded`` answers ``search`` as ``one`` does: the same totals, facet counts and
    scores, and the same ids in the same order up to ties of score and day (which list by
    shard, not by one index's segments)."""
    if cut_at_a_tie(one, search):
        return
    a = one.search(**search)
    b = sharded.search(**search)
    whole = one.search(**{**search, "offset": 0, "limit": max(1, a.total), "facets": False})
    assert len(a.expansion) == len(b.expansion)
    for x, y in zip(a.expansion, b.expansion):
        assert x[0] == y[0] and abs(x[1] - y[1]) <= 1e-9, (a.expansion, b.expansion)
    assert_same_results(a, b, whole, search)


def assert_same_results(
    a: newsindex.Results, b: newsindex.Results, whole: newsindex.Results, search: dict
) -> None:
    """``b`` is the page ``a`` is (``whole``: every hit of ``a``'s search, to know its ties)."""
    assert b.total == a.total
    assert b.offset == a.offset
    assert len(b.hits) == len(a.hits)
    assert [h.rank for h in b.hits] == [h.rank for h in a.hits]
    assert [h.date_day for h in b.hits] == [h.date_day for h in a.hits]
    for x, y in zip(a.hits, b.hits):
        assert abs(x.score - y.score) <= 1e-6 * max(1.0, abs(x.score)), (x, y)
    # Ids: each hit is one the single index ranks with the same score and day; a group of
    # ties wholly inside the page holds the same ids.
    groups: dict[tuple, set[str]] = defaultdict(set)
    for h in whole.hits:
        groups[(round(h.score, 9), h.date_day)].add(h.id)
    page_groups: dict[tuple, set[str]] = defaultdict(set)
    for x, y in zip(a.hits, b.hits):
        key = (round(x.score, 9), x.date_day)
        # A collapsed group led by another of its copies of the same score and day is a tie
        # too (which copy leads lists by shard here, by segment in one index): it stands in
        # for the single index's lead.
        lead = x.id if y.id != x.id and y.id in x.duplicates else y.id
        assert lead in groups[key], (search, x, y)
        page_groups[key].add(lead)
    assert len({h.id for h in b.hits}) == len(b.hits)
    for x, y in zip(a.hits, b.hits):
        if x.id == y.id:  # (the copies a hit stands for: wherever they are stored)
            assert set(x.duplicates) == set(y.duplicates), (search, x, y)
        elif y.id in x.duplicates:  # (the same group, led by a tied copy)
            assert {x.id, *x.duplicates} == {y.id, *y.duplicates}, (search, x, y)
    for key, ids in page_groups.items():
        if len(groups[key]) == len(ids):  # (no group crosses the page's ends)
            assert ids == {h.id for h in a.hits if (round(h.score, 9), h.date_day) == key}
    if search.get("facets"):
        assert_same_facets(a.facets, b.facets)
    else:
        assert a.facets is None and b.facets is None


def assert_same_facets(a: newsindex.Facets, b: newsindex.Facets) -> None:
    """Equal counts; values listed in count order (ties, listed in the order first met,
    may differ, and so may which of the ties the top 20 keep)."""
    assert (a.dates, a.date_bucket, a.undated) == (b.dates, b.date_bucket, b.undated)
    for x, y in ((a.sources, b.sources), (a.sections, b.sections), (a.authors, b.authors)):
        assert [c for _, c in x] == [c for _, c in y]
        floor = x[-1][1] if len(x) == 20 else 0
        assert {v: c for v, c in x if c > floor} == {v: c for v, c in y if c > floor}


def copies_of(sample_docs: list[dict]) -> list[dict]:
    """Stories of the sample and wire copies of some of them: the same body or one with its
    last words dropped, under other ids, sources and days."""
    docs = [dict(d) for d in sample_docs[:300]]
    for n, d in enumerate(sample_docs[:300:4]):
        words = d["body"].split()
        for c in range(1 + n % 3):
            edited = words[: len(words) - c] if c else words
            docs.append(
                {
                    **d,
                    "id": f"{d['id']}-copy{c}",
                    "body": " ".join(edited),
                    "source": ["AP", "AFP", "Reuters"][c],
                    # (a year the sample has no story of: no copy ties its original)
                    "date": f"1988-0{3 + c}-1{n % 9}",
                }
            )
    return docs


def assert_same_duplicates(
    one: newsindex.Index, sharded: newsindex.Index, threshold: float
) -> None:
    """The same groups, largest first, each's stories oldest first; stories of one day may
    list in another order (ties list by shard), and so may groups whose first stories share
    a size and a day."""
    a, b = one.duplicates(threshold=threshold), sharded.duplicates(threshold=threshold)
    assert sorted(map(sorted, a)) == sorted(map(sorted, b))

    def day(art_id: str) -> str:
        return str(one.get(art_id).date)[:10]  # type: ignore[union-attr]

    def order(groups: list[tuple[str, ...]]) -> list[tuple]:
        return [(len(g), day(g[0])) for g in groups]

    def days(groups: list[tuple[str, ...]]) -> dict[frozenset, list[str]]:
        return {frozenset(g): [day(i) for i in g] for g in groups}

    assert order(a) == order(b)
    assert days(a) == days(b)
