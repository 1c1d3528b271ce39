"""Related stories (Index.more_like_this): Lucene's MoreLikeThis on the bundled sample."""

import io
import json
import math
import subprocess
import sys
from collections import Counter

import pytest
from conftest import SAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from newsindex import Index
from newsindex.errors import ConfigError
from newsindex.shell.commands import Shell
from newsindex.shell.session import Session

FILTERS = (None, "date:1987-03", "-section:earn", "source:reuters", "oil OR trade", "section:acq")
ids_of = st.integers(min_value=0, max_value=999)


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)], capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(which=ids_of, filt=st.sampled_from(FILTERS), limit=st.integers(1, 30))
def test_related_is_the_like_query_without_the_story(sample_index, sample_docs, which, filt, limit):
    """Differential: more_like_this equals a plain search for its like_query filtered by the
    same query, minus the story itself; every hit's score is what explain() adds up to."""
    ix = sample_index
    source = sample_docs[which]["id"]
    got = ix.more_like_this(source, limit=limit, query=filt)
    like = ix.like_query(source)
    if filt is None:
        reference = ix.search(like, limit=limit + 1)
    else:
        allowed = {h.id for h in ix.search(filt, limit=2000)}
        reference = ix.search(like, limit=2000)
        reference.hits = [h for h in reference.hits if h.id in allowed]
        reference.total = len(reference.hits)
        assert reference.total < 2000
    expected = [h.id for h in reference.hits if h.id != source][:limit]
    assert source not in [h.id for h in got.hits]
    assert [h.id for h in got.hits] == expected
    assert got.total == reference.total - (source in {h.id for h in reference.hits})
    for hit in got.hits[:3]:
        assert math.isclose(ix.explain(like, hit.id).value, hit.score, rel_tol=1e-9)
        if filt is not None:
            assert hit.id in allowed


def test_terms_are_the_most_distinctive_by_tf_idf(sample_index, sample_docs):
    """Reference: document frequencies counted from the raw sample, Lucene's idf, tf * idf."""
    ix = sample_index
    analyzer = ix.analyzer("body")
    terms_of = {
        d["id"]: analyzer.terms(d.get("title") or "") + analyzer.terms(d.get("body") or "")
        for d in sample_docs
    }
    df = Counter(t for terms in terms_of.values() for t in set(terms))
    n = len(sample_docs)
    for d in sample_docs[::97]:
        tf = Counter(terms_of[d["id"]])
        scored = sorted(
            (-c * math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)), t)
            for t, c in tf.items()
            if df[t] >= 2
        )[:25]
        query = ix.like_query(d["id"])
        got = [part.rsplit("^", 1) for part in query.text.split()]
        assert [t for t, _ in got] == [t for _, t in scored]
        top = scored[0][0] if scored else 1.0
        assert [float(b) for _, b in got] == [round(s / top, 2) for s, _ in scored]


def test_related_stories_share_the_topic(sample_index, sample_docs):
    """Real data: the sample's Reuters topics (sections) as labels; the related stories of a
    story about crude oil or grain are mostly about the same, far above the base rate."""
    ix = sample_index
    section = {d["id"]: d.get("section") for d in sample_docs}
    labelled = [s for s in section.values() if s]
    for topic in ("crude", "grain", "trade"):
        same = shown = 0
        for story in (i for i, s in section.items() if s == topic):
            for hit in ix.more_like_this(story, limit=5):
                if section[hit.id]:
                    shown += 1
                    same += section[hit.id] == topic
        assert same / shown > 0.6 > 10 * labelled.count(topic) / len(labelled)


def test_paging_and_sorts_hold(sample_index, sample_docs):
    ix = sample_index
    source = sample_docs[3]["id"]
    whole = ix.more_like_this(source, limit=30)
    pages = [h.id for o in range(0, 30, 7) for h in ix.more_like_this(source, limit=7, offset=o)]
    assert pages[:30] == [h.id for h in whole.hits]
    dated = ix.more_like_this(source, limit=20, sort="date")
    assert [h.date_day for h in dated] == sorted((h.date_day for h in dated), reverse=True)
    assert source not in {h.id for h in dated}
    with_facets = ix.more_like_this(source, limit=1, facets=True)
    assert sum(c for _, c in with_facets.facets.dates) + with_facets.facets.undated == whole.total


def test_bad_input_is_a_clear_error(sample_index):
    with pytest.raises(ConfigError, match="no article with id 'nope'"):
        sample_index.more_like_this("nope")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="max_terms"):
            sample_index.like_query("1", max_terms=bad)
    with pytest.raises(ConfigError, match="limit"):
        sample_index.more_like_this("1", limit=-1)


def test_a_story_with_nothing_shared_has_no_related(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add({"id": "a", "title": "Zebra", "body": "quagga okapi"})
        w.add({"id": "b", "title": "Harbour", "body": "ferry tug"})
        w.add({"id": "c", "title": "Harbour strike", "body": "ferry crews strike"})
    assert ix.more_like_this("a").total == 0
    assert [h.id for h in ix.more_like_this("b")] == ["c"]
    with ix.writer() as w:  # deletions change the statistics: c is gone, nothing is left
        w.delete("c")
    assert ix.like_query("b").text == "(no distinctive terms)"
    assert ix.more_like_this("b").total == 0


def test_cli_similar(tmp_path, sample_docs):
    idx = tmp_path / "idx"
    run("index", idx, SAMPLE)
    source = sample_docs[0]["id"]
    rows = json.loads(run("similar", idx, source, "--json").stdout)["hits"]
    assert len(rows) == 10 and source not in {r["id"] for r in rows}
    assert [r["rank"] for r in rows] == list(range(1, 11))
    with Index.open(idx) as ix:
        assert [r["id"] for r in rows] == [h.id for h in ix.more_like_this(source)]
    out = run("similar", idx, source, "--filter", "date:1987-03-02", "--limit", "3").stdout
    assert f"for 'like {source}'" in out and all("1987-03-02" in x for x in out.splitlines()[1:])
    proc = run("similar", idx, "no-such-id", check=False)
    assert proc.returncode == 1 and "no article with id 'no-such-id'" in proc.stderr


def test_shell_similar(sample_index):
    session = Session(Index.open(sample_index.path))
    console = Console(file=io.StringIO(), width=100, color_system=None)
    shell = Shell(session, console)
    assert shell.handle(":similar 1") and "no query yet" in console.file.getvalue()
    shell.handle("oil prices")
    source = session.hit(2)
    shell.handle(":similar 2")
    search, results = session.need_query()
    assert search.like.id == source.id and source.id not in {h.id for h in results.hits}
    assert [h.id for h in results.hits] == [h.id for h in sample_index.more_like_this(source.id)]
    assert f"similar to {source.article.title}" in console.file.getvalue()
    session.turn(+1)
    hit, why = session.explain(12)
    assert math.isclose(why.value, hit.score, rel_tol=1e-9)
    assert session.hit(3).id == results.hits[2].id
