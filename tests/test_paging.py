"""Paging under every sort: pages of any size, read one after the other, are exactly one long
page, and a short page is the start of a longer one, on a corpus full of ties (same days,
equal scores, undated stories) spread over several segments, with deletions and updates."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex.search.topk import SORTS

BODIES = ["oil", "oil oil", "oil oil oil", "oil gas", "gas", "oil price", "price gas oil"]
DAYS = ["2016-11-09", "2016-11-10", "2016-11-11", None]


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    rng = random.Random(14)
    index = newsindex.Index.create(tmp_path_factory.mktemp("paging") / "idx")
    n = 0
    for batch in range(4):  # several segments
        with index.writer() as w:
            for _ in range(40):
                n += 1
                day = rng.choice(DAYS)
                doc = {"id": f"d{n}", "title": "", "body": rng.choice(BODIES)}
                if day:
                    doc["date"] = day
                w.add(doc)
            if batch:
                for _ in range(6):  # deletions and replacements of older segments' stories
                    i = rng.randint(1, n - 40)
                    if rng.random() < 0.5:
                        w.delete(f"d{i}")
                    else:
                        w.add({"id": f"d{i}", "body": rng.choice(BODIES), "date": DAYS[0]})
    opened = newsindex.Index.open(index.path)
    assert len(opened._searcher.segments) >= 3
    return opened


def _ids(res):
    return [h.id for h in res.hits]


QUERIES = ["oil", "gas", "oil gas", "price", "oil OR gas OR price", "-gas", "date:2016-11-10"]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.sampled_from(QUERIES),
    sort=st.sampled_from(SORTS),
    size=st.integers(1, 9),
    k=st.integers(0, 40),
    j=st.integers(1, 40),
)
def test_pages_are_one_long_page(ix, query, sort, size, k, j):
    everything = ix.search(query, sort=sort, limit=1000)
    assert len(everything.hits) == everything.total  # the long page has every match
    pages = []
    offset = 0
    while offset < everything.total:
        page = ix.search(query, sort=sort, limit=size, offset=offset)
        assert page.total == everything.total
        assert [h.rank for h in page.hits] == list(range(offset + 1, offset + 1 + len(page.hits)))
        pages += _ids(page)
        offset += size
    assert pages == _ids(everything)
    short, longer = ix.search(query, sort=sort, limit=k), ix.search(query, sort=sort, limit=k + j)
    assert _ids(longer)[:k] == _ids(short)
    assert _ids(short) == _ids(everything)[:k]


@pytest.mark.parametrize("sort", SORTS)
def test_the_long_page_follows_the_documented_order(ix, sort):
    hits = ix.search("oil OR gas OR price", sort=sort, limit=1000).hits
    assert len({h.id for h in hits}) == len(hits)

    def day(h):
        return h.date_day  # (undated: the smallest day)

    keys = {
        "relevance": lambda h: (-h.score, -day(h)),
        "date": lambda h: (-day(h), -h.score),
        "oldest": lambda h: (day(h), -h.score),
    }[sort]
    assert [keys(h) for h in hits] == sorted(keys(h) for h in hits)
    # The corpus really is full of ties, which is what the other test is about.
    assert len({keys(h) for h in hits}) < len(hits) / 3


def test_same_day_ties_page_consistently(tmp_path):
    index = newsindex.Index.create(tmp_path / "idx")
    with index.writer() as w:
        for i, body in enumerate(["oil", "oil oil oil", "oil oil"], 1):
            w.add({"id": f"c{i}", "body": body, "date": "2016-11-09"})
    for sort in SORTS:
        assert _ids(index.search("oil", sort=sort, limit=1)) == ["c2"]
        assert _ids(index.search("oil", sort=sort, limit=3)) == ["c2", "c3", "c1"]
