"""A snapshot's term statistics (search/searcher.py ``term_stats``): the df of every term in
every set of fields is the number of live stories whose analysed text in those fields holds
the term (brute force over the stored articles), whether a segment has deletions or not and
whatever the segmentation; with the collection's dfs given (a shard), the given df and the
same postings slices."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.search.scoring import idf


@st.composite
def histories(draw):
    """Commits of (articles, ids deleted) over a small pool of ids (so replacements and
    segments with and without deletions), words of skewed frequencies."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    words = [f"w{i}" for i in range(30)]
    pool = draw(st.integers(3, 300))
    out = []
    for size in draw(st.lists(st.integers(1, 120), min_size=1, max_size=4)):
        docs = []
        for _ in range(size):
            text = [words[min(int(rng.paretovariate(0.7)) - 1, 29)] for _ in range(10)]
            docs.append(
                {
                    "id": f"d{rng.randrange(pool)}",
                    "title": " ".join(text[: rng.randint(0, 3)]),
                    "body": " ".join(text[3 : rng.randint(3, 10)]),
                    "date": f"2016-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                }
            )
        gone = [f"d{rng.randrange(pool)}" for _ in range(draw(st.integers(0, 20)))]
        out.append((docs, gone))
    return out, draw(st.booleans())


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories())
def test_every_terms_df_counts_the_live_stories_holding_it(tmp_path_factory, history):
    commits, optimize = history
    folder = tmp_path_factory.mktemp("stats") / "idx"
    ix = newsindex.Index.create(folder)
    for docs, gone in commits:
        with ix.writer() as w:
            for doc in docs:
                w.add(doc)
            for doc_id in gone:
                w.delete(doc_id)
    if optimize:
        ix.optimize()
    ix.refresh()
    analyzer = newsindex.Analyzer()
    searcher = ix._snap.searcher
    want: dict[tuple[str, tuple[int, ...]], int] = {}
    for seg in searcher.segments:
        for doc in range(seg.ndocs):
            if seg.live is not None and not seg.live[doc]:
                continue
            article = seg.article(doc)
            title, body = set(analyzer.terms(article.title)), set(analyzer.terms(article.body))
            for term in title | body:
                for fields, holds in (((0,), term in title), ((1,), term in body), ((0, 1), True)):
                    if holds:
                        want[(term, fields)] = want.get((term, fields), 0) + 1
    terms = {term for term, _ in want} | {"absent"}
    for term in sorted(terms):
        slices = tuple(seg.term_range(term) for seg in searcher.segments)
        for fields in ((0,), (1,), (0, 1)):
            got_slices, df, weight = searcher.term_stats(term, fields)
            assert df == want.get((term, fields), 0), (term, fields)
            assert got_slices == slices
            assert weight == (idf(df, searcher.doc_count) if df else 0.0)
            # A shard is given the collection's df: it keeps the slices, takes that df.
            given_df = df + 7
            shard = searcher.term_stats(term, fields, dfs={(term, fields): given_df})
            assert shard == (slices, given_df, idf(given_df, searcher.doc_count))
    ix.close()
