from collections import Counter

import pytest

SAMPLE_QUERIES = ["oil", "bank rate", "trade deficit japan", "shares"]


@pytest.mark.parametrize("query", SAMPLE_QUERIES)
def test_facets_count_every_match_not_just_the_page(sample_index, query):
    res = sample_index.search(query, syntax="plain", limit=3, facets=True)
    every = sample_index.search(query, syntax="plain", limit=10_000)
    assert res.total == every.total > 3
    arts = [h.article for h in every.hits]
    sections = Counter(a.section for a in arts if a.section)
    sources = Counter(a.source for a in arts if a.source)
    months = Counter(a.date.strftime("%Y-%m") for a in arts if a.date)
    reported = dict(res.facets.sections)
    assert len(reported) == min(20, len(sections))
    assert all(sections[k] == v for k, v in reported.items())
    unreported = [c for k, c in sections.items() if k not in reported]
    assert max(unreported, default=0) <= min(reported.values())  # the top 20, ties aside
    counts = [c for _, c in res.facets.sections]
    assert counts == sorted(counts, reverse=True)
    assert dict(res.facets.sources) == dict(sources)
    assert res.facets.date_bucket == "month"  # the sample spans Feb..Oct 1987
    assert dict(res.facets.dates) == dict(months)
    assert [d for d, _ in res.facets.dates] == sorted(d for d, _ in res.facets.dates)


def test_date_buckets_follow_the_span_or_the_request(sample_index):
    short = sample_index.search("oil date:1987-03-01..1987-03-10", facets=True)
    assert short.facets.date_bucket == "day"
    assert all(d.startswith("1987-03-") for d, _ in short.facets.dates)
    assert sum(c for _, c in short.facets.dates) == short.total
    yearly = sample_index.search("oil", facets=True, date_bucket="year")
    assert yearly.facets.dates == [("1987", yearly.total)]
    with pytest.raises(ValueError):
        sample_index.search("oil", facets=True, date_bucket="week")


def test_no_facets_unless_asked(sample_index):
    assert sample_index.search("oil").facets is None
