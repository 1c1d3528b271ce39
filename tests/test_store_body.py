"""Indexes that do not store article bodies (``IndexSettings(store_body=False)``).

The reference is the same articles indexed with their bodies stored: everything a search
computes from the index (hits, scores, totals, phrases, facets, related stories, feedback,
near-duplicates, suggestions) must be identical, the stored articles identical but for an
empty body, and snippets the title's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import SAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex import Index, IndexSettings, ShardedIndex
from newsindex.index import manifest as mf
from newsindex.index.merge import MERGE_FACTOR

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Enough commits that the writer's merge policy has full tiers to fold.
COMMITS = 2 * MERGE_FACTOR + 3


def _build(path: Path, docs: list[dict], store_body: bool, commits: int = COMMITS) -> Index:
    ix = Index.create(path, IndexSettings(store_body=store_body))
    step = -(-len(docs) // commits)
    for start in range(0, len(docs), step):
        with ix.writer() as w:
            for d in docs[start : start + step]:
                w.add(d)
    with ix.writer() as w:  # deletions and a replacement, so live counts matter too
        for d in docs[:: len(docs) // 7]:
            w.delete(d["id"])
        w.add({**docs[1], "title": docs[1]["title"] + " replaced"})
    return ix


@pytest.fixture(scope="module")
def pair(tmp_path_factory, sample_docs):
    """(stored, bodyless): the sample in many commits, with and without bodies stored."""
    root = tmp_path_factory.mktemp("store_body")
    return _build(root / "stored", sample_docs, True), _build(root / "bodyless", sample_docs, False)


def _body_words(docs: list[dict]) -> list[str]:
    """Words that occur in some body but in no title: found only through body postings."""
    titles = {w for d in docs for w in d["title"].lower().split()}
    words = sorted({w for d in docs for w in d["body"].lower().split() if w.isalpha()} - titles)
    return words[:: max(1, len(words) // 400)]


@pytest.fixture(scope="module")
def words(sample_docs) -> list[str]:
    return _body_words(sample_docs)


def _unordered(facets: dict) -> dict:
    """Facet counts without what depends on the segments' layout: the order of equal counts,
    and which of the values tied at the smallest count shown make the cut."""

    def counts(pairs: list) -> tuple:
        if not pairs:
            return ((), frozenset())
        least = min(c for _, c in pairs)
        return sorted(c for _, c in pairs), frozenset((v, c) for v, c in pairs if c > least)

    return {k: counts(v) if isinstance(v, list) else v for k, v in facets.items()}


def _scores(res) -> dict[str, float]:
    return {h.id: round(h.score, 9) for h in res.hits}


QUERY_SHAPES = st.sampled_from(
    ["{a}", "{a} {b}", '"{a} {b}"', "+{a} -{b}", "body:{a} OR title:{b}", "{a} date:1987-03"]
)


@SETTINGS
@given(data=st.data())
def test_searches_answer_as_with_bodies_stored(pair, words, data):
    """Differential, across the merge policy's many commits: the body terms every search
    uses are all there (a merge rebuilding from stored text would drop them)."""
    stored, bodyless = pair
    shape = data.draw(QUERY_SHAPES)
    query = shape.format(a=data.draw(st.sampled_from(words)), b=data.draw(st.sampled_from(words)))
    sort = data.draw(st.sampled_from(["relevance", "date"]))
    want = stored.search(query, limit=1000, sort=sort, facets=True)
    got = bodyless.search(query, limit=1000, sort=sort, facets=True)
    assert got.total == want.total
    assert _scores(got) == _scores(want)
    assert _unordered(got.facets.to_dict()) == _unordered(want.facets.to_dict())
    assert bodyless.count(query) == stored.count(query)


def test_body_terms_survive_every_commit_and_the_writers_merges(pair, sample_docs):
    stored, bodyless = pair
    assert bodyless.doc_count == stored.doc_count
    assert bodyless.stats()["postings"] == stored.stats()["postings"]
    for word in _body_words(sample_docs)[:100]:
        assert bodyless.count(f"body:{word}") == stored.count(f"body:{word}") > 0, word


def test_stored_articles_keep_every_field_but_the_body(pair):
    stored, bodyless = pair
    for hit in stored.search("oil OR trade OR bank", limit=200).hits:
        want, got = hit.article, bodyless.get(hit.id)
        assert got is not None and got.body == "" and want.body
        assert got.to_dict() == {**want.to_dict(), "body": ""}


def test_snippets_are_the_titles(pair):
    stored, bodyless = pair
    for query in ("oil prices", '"crude oil"', "bank", "date:1987-03"):
        want = {h.id: h for h in stored.search(query, limit=50).hits}
        for hit in bodyless.search(query, limit=50).hits:
            assert hit.snippet() == want[hit.id].snippet(field="title")
            assert hit.snippet(field="title") == want[hit.id].snippet(field="title")
            q = bodyless.parse(query)
            assert q.snippet(hit.article) == want[hit.id].snippet(field="title")
            assert q.snippet("a text passed as such: oil") == stored.parse(query).snippet(
                "a text passed as such: oil"
            )


def test_related_stories_and_feedback_read_the_postings(pair, sample_docs):
    stored, bodyless = pair
    live = [d["id"] for d in sample_docs[2::37] if d["id"] in stored]
    for article_id in live:
        assert bodyless.like_query(article_id).text == stored.like_query(article_id).text
        want = stored.more_like_this(article_id, limit=20)
        got = bodyless.more_like_this(article_id, limit=20)
        assert _scores(got) == _scores(want) and got.total == want.total
    for query in ("oil prices", "bank rate", "coffee"):
        want = stored.search(query, feedback=True, limit=30)
        got = bodyless.search(query, feedback=True, limit=30)
        assert got.expansion == want.expansion
        assert _scores(got) == _scores(want)


def test_collapse_duplicates_suggestions_and_check(pair):
    stored, bodyless = pair
    assert bodyless.duplicates() == stored.duplicates()
    for query in ("oil", "bank rate"):
        want = stored.search(query, collapse=True, limit=100)
        got = bodyless.search(query, collapse=True, limit=100)
        assert _scores(got) == _scores(want)
        assert {h.id: h.duplicates for h in got.hits} == {h.id: h.duplicates for h in want.hits}
    for typo in ("petroleom", "crude oill", "interst rates"):
        assert bodyless.search(typo).suggestion == stored.search(typo).suggestion
    assert bodyless.check() == []


def test_optimize_merges_from_the_postings_and_keeps_every_answer(pair, words, tmp_path):
    """A merge copies postings, never re-analyses stored text: a bodyless index merges into
    one segment with every body term (a rebuild from the stored rows would drop them)."""
    stored, bodyless = pair
    shutil.copytree(bodyless.path, tmp_path / "copy")
    merged = Index.open(tmp_path / "copy")
    assert merged.stats()["segments"] > 1
    merged.optimize()
    assert merged.stats()["segments"] == 1 and merged.doc_count == stored.doc_count
    for word in words[:100]:
        assert merged.count(f"body:{word}") == stored.count(f"body:{word}") > 0, word
    for query in ("oil prices", '"crude oil"', "bank -rate", "date:1987-03"):
        want = stored.search(query, limit=1000)
        got = merged.search(query, limit=1000)
        assert _scores(got) == _scores(want) and got.total == want.total
    assert merged.get(stored.search("oil", limit=1).hits[0].id).body == ""
    assert merged.check() == []


def test_the_stored_fields_shrink(pair):
    sizes = []
    for ix in pair:
        manifest = mf.read_latest(ix.path)
        sizes.append(
            sum(i.size for s in manifest.segments for n, i in s.files.items() if n.endswith(".doc"))
        )
    assert sizes[1] < sizes[0] / 2


def test_forked_workers_store_no_body_either(tmp_path, sample_docs):
    docs = [{**d, "id": f"{k}-{d['id']}"} for k in range(5) for d in sample_docs]
    ix = Index.create(tmp_path / "x", {"store_body": False})
    with ix.writer(workers=2) as w:
        for d in docs:
            w.add(d)
    assert all(ix.get(d["id"]).body == "" for d in docs[::97])
    assert ix.count(f"body:{_body_words(sample_docs)[0]}") > 0


def test_setting_round_trips_and_defaults(tmp_path):
    assert "store_body" not in IndexSettings().to_dict()  # older versions read it as before
    off = IndexSettings(store_body=False)
    assert IndexSettings.from_dict(off.to_dict()) == off
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"analyzer": "simple", "store_body": False}))
    ix = Index.create(tmp_path / "idx", path)
    assert ix.settings.store_body is False and ix.stats()["settings"]["store_body"] is False
    assert Index.open(tmp_path / "idx").settings == ix.settings


def test_a_sharded_index_passes_the_setting_to_its_shards(tmp_path, sample_docs):
    ix = ShardedIndex.create(tmp_path / "s", {"store_body": False}, shards=2)
    with ix.writer() as w:
        for d in sample_docs[:50]:
            w.add(d)
    assert ix.settings.store_body is False
    assert all(ix.get(d["id"]).body == "" for d in sample_docs[:50])
    for k in range(2):
        assert Index.open(tmp_path / "s" / f"shard-{k:03d}").settings.store_body is False


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)], capture_output=True, text=True
    )


def test_cli_no_store_body(tmp_path):
    idx = tmp_path / "idx"
    assert run("index", idx, SAMPLE, "--no-store-body").returncode == 0
    stats = json.loads(run("stats", idx, "--json").stdout)
    assert stats["settings"]["store_body"] is False
    hits = json.loads(run("search", idx, "oil prices", "--json").stdout)["hits"]
    got = json.loads(run("get", idx, hits[0]["id"], "--json").stdout)
    assert got["body"] == "" and got["title"] == hits[0]["title"]
    shown = run("get", idx, hits[0]["id"]).stdout
    assert shown.startswith(hits[0]["title"]) and "(body not stored" in shown
    assert hits[0]["snippet"].replace("«", "").replace("»", "") == hits[0]["title"]
    text = run("search", idx, "oil prices", "--limit", "3").stdout.splitlines()
    assert len(text) == 4  # the count, then one line per hit: no title repeated as a snippet
    # An index that stores bodies is not changed behind the option's back.
    kept = tmp_path / "kept"
    assert run("index", kept, SAMPLE).returncode == 0
    refused = run("index", kept, SAMPLE, "--no-store-body")
    assert refused.returncode == 1 and "stores article bodies" in refused.stderr
    assert json.loads(run("stats", kept, "--json").stdout)["documents"] == 1000


_WORDS = ["oil", "Bank", "the", "of", "U.S.", "F-16", "İstanbul", "café", "3.5", "rate's", "x"]
_TEXT = st.lists(
    st.one_of(st.sampled_from(_WORDS), st.text("abcé ,.", max_size=8)), max_size=30
).map(" ".join)


@st.composite
def _stories(draw):
    docs = []
    for i in range(draw(st.integers(1, 10))):
        body = draw(_TEXT)
        if draw(st.booleans()):  # frequencies past the packed byte's range
            body += " oil" * draw(st.sampled_from([63, 64, 300]))
        docs.append(
            {"id": f"d{i}", "title": draw(_TEXT) + " bank" * draw(st.integers(0, 5)), "body": body}
        )
    return docs


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=_stories(), commits=st.integers(1, 3), scan=st.sampled_from([1, 3, 1 << 22]))
def test_indexed_terms_are_what_analysis_gives(tmp_path_factory, monkeypatch, docs, commits, scan):
    """The class behind more_like_this and feedback without bodies: a story's terms read from
    the postings (in slices of any size, over several segments) are its text's terms."""
    from newsindex.search import similar

    monkeypatch.setattr(similar, "_SCAN_POSTINGS", scan)
    ix = Index.create(tmp_path_factory.mktemp("terms") / "idx", {"store_body": False})
    for k in range(commits):
        with ix.writer() as w:
            for d in docs[k::commits]:
                w.add(d)
    analyzer = ix.analyzer()
    want = {d["id"]: Counter(analyzer.terms(d["title"]) + analyzer.terms(d["body"])) for d in docs}
    for seg in ix._snap.searcher.segments:
        for doc in range(seg.ndocs):
            assert Counter(similar.indexed_terms(seg, doc)) == want[seg.ids[doc]]
    ix.close()
