import datetime as dt
import tempfile
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.schema import normalize_keyword

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


# -- facets agree with filters (issue 14.5) ---------------------------------------------------
SPELLINGS = {
    "section": ["World", "world", "WORLD", "Wörld", "Business", "business news", "Business-News"],
    "source": ["TRT World", "trt-world", "TRTWorld", "Reuters", "REUTERS", "BBC", "—"],
    "author": ["John Smith", "JOHN SMITH", "Smith", "Smith, John", "JohnSmith Jones", "Jane Doe"],
}
FACET_OF = {"source": "sources", "section": "sections", "author": "authors"}
article = st.fixed_dictionaries(
    {
        "body": st.lists(st.sampled_from(["oil", "gas", "aleppo", "siege"]), min_size=1).map(
            " ".join
        ),
        "date": st.none() | st.dates(dt.date(2014, 12, 20), dt.date(2017, 1, 10)),
        **{f: st.none() | st.sampled_from(values) for f, values in SPELLINGS.items()},
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(article, min_size=1, max_size=40),
    st.sampled_from(["oil", "gas OR aleppo", "oil -siege", "section:world"]),
    st.sampled_from([None, "day", "month", "year"]),
)
def test_every_facet_count_is_its_filters_count(articles, query, bucket):
    with tempfile.TemporaryDirectory() as folder:
        ix = newsindex.Index.create(folder + "/idx")
        numbered = list(enumerate(articles))
        half = len(numbered) // 2
        for part in (numbered[:half], numbered[half:]):  # two segments
            with ix.writer() as w:
                for i, a in part:
                    w.add({"id": str(i), "title": "", **a})
        res = ix.search(query, facets=True, date_bucket=bucket, limit=0)
        for field, name in FACET_OF.items():
            shown = getattr(res.facets, name)
            assert len({normalize_keyword(v) for v, _ in shown}) == len(shown)
            for value, count in shown:
                assert ix.count(f'({query}) {field}:"{value}"') == count, (field, value)
        assert (
            sum(c for _, c in res.facets.sections)
            + ix.count(f"({query}) -section:(world wörld business businessnews)")
            == res.total
        )
        for day, count in res.facets.dates:
            assert ix.count(f"({query}) date:{day}") == count, day
        assert sum(c for _, c in res.facets.dates) + res.facets.undated == res.total
        ix.close()


def test_facet_values_are_filter_keys_in_their_most_common_spelling(tmp_path):
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for i, (section, author) in enumerate(
            [("World", "JULIE VORMAN")] * 5 + [("world", "Julie Vorman")] * 4 + [("World", None)]
        ):
            w.add(
                {"id": str(i), "title": "aleppo", "body": "", "section": section, "author": author}
            )
    f = ix.search("aleppo", facets=True).facets
    assert f.sections == [("World", 10)]
    assert f.authors == [("JULIE VORMAN", 9)]
    assert ix.count('aleppo section:"World"') == 10


def _date_facets_by_sorting(days, date_bucket):
    """The date facet as facets.py made it before it counted days: every match's stamp in
    its bucket, sorted by numpy's unique."""
    import numpy as np

    from newsindex.schema import NO_DATE

    dated = days[days != NO_DATE].astype(np.int64)
    if not len(dated):
        return None, []
    from newsindex.results.facets import _bucket_for_span

    bucket = date_bucket or _bucket_for_span(int(dated.max() - dated.min()))
    unit = {"day": "D", "month": "M", "year": "Y"}[bucket]
    epoch = np.datetime64("1970-01-01", "D")
    stamps = (epoch + dated.astype("timedelta64[D]")).astype(f"datetime64[{unit}]")
    values, counts = np.unique(stamps, return_counts=True)
    return bucket, [(str(v), int(c)) for v, c in zip(values, counts)]


@settings(max_examples=300, deadline=None)
@given(
    days=st.lists(
        st.one_of(
            st.integers(-800_000, 2_900_000),  # years 0-9909
            st.integers(-400, 400),  # around 1970 (day 0), pre-1970 included
            st.integers(17_000, 17_500),  # a few hundred days of 2016-2017
            st.just(-(2**31)),  # undated
        ),
        max_size=300,
    ),
    bucket=st.sampled_from([None, "day", "month", "year"]),
)
def test_date_facets_count_every_match_in_its_bucket(days, bucket):
    """The date facet counts each match's day once and groups the days into buckets: the
    same buckets and counts as sorting every match's stamp (the way before), over any
    days, spans and buckets, undated matches apart."""
    import numpy as np

    from newsindex.results.facets import facets_from_counts

    arr = np.array(days, dtype=np.int32)
    got = facets_from_counts(
        {"source": Counter(), "section": Counter(), "author": Counter()}, arr, bucket
    )
    want_bucket, want = _date_facets_by_sorting(arr, bucket)
    assert got.dates == want
    assert got.undated == days.count(-(2**31))
    if want:
        assert got.date_bucket == want_bucket
