"""A snapshot's term statistics (search/searcher.py ``term_stats``): the df of every term in
every set of fields is the number of live stories whose analysed text in those fields holds
the term (brute force over the stored articles), whether a segment has deletions or not and
whatever the segmentation; with the collection's dfs given (a shard), the given df and the
same postings slices."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import newsindex
from newsindex.bm25f import idf
from tests.histories import histories, replay


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories(words=30, max_commit=120, max_pool=300))
def test_every_terms_df_counts_the_live_stories_holding_it(tmp_path_factory, history):
    ix = replay(tmp_path_factory.mktemp("stats") / "idx", history)
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
    # Many at once (a long query's words, repeats and absent ones among them), on snapshots
    # that have kept nothing yet: segments answering by lookups, or from dicts read whole.
    listed = [*sorted(terms), "absent", min(terms), "zzz"]
    for whole in (False, True):
        fresh = newsindex.Index.open(ix.path)
        other = fresh._snap.searcher
        if whole:
            for seg in other.segments:
                seg.term_range("absent")
                assert seg._vocabulary is not None and seg._laid is not None
        for fields in ((0,), (1,), (0, 1)):
            want_all = [searcher.term_stats(t, fields) for t in listed]
            assert other.terms_stats(listed, fields) == want_all
            assert other.terms_stats(listed, fields) == want_all  # (kept)
        fresh.close()
    ix.close()
