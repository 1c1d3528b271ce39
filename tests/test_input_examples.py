"""Every example input under examples/ is indexed as docs/input-formats.md says, field by field.

The examples are the documentation's evidence: each format's file is read into a fresh index
and its articles are checked against the stories they were made from (the seed article and
Reuters-21578 stories of the bundled sample).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

from conftest import load_sample
from page_fixtures import SEED

import newsindex
from newsindex.ingest import FORMATS, format_for_path

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "examples" / "inputs"
DOC = (ROOT / "docs" / "input-formats.md").read_text(encoding="utf-8")
REUTERS = {d["id"]: d for d in load_sample()}
UTC = dt.timezone.utc
SEED_URL = "https://www.trtworld.com/mea/battle-for-strategic-district-in-aleppo-continues-222222"


def indexed(tmp_path, *paths, **kwargs) -> newsindex.Index:
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for record in newsindex.iter_records([str(p) for p in paths], **kwargs):
            w.add(record.article)
    return ix


def same_words(a: str, b: str) -> bool:
    return a.split() == b.split()


def reuters_day(doc_id: str) -> dt.date:
    return dt.date.fromisoformat(REUTERS[doc_id]["date"][:10])


def check_reuters(art, doc_id, *, section=True):
    doc = REUTERS[doc_id]
    assert same_words(art.title, doc["title"])
    assert same_words(art.body, doc["body"])
    assert art.day == reuters_day(doc_id)
    if section:
        assert art.section == doc["section"]


def check_seed(art, *, date=dt.date(2016, 11, 9)):
    assert (art.title, art.body) == (SEED.title, SEED.body)
    assert (art.source, art.section, art.author) == ("TRT World", "World", "Staff Reporter")
    assert art.date == date


def test_jsonl(tmp_path):
    ix = indexed(tmp_path, INPUTS / "articles.jsonl")
    assert ix.doc_count == 2
    check_reuters(ix.get("127"), "127")
    check_reuters(ix.get("228"), "228")
    assert ix.get("228").extra == {"places": ["thailand"]}  # not an article field: kept
    assert ix.search("section:grain rice").hits[0].id == "228"


def test_json(tmp_path):
    ix = indexed(tmp_path, INPUTS / "articles.json")
    check_reuters(ix.get("307"), "307")
    check_seed(ix.get("trt-aleppo-1070"))
    assert ix.get("trt-aleppo-1070").url == SEED_URL
    lines = [r.line for r in newsindex.iter_records(INPUTS / "articles.json")]
    text = (INPUTS / "articles.json").read_text().splitlines()
    assert [text[n - 1].strip() for n in lines] == ["{", "{"]


def test_csv_and_tsv(tmp_path):
    ix = indexed(tmp_path, INPUTS / "articles.csv", INPUTS / "articles.tsv")
    for doc_id in ("127", "267", "228"):
        check_reuters(ix.get(doc_id), doc_id)
    assert ix.get("127").date == dt.datetime(1987, 2, 26, 17, 0, 56, 40000)


def test_yaml_documents(tmp_path):
    ix = indexed(tmp_path, INPUTS / "articles.yaml")
    assert ix.doc_count == 2
    check_reuters(ix.get("307"), "307")
    check_reuters(ix.get("267"), "267")


def test_front_matter_and_raw_page(tmp_path):
    ix = indexed(tmp_path, INPUTS / "aleppo.md", INPUTS / "aleppo-scraped.txt")
    check_seed(ix.get("trt-aleppo-1070"))
    (raw,) = [
        h.article
        for h in ix.search('aleppo source:"trt world"', limit=5).hits
        if h.id.startswith("raw-")
    ]
    check_seed(raw)
    assert raw.extra["source_raw"] == "TRTWorld and agencies"


def test_html_page(tmp_path):
    ix = indexed(tmp_path, INPUTS / "aleppo.html")
    (hit,) = ix.search('"1070 apartments"').hits
    art = hit.article
    check_seed(art)
    assert art.url == SEED_URL and art.extra == {"language": "en"}
    assert art.id.startswith("page-")
    assert "cookies" not in art.body and "Related stories" not in art.body


def test_warc_crawl(tmp_path):
    skipped = []
    ix = indexed(tmp_path, INPUTS / "crawl.warc.gz", on_skip=skipped.append)
    assert ix.doc_count == 2
    seed = next(h.article for h in ix.search("aleppo").hits)
    # The page states no date: the capture date stands in; the target URI is its url.
    check_seed(seed, date=dt.datetime(2016, 11, 10, 6, 12, 44, tzinfo=UTC))
    assert seed.url == SEED_URL and seed.extra["warc_date"] == "2016-11-10T06:12:44Z"
    crude = next(h.article for h in ix.search("diamond shamrock").hits)
    check_reuters(crude, "127", section=False)
    assert crude.url == "https://www.reuters.com/article/127"
    (summary,) = skipped
    assert "skipped 5 of 7 WARC records on purpose" in summary.message
    # The summary the documentation shows is the real one.
    assert " ".join(summary.message.split()) in " ".join(DOC.split())
    # The same page saved as .html and crawled into the WARC is one article (same url).
    page = next(newsindex.iter_records(INPUTS / "aleppo.html")).article
    assert page.id == seed.id


def test_feeds(tmp_path):
    ix = indexed(tmp_path, INPUTS / "commodities.rss", INPUTS / "trtworld.atom")
    crude, rice = ix.get("reuters-127"), ix.get("reuters-228")
    check_reuters(crude, "127", section=False)
    check_reuters(rice, "228", section=False)
    assert crude.source == "Reuters: Commodities" and crude.section == "Crude"
    assert crude.extra["categories"] == ["Crude", "Commodities"] and rice.section == "Grain"
    assert crude.url == "https://www.reuters.com/article/127"
    assert crude.date == dt.datetime(1987, 2, 26, 17, 0, 56, tzinfo=UTC)
    atom = ix.get("tag:trtworld.com,2016:aleppo-1070")
    check_seed(atom, date=dt.datetime(2016, 11, 9, 7, 30, tzinfo=UTC))


def test_mapping_example_on_the_command_line(tmp_path):
    mapping = ROOT / "examples" / "mapping"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsindex",
            "index",
            str(tmp_path / "idx"),
            str(mapping / "other-names.jsonl"),
            "--map",
            str(mapping / "map.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    art = newsindex.Index.open(tmp_path / "idx").get("copra-1")
    check_reuters(art, "267")
    assert art.source == "Reuters" and art.extra == {}  # html: null dropped it
    # The documentation shows the example mapping as it is.
    assert (mapping / "map.yaml").read_text().split("\n", 1)[1] in DOC


def test_the_whole_folder_indexes_cleanly(tmp_path):
    """Walking examples/inputs/ reads what naming each file reads: nothing fails, nothing but
    the WARC's non-article records is skipped; stories in several files are one article."""
    skipped = []
    ix = indexed(tmp_path, INPUTS, on_skip=skipped.append)
    assert [Path(s.path).name for s in skipped] == ["crawl.warc.gz"]
    one_by_one = [r.article.id for p in sorted(INPUTS.iterdir()) for r in newsindex.iter_records(p)]
    assert (
        len(one_by_one) == 17
    )  # 2+2+2+1+2 (jsonl json csv tsv yaml), 4 pages, 2+2+1 (warc rss atom)
    assert ix.doc_count == len(set(one_by_one))


def test_docs_cover_every_format_and_example():
    for fmt in FORMATS:
        if fmt not in ("auto", "txt"):
            assert f"| `{fmt}` |" in DOC, fmt
    for path in INPUTS.iterdir():
        assert f"`{path.name}`" in DOC, path.name
        assert format_for_path(path) is not None
    named = set(
        re.findall(r"`([\w.-]+\.(?:jsonl|json|csv|tsv|yaml|md|txt|html|warc\.gz|rss|atom))`", DOC)
    )
    assert named <= {p.name for p in INPUTS.iterdir()}
