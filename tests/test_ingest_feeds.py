"""RSS 2.0 and Atom feeds: one article per entry, read back field by field from real stories."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from hypothesis import given
from hypothesis import strategies as st
from page_fixtures import SEED, atom_feed, reuters, rss_feed

from newsindex.ingest import IngestError, Problem, Record, iter_records
from newsindex.ingest.feeds import html_to_text

UTC = dt.timezone.utc


def records(path) -> list[Record]:
    return list(iter_records(path))  # on_error="fail": any problem raises


@pytest.mark.parametrize("name", ["commodities.rss", "commodities.xml"])
def test_rss_entries(tmp_path, name):
    docs = reuters(8)
    docs[0] = {**docs[0], "categories": ["Cocoa", "Commodities"]}
    docs[1] = {**docs[1], "categories": ["Banking"]}
    path = tmp_path / name
    path.write_text(rss_feed(docs), encoding="utf-8")
    found = records(path)
    assert len(found) == len(docs)
    for record, doc in zip(found, docs, strict=True):
        art = record.article
        assert art.id == f"reuters-{doc['id']}"
        assert art.title == " ".join(doc["title"].split())
        # Differential: the story's text, from the HTML of content:encoded, word for word.
        assert art.body.split() == doc["body"].split()
        assert "<p>" not in art.body
        assert art.date == dt.datetime.fromisoformat(doc["date"][:19]).replace(tzinfo=UTC)
        assert art.source == "Reuters: Commodities"
        assert art.url == f"https://www.reuters.com/article/{doc['id']}"
        assert art.author == "Reuters Staff"
    assert found[0].article.section == "Cocoa"
    assert found[0].article.extra["categories"] == ["Cocoa", "Commodities"]
    assert found[1].article.section == "Banking" and "categories" not in found[1].article.extra
    assert found[2].article.section is None
    text = path.read_text(encoding="utf-8").splitlines()
    for record in found:  # each record's line is where its <item> starts
        assert text[record.line - 1].strip() == "<item>"


def test_atom_entries_from_the_seed_article(tmp_path):
    doc = {
        "id": "aleppo-1070",
        "title": SEED.title,
        "body": SEED.body,
        "date": "2016-11-09T10:30:00+03:00",
        "author": SEED.author,
        "categories": ["World"],
    }
    path = tmp_path / "trt.atom"
    path.write_text(atom_feed([doc]), encoding="utf-8")
    (record,) = records(path)
    art = record.article
    assert art.id == "tag:trtworld.com,2016:aleppo-1070"
    assert (art.title, art.body) == (SEED.title, SEED.body)  # paragraphs kept apart
    assert art.date == dt.datetime(2016, 11, 9, 7, 30, tzinfo=UTC)
    assert (art.source, art.section, art.author) == ("TRT World", "World", "Staff Reporter")
    assert art.url == "https://www.trtworld.com/aleppo-1070"


def test_entry_without_id_or_link_gets_a_stable_id(tmp_path):
    feed = rss_feed(reuters(2)).replace("<guid", "<!--guid").replace("</guid>", "-->")
    feed = feed.replace("<link>https://www.reuters.com/article/", "<!--").replace(
        "</link>\n    <!--", "-->\n    <!--"
    )
    path = tmp_path / "noid.rss"
    path.write_text(feed, encoding="utf-8")
    first = [r.article.id for r in records(path)]
    assert all(i.startswith("page-") for i in first) and len(set(first)) == 2
    assert [r.article.id for r in records(path)] == first


def test_xml_that_is_not_a_feed_is_reported(tmp_path):
    path = tmp_path / "sitemap.xml"
    path.write_text('<?xml version="1.0"?><urlset><url><loc>https://x/</loc></url></urlset>')
    with pytest.raises(IngestError, match="not an RSS or Atom feed"):
        records(path)
    # Found in a folder, it is skipped as a file of unknown format is: reported, not fatal.
    (tmp_path / "feed.rss").write_text(rss_feed(reuters(1)), encoding="utf-8")
    skipped = []
    found = list(iter_records(tmp_path, on_skip=skipped.append))
    assert [r.article.id for r in found] == [f"reuters-{reuters(1)[0]['id']}"]
    assert [s.path for s in skipped] == [str(path)]
    assert "not an RSS or Atom feed" in skipped[0].message
    broken = tmp_path / "broken.rss"
    broken.write_text("<html><body>Service unavailable</body></html>")
    (problem,) = iter_records(broken, on_error="skip")
    assert isinstance(problem, Problem) and problem.path == str(broken)
    assert "not a readable RSS or Atom feed" in problem.message


paragraph = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda t: t.split())


@given(st.lists(paragraph, min_size=1, max_size=6), st.sampled_from(["p", "div", "li", "h2"]))
def test_html_to_text_gives_back_the_paragraphs(paragraphs, tag):
    """Any text, escaped into block elements, comes back as those paragraphs (spaces collapsed):
    entities decoded, markup dropped, nothing merged or lost."""
    markup = "".join(f"<{tag}>{html.escape(p)}</{tag}>" for p in paragraphs)
    expected = [" ".join(p.split()) for p in paragraphs]
    assert html_to_text(markup).split("\n\n") == expected


def test_html_to_text_drops_scripts_and_styles():
    markup = "<p>Oil <b>rose</b> &amp; fell.</p><script>var x = 1;</script><style>p{}</style>"
    assert html_to_text(markup) == "Oil rose & fell."
