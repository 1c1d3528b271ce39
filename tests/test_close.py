"""What ``Index.close()`` means: the Index and its results' unloaded articles raise
IndexClosedError (never a bare OSError, never another file's bytes); loaded ones stay."""

from __future__ import annotations

import pytest

import newsindex
from newsindex import IndexClosedError, NewsIndexError


@pytest.fixture
def ix(tmp_path, sample_docs):
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for d in sample_docs[:200]:
            w.add(d)
    with ix.writer() as w:  # a second segment, and a second snapshot
        for d in sample_docs[200:300]:
            w.add(d)
    return ix


#: Every public call that reads the index, by name.
CALLS = {
    "search": lambda ix: ix.search("oil"),
    "count": lambda ix: ix.count("oil"),
    "explain": lambda ix: ix.explain("oil", "5"),
    "get": lambda ix: ix.get("5"),
    "contains": lambda ix: "5" in ix,
    "stats": lambda ix: ix.stats(),
    "refresh": lambda ix: ix.refresh(),
    "len": lambda ix: len(ix),
    "generation": lambda ix: ix.generation,
    "settings": lambda ix: ix.settings,
    "analyzer": lambda ix: ix.analyzer("body"),
    "expand_prefix": lambda ix: ix.expand_prefix("co"),
    "writer": lambda ix: ix.writer(),
    "optimize": lambda ix: ix.optimize(),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_call_on_a_closed_index_says_it_was_closed(ix, name):
    ix.close()
    with pytest.raises(IndexClosedError, match="closed") as caught:
        CALLS[name](ix)
    assert isinstance(caught.value, NewsIndexError) and isinstance(caught.value, ValueError)
    assert "Index.open" in str(caught.value)


def test_hits_not_loaded_before_close_raise_index_closed(ix, tmp_path):
    old = ix.search("oil", limit=20)
    early = ix.search("the OR oil", limit=30)
    kept = [(h.id, h.article) for h in early.hits[:5]]  # loaded before the close
    # Results of an older snapshot too: commit, so the Index moves on.
    with ix.writer() as w:
        w.add({"id": "new", "title": "Oil news", "body": "oil oil"})
    newer = ix.search("oil", limit=20)
    ix.close()
    ix.close()  # closing twice is harmless
    assert "closed" in repr(ix)
    for h_id, article in kept:
        assert article.id == h_id  # loaded articles stay usable
    for res in (old, early, newer):
        for hit in res.hits[5:]:
            assert hit.id  # ids, scores and ranks stay
            with pytest.raises(IndexClosedError, match=r"read hit\.article .* before Index\.close"):
                _ = hit.article
            with pytest.raises(IndexClosedError):
                hit.snippet()
    # The folder is untouched: a new Index reads everything.
    again = newsindex.Index.open(tmp_path / "idx")
    assert again.get("new").title == "Oil news"
    assert [h.article.id for h in again.search("oil", limit=20).hits] == [h.id for h in newer.hits]


def test_a_writer_opened_before_close_still_commits(ix, tmp_path):
    w = ix.writer()
    w.add({"id": "late", "title": "Late", "body": "committed after the close"})
    ix.close()
    w.commit()  # the closed Index is not refreshed; the commit is still made
    assert newsindex.Index.open(tmp_path / "idx").get("late").body == "committed after the close"
