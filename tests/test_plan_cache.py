"""The plans a snapshot keeps for query texts (handle._plan): a kept plan is the plan the
text gets afresh, a commit never leaves an old one in use, and bad options are refused
whether or not the text was planned before."""

import datetime as dt

import pytest
from conftest import load_sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.handle import _expand_prefix, _plan, plan_query

DOCS = load_sample(200)

WORDS = ["oil", "prices", "opec", "bank", "rates", "the", "of", "wheat", "crude", "zzyzx"]
CLAUSES = WORDS + [
    "oil*",
    "ba*",
    '"oil prices"',
    "title:oil",
    "-bank",
    "+crude",
    "oil^2",
    "(oil OR gas)",
    "date:1987",
    "date:last-7d",
    "date:today",
    "recency:30d",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("plans") / "idx"
    with newsindex.Index.create(path) as index, index.writer() as w:
        for d in DOCS:
            w.add(d)
    return path


@pytest.fixture(scope="module")
def ix(folder):
    return newsindex.Index.open(folder)


@pytest.fixture(scope="module")
def other(folder):
    """The same index opened again: its snapshot plans every text afresh."""
    return newsindex.Index.open(folder)


def _fresh(ix, query, syntax, op, today):
    """The plan of ``query`` made now, past the snapshot's kept plans."""
    snap = ix._current()
    limits = ix._limits()

    def expand(prefix, fields):
        return _expand_prefix(snap.searcher.segments, limits[0], prefix, fields)

    return plan_query(snap.analyzers, expand, query, syntax, op, None, today, limits)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    clauses=st.lists(st.sampled_from(CLAUSES), min_size=1, max_size=6),
    syntax=st.sampled_from(["query", "plain"]),
    op=st.sampled_from(["or", "and"]),
)
def test_a_kept_plan_is_the_plan_made_afresh(ix, other, clauses, syntax, op):
    """Planned under each of several days and prefix limits in turn (relative dates and
    prefix expansions depend on them), each plan kept is the one made afresh."""
    text = " ".join(clauses)
    kept = ix.prefix_limit
    try:
        for limit in (1000, 1, 1000):
            ix.prefix_limit = other.prefix_limit = limit
            for today in (None, dt.date(1987, 3, 1), dt.date(1987, 3, 2), None):
                _check_kept_plan(ix, other, text, syntax, op, today)
    finally:
        ix.prefix_limit = other.prefix_limit = kept


def _check_kept_plan(ix, other, text, syntax, op, today):
    snap = ix._current()
    try:
        _fresh(ix, text, syntax, op, today)
    except newsindex.NewsIndexError as e:
        for _ in range(2):  # refused each time: nothing kept
            with pytest.raises(type(e)):
                _plan(snap, text, syntax, op, None, today, ix._limits())
        return
    first = _plan(snap, text, syntax, op, None, today, ix._limits())
    again = _plan(snap, text, syntax, op, None, today, ix._limits())
    assert again is first  # kept
    assert first == _fresh(ix, text, syntax, op, today)
    res = ix.search(text, syntax=syntax, default_operator=op, today=today, limit=20)
    other._current().plans.clear()
    want = other.search(text, syntax=syntax, default_operator=op, today=today, limit=20)
    assert [(h.id, h.score) for h in res.hits] == [(h.id, h.score) for h in want.hits]
    assert res.total == want.total


def test_a_commit_never_leaves_a_kept_plan_in_use(tmp_path):
    """Prefix expansions and the index's stems change with a commit: after refresh the
    searches answer as a newly opened index does, not with the plans of the old snapshot."""
    path = tmp_path / "idx"
    ix = newsindex.Index.create(path)
    with ix.writer() as w:
        w.add({"id": "1", "title": "oil prices", "body": "crude oil"})
    queries = ["oi*", "oily oil", "title:oi*", '"oily rigs"', "rigs"]
    before = {q: [h.id for h in ix.search(q).hits] for q in queries}
    assert before["oi*"] == ["1"] and before["rigs"] == []
    with ix.writer() as w:
        w.add({"id": "2", "title": "oily rigs", "body": "oily rigs offshore"})
    ix.refresh()
    fresh = newsindex.Index.open(path)
    for q in queries:
        got = ix.search(q)
        want = fresh.search(q)
        assert [(h.id, h.score) for h in got.hits] == [(h.id, h.score) for h in want.hits], q
        assert got.total == want.total
    assert {h.id for h in ix.search("oi*").hits} == {"1", "2"}
    assert [h.id for h in ix.search("rigs").hits] == ["2"]
    fresh.close()
    ix.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"scoring": "bm25"},
        {"today": "2016-01-01"},
        {"today": ["unhashable"]},
        {"syntax": ["query"]},
        {"syntax": "lucene"},
        {"default_operator": {"or": 1}},
    ],
)
def test_bad_options_are_refused_after_the_text_was_planned(ix, bad):
    ix.search("oil prices")  # planned and kept with good options
    with pytest.raises(newsindex.NewsIndexError):
        ix.search("oil prices", **bad)


def test_the_kept_plans_are_bounded(ix, monkeypatch):
    import newsindex.handle as handle

    monkeypatch.setattr(handle, "PLAN_CACHE_SIZE", 8)
    snap = ix._current()
    for i in range(40):
        ix.search(f"oil {i}")
        assert len(snap.plans) <= 8


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(0, 4e9),  # anywhere from 1970 to 2096, in any order (clocks set back)
            st.integers(0, 40).map(lambda d: 1.7e9 + d * 43200.0 - 0.0005),  # near midnights
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_plan_keys_date_is_the_local_date_at_every_moment(moments):
    """The date in a kept plan's key (handle._local_today, read from the clock alone while
    the day lasts) is ``date.today()``'s at every moment, across midnights, daylight-saving
    changes and a clock set back or forward."""
    import time

    from newsindex import handle

    with pytest.MonkeyPatch.context() as mp:
        for t in moments:
            mp.setattr(time, "time", lambda t=t: t)
            assert handle._local_today() == dt.date.fromtimestamp(t), t
