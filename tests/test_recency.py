"""Recency (search(..., recency="30d")): relevance times an exponential freshness decay."""

import datetime as dt
import io
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import SAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from newsindex import Index
from newsindex.errors import ConfigError
from newsindex.querylang.planner import half_life_days
from newsindex.schema import NO_DATE, day_number
from newsindex.search.recency import Recency
from newsindex.shell.commands import Shell
from newsindex.shell.session import Session

TODAY = dt.date(1987, 4, 15)  # a few weeks after the sample's last story
QUERIES = ("oil", "bank rate", "coffee OR sugar", "dollar date:1987-03", "title:profit", "trade")
HALF_LIVES = ("1d", "7d", "30d", "2w", "6m", "1y", 0.5, dt.timedelta(days=3))


@pytest.fixture(scope="module")
def ix(tmp_path_factory, sample_docs):
    """The sample in three segments, with undated stories and one dated after TODAY."""
    index = Index.create(tmp_path_factory.mktemp("recency") / "idx")
    for part in range(3):
        with index.writer() as w:
            for i, d in enumerate(sample_docs[part::3]):
                if i % 17 == 0:
                    d = {**d, "date": None}
                w.add(d)
    with index.writer() as w:
        w.add({"id": "future", "title": "Oil output", "body": "oil oil", "date": "1987-05-01"})
    return index


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.sampled_from(QUERIES), h=st.sampled_from(HALF_LIVES), limit=st.integers(1, 40))
def test_scores_are_relevance_times_the_decay(ix, q, h, limit):
    """Differential: every match's score is its plain score times 0.5 ** (age / half-life)
    computed here from the article's own date (1 when undated or future-dated); the page is
    the best of all matches by that score; explain() shows the same product."""
    half = half_life_days(h)
    plain = ix.search(q, limit=2000, today=TODAY)
    assert plain.total < 2000
    expected = {}
    for hit in plain.hits:
        day = hit.article.date
        age = _age(day)
        expected[hit.id] = hit.score * 0.5 ** (age / half)
    got = ix.search(q, limit=limit, today=TODAY, recency=h)
    assert got.total == plain.total
    for hit in got.hits:
        assert hit.score == pytest.approx(expected[hit.id], rel=1e-9, abs=1e-300)
    scores = [hit.score for hit in got.hits]
    assert scores == sorted(scores, reverse=True)
    best = sorted(expected.values(), reverse=True)[:limit]
    assert scores == pytest.approx(best, rel=1e-9, abs=1e-300)
    for hit in got.hits[:3]:
        why = ix.explain(q, hit.id, today=TODAY, recency=h)
        assert why.op == "product" and "product" in why.description
        assert why.value == pytest.approx(hit.score, rel=1e-12, abs=1e-300)
        assert why.value == pytest.approx(math.prod(d.value for d in why.details), rel=1e-12)


@given(
    days=st.lists(st.integers(-20000, 30000), min_size=2, max_size=50),
    h=st.floats(0.01, 1e5),
    today=st.integers(-20000, 30000),
)
def test_the_decay_is_monotone_in_age_and_neutral_for_undated(days, h, today):
    r = Recency(h, today)
    arr = np.array(sorted(days, reverse=True) + [NO_DATE], dtype=np.int32)
    f = r.factors(arr)
    assert f[-1] == 1.0  # undated: neutral
    assert np.all((f >= 0) & (f <= 1))
    assert np.all(np.diff(f[:-1]) <= 0)  # newest first: never increasing with age
    assert np.all(f[:-1][arr[:-1] >= today] == 1.0)  # today or later: full score


def test_recency_none_is_exactly_the_plain_search(ix):
    for q in QUERIES:
        a = ix.search(q, limit=50, today=TODAY)
        b = ix.search(q, limit=50, today=TODAY, recency=None)
        assert [(h.id, h.score) for h in a] == [(h.id, h.score) for h in b]
        assert str(ix.explain(q, a.hits[0].id, today=TODAY)) == str(
            ix.explain(q, a.hits[0].id, today=TODAY, recency=None)
        )


def test_a_date_sort_stays_a_date_sort(ix):
    for q in QUERIES:
        for sort in ("date", "oldest"):
            plain = ix.search(q, limit=100, sort=sort, today=TODAY)
            fresh = ix.search(q, limit=100, sort=sort, today=TODAY, recency="7d")
            assert [h.id for h in fresh] == [h.id for h in plain]


def test_fresh_stories_rise_and_old_ones_sink(ix):
    """Real data: with a short half-life the page is newer on average; undated stories keep
    their relevance; a story dated after today is not penalised."""
    plain = ix.search("oil", limit=20, today=TODAY)
    fresh = ix.search("oil", limit=20, today=TODAY, recency="3d")
    dated = [h.date_day for h in plain if h.date_day != NO_DATE]
    dated_fresh = [h.date_day for h in fresh if h.date_day != NO_DATE]
    assert sum(dated_fresh) / len(dated_fresh) > sum(dated) / len(dated)
    top = fresh.hits[0].date_day  # a 3-day half-life: the best is undated or not yet old
    assert top == NO_DATE or top >= day_number(TODAY) - 3
    future = ix.explain("oil", "future", today=TODAY, recency="3d")
    assert future.value == pytest.approx(ix.explain("oil", "future", today=TODAY).value)
    assert "age 0 d" in str(future)


def test_half_life_forms_and_bad_values():
    assert half_life_days("30d") == 30 and half_life_days("2w") == 14
    assert half_life_days("6M") == 180 and half_life_days("1y") == 365
    assert half_life_days(dt.timedelta(hours=12)) == 0.5 and half_life_days(2) == 2
    for bad in ("30", "d", "-3d", "0d", "3x", "", 0, -1, float("nan"), float("inf"), True, []):
        with pytest.raises(ConfigError, match="recency must be"):
            half_life_days(bad)


def test_bad_recency_is_a_clear_error(ix):
    with pytest.raises(ConfigError, match="recency must be"):
        ix.search("oil", recency="soon")
    with pytest.raises(ConfigError, match="recency must be"):
        ix.explain("oil", "future", recency=-1)


def test_recency_with_a_parsed_query_and_related_stories(ix):
    q = ix.parse("oil prices")
    a = ix.search(q, limit=10, today=TODAY, recency="30d")
    b = ix.search("oil prices", limit=10, today=TODAY, recency="30d")
    assert [(h.id, h.score) for h in a] == [(h.id, h.score) for h in b]
    with pytest.raises(ConfigError, match="today"):
        ix.search(q, today=TODAY)  # without recency, today is the Query's business
    source = b.hits[0].id
    plain = {h.id: h.score for h in ix.more_like_this(source, limit=1000)}
    fresh = ix.more_like_this(source, limit=10, today=TODAY, recency="30d")
    for hit in fresh:
        day = ix.get(hit.id).date
        age = _age(day)
        assert hit.score == pytest.approx(plain[hit.id] * 0.5 ** (age / 30), rel=1e-9)


def _age(day):
    """Days from ``day`` (a date or datetime; None: undated) to TODAY, 0 if later."""
    if day is None:
        return 0
    return max((TODAY - (day.date() if isinstance(day, dt.datetime) else day)).days, 0)


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)], capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_cli_and_shell_recency(tmp_path):
    idx = tmp_path / "idx"
    run("index", idx, SAMPLE)
    out = run("search", idx, "oil", "--recency", "10y", "--no-snippets").stdout
    with Index.open(idx) as ix:
        want = ix.search("oil", recency="10y")
        assert [line.split()[1] for line in out.splitlines()[1:]] == [
            f"{h.score:7.3f}".strip() for h in want
        ]
    bad = run("search", idx, "oil", "--recency", "soon", check=False)
    assert bad.returncode == 1 and "recency must be" in bad.stderr
    ix = Index.open(idx)
    session = Session(ix, today=TODAY)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    shell = Shell(session, console)
    shell.handle("oil")
    shell.handle(":recency 10y")
    want = ix.search("oil", recency="10y", today=TODAY)
    assert [h.id for h in session.current.results.hits] == [h.id for h in want]
    hit, why = session.explain(1)
    assert why.value == pytest.approx(hit.score, rel=1e-12) and why.op == "product"
    shell.handle(":recency off")
    assert [h.id for h in session.current.results] == [h.id for h in ix.search("oil")]
    shell.handle(":recency soon")
    assert "recency must be" in console.file.getvalue()
