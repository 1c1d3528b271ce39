"""Saved HTML pages and WARC crawls: built from real article text, read back field by field.

The differential tests compare what comes out of a page with the text that went into it: the
article's words must all come back, in order, and none of the boilerplate around them.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import subprocess
import sys
import tracemalloc

import pytest
from page_fixtures import (
    BOILERPLATE,
    SEED,
    article_page,
    reuters,
    reuters_page,
    seed_page,
    write_warc,
)

import newsindex
from newsindex.ingest import IngestError, Problem, Record, iter_records

CAPTURED = "2016-11-10T12:00:00Z"


def read(path, **kwargs) -> tuple[list[Record], list[Problem], list[Problem]]:
    """(records, problems, things skipped on purpose) of ``path``."""
    skipped: list[Problem] = []
    items = list(iter_records(path, on_error="skip", on_skip=skipped.append, **kwargs))
    records = [i for i in items if isinstance(i, Record)]
    return records, [i for i in items if isinstance(i, Problem)], skipped


def words(text: str) -> list[str]:
    return text.split()


# --- HTML pages -------------------------------------------------------------------------------
def test_seed_page_fields(tmp_path):
    path = tmp_path / "aleppo.html"
    path.write_text(seed_page(), encoding="utf-8")
    (record,) = iter_records(path)
    art = record.article
    assert art.title == SEED.title
    assert art.body == SEED.body  # every paragraph, in order, nothing else
    assert art.date == dt.date(2016, 11, 9)
    assert (art.source, art.section, art.author) == ("TRT World", "World", "Staff Reporter")
    assert art.url == "https://www.trtworld.com/mea/battle-for-aleppo-continues-222222"
    assert art.extra["language"] == "en"
    assert record.line == 1
    # The same page saved again (another file, other markup around it) is the same article.
    again = tmp_path / "copy.htm"
    again.write_text(seed_page().replace("<nav>", "<nav class='x'>"), encoding="utf-8")
    assert next(iter_records(again)).article.id == art.id


@pytest.mark.parametrize("doc", reuters(25), ids=lambda d: d["id"])
def test_pages_keep_the_story_and_drop_the_boilerplate(tmp_path, doc):
    """Differential: the article text that went into the page is what comes out, word for word,
    whatever the story; menus, cookie notices, related stories and footers never do."""
    path = tmp_path / "page.html"
    path.write_text(reuters_page(doc), encoding="utf-8")
    (record,) = iter_records(path)
    art = record.article
    assert words(art.title) == words(doc["title"])
    assert words(art.body) == words(doc["body"])
    assert art.day == dt.date.fromisoformat(doc["date"][:10])  # before 1995 too
    assert art.source == "Reuters" and art.url.endswith(f"/article/{doc['id']}")
    for text in [*BOILERPLATE, "Related stories", "Turkey hosts talks"]:
        assert text not in art.body and text not in art.title


def test_encoding_declared_by_the_page(tmp_path):
    paragraphs = ["Café owners in Zürich said “prices rose” — again.", *SEED.body.split("\n\n")[:2]]
    page = article_page("Prices rise in Zürich’s cafés", paragraphs, charset="windows-1252")
    path = tmp_path / "cp1252.html"
    path.write_bytes(page.encode("cp1252"))
    art = next(iter_records(path)).article
    assert art.title == "Prices rise in Zürich’s cafés"
    assert art.body.split("\n\n")[0] == paragraphs[0]


def test_page_without_metadata_gets_a_stable_id_and_no_invented_fields(tmp_path):
    page = article_page(
        SEED.title,
        SEED.body.split("\n\n"),
        date=None,
        author=None,
        site=None,
        section=None,
        url=None,
        lang=None,
    )
    path = tmp_path / "bare.html"
    path.write_text(page, encoding="utf-8")
    art = next(iter_records(path)).article
    assert art.title == SEED.title and art.body == SEED.body
    assert art.section is None and art.url is None and "language" not in art.extra
    assert art.id.startswith("page-")
    assert next(iter_records(path)).article.id == art.id


def test_page_with_no_article_is_a_problem(tmp_path):
    path = tmp_path / "empty.html"
    path.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>", encoding="utf-8")
    with pytest.raises(IngestError) as info:
        list(iter_records(path))
    assert info.value.path == str(path) and info.value.field == "body"
    assert "no article text" in str(info.value)


def test_folder_walk_reads_pages_and_reports_what_it_skips(tmp_path):
    (tmp_path / "2016").mkdir()
    (tmp_path / "2016" / "aleppo.html").write_text(seed_page(), encoding="utf-8")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not an article")
    (tmp_path / "feed.jsonl").write_text('{"id": "j1", "title": "T", "body": "B"}\n')
    records, problems, skipped = read(tmp_path)
    assert sorted(r.article.title for r in records) == sorted(["T", SEED.title])
    assert problems == []
    assert [s.path for s in skipped] == [str(tmp_path / "notes.docx")]
    assert "cannot tell the format from the file name" in skipped[0].message
    # Naming the file is an error with the same reason; walking past it is not.
    with pytest.raises(IngestError, match="cannot tell the format from the file name"):
        list(iter_records(tmp_path / "notes.docx"))
    assert len(list(iter_records(tmp_path))) == 2  # on_error="fail": not raised
    items = list(iter_records(tmp_path, on_error="skip"))  # no on_skip: handed over
    assert [i.path for i in items if isinstance(i, Problem)] == [str(tmp_path / "notes.docx")]


def test_reading_pages_loads_no_extractor_until_a_page_is_read(tmp_path):
    """``import newsindex``, indexing JSONL and searching load none of the page libraries."""
    code = (
        "import sys, newsindex\n"
        f"ix = newsindex.Index.create({str(tmp_path / 'idx')!r})\n"
        "with ix.writer() as w:\n"
        f"    for r in newsindex.iter_records({str(newsindex.__file__)!r}.replace("
        "'__init__.py', 'data/reuters-sample.jsonl.gz')): w.add(r.article)\n"
        "ix.search('oil')\n"
        "print(sorted(m for m in ('trafilatura', 'htmldate', 'warcio', 'feedparser', 'lxml') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- WARC -------------------------------------------------------------------------------------
def crawl(docs) -> list[tuple]:
    seed_url = "https://www.trtworld.com/mea/aleppo"
    undated = article_page(SEED.title, SEED.body.split("\n\n"), date=None, url=None)
    records = [
        ("warcinfo", "", b"software: test", "application/warc-fields", CAPTURED),
        ("request", seed_url, b"", "", CAPTURED),
        ("response", seed_url, undated.encode(), "text/html; charset=utf-8", CAPTURED),
        ("response", "https://www.trtworld.com/logo.png", b"\x89PNG\r\n", "image/png", CAPTURED),
        ("revisit", seed_url, b"", "text/html", "2016-11-12T08:00:00Z"),
        ("response", seed_url, undated.encode(), "text/html", "2016-11-12T08:00:00Z"),
        ("metadata", seed_url, b"outlink: https://x", "application/warc-fields", CAPTURED),
        (
            "response",
            "https://www.trtworld.com/",
            b"<html><body><nav>Home</nav></body></html>",
            "text/html",
            CAPTURED,
        ),
    ]
    for doc in docs:
        url = f"https://www.reuters.com/article/{doc['id']}"
        records.append(("response", url, reuters_page(doc).encode(), "text/html", CAPTURED))
    return records


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_reads_html_responses_and_counts_the_rest(tmp_path, name):
    docs = reuters(6)
    path = tmp_path / name
    write_warc(path, crawl(docs))
    records, problems, skipped = read(path)
    assert problems == []
    first, *others = records
    assert first.article.url == "https://www.trtworld.com/mea/aleppo"  # the target URI
    assert first.article.date == dt.datetime(2016, 11, 10, 12, tzinfo=dt.timezone.utc)
    assert first.article.body == SEED.body and first.article.extra["warc_date"] == CAPTURED
    assert first.line == 3  # its ordinal among the file's WARC records
    for record, doc in zip(others, docs, strict=True):
        assert words(record.article.body) == words(doc["body"])
        assert record.article.day == dt.date.fromisoformat(doc["date"][:10])  # the page's own
    (summary,) = skipped
    assert summary.path == str(path) and summary.line == 0
    assert summary.message == (
        "skipped 7 of 14 WARC records on purpose: 1 metadata records; 1 pages without article "
        "text; 1 repeated URLs; 1 request records; 1 responses that are not HTML (image/png); "
        "1 revisits; 1 warcinfo records"
    )
    # Skipping on purpose is not an error: the default on_error="fail" reads the same records.
    assert [r.article.id for r in iter_records(path)] == [r.article.id for r in records]


def test_warc_skips_huge_payloads_without_holding_them(tmp_path):
    """A 24 MB image and an HTML page over max_record_bytes cost neither their size in memory
    nor the records after them. (Random bytes: real images do not compress, and a payload that
    compresses a thousandfold would be inflated a whole gzip block at a time.)"""
    rng = random.Random(19)
    big = rng.randbytes(24 << 20)
    huge = b"<html><body><p>" + rng.randbytes(3 << 20).hex().encode() + b"</p></body></html>"
    doc = reuters(1)[0]
    records = [
        ("response", "https://x/big.jpg", big, "image/jpeg", CAPTURED),
        ("response", "https://x/huge.html", huge, "text/html", CAPTURED),
        ("response", "https://x/story", reuters_page(doc).encode(), "text/html", CAPTURED),
    ]
    path = tmp_path / "big.warc.gz"
    write_warc(path, records)
    del big, huge
    tracemalloc.start()
    try:
        found, problems, skipped = read(path, max_record_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [words(r.article.body) for r in found] == [words(doc["body"])]
    assert "1 pages over max_record_bytes (1,048,576)" in skipped[0].message
    assert peak < 8 << 20


def test_truncated_and_foreign_files(tmp_path):
    docs = reuters(4)
    path = tmp_path / "cut.warc.gz"
    write_warc(path, crawl(docs))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 2000])
    records, problems, _ = read(path)
    assert 1 <= len(records) < 5
    (problem,) = problems
    assert problem.line > records[-1].line and "stopped reading" in problem.message
    other = tmp_path / "notes.warc"
    other.write_text("this is not a crawl\n" * 20)
    (problem,) = read(other)[1]
    assert problem.path == str(other) and "not a WARC file" in problem.message


def test_warc_from_stdin_on_the_command_line(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, crawl(reuters(3)))
    idx = tmp_path / "idx"
    with open(path, "rb") as stdin:
        proc = subprocess.run(
            [sys.executable, "-m", "newsindex", "index", str(idx), "-", "--format", "warc"],
            stdin=stdin,
            capture_output=True,
            text=True,
        )
    assert proc.returncode == 0, proc.stderr
    assert "indexed 4 articles" in proc.stdout
    assert "skipped: <stdin>: skipped 7 of 11 WARC records on purpose" in proc.stderr.replace(
        ":0:", ":"
    )
    ix = newsindex.Index.open(idx)
    assert ix.search('"strategic district" aleppo').total == 1


def test_gzip_warc_members_are_streamed(tmp_path):
    """Each record of a .warc.gz is its own gzip member, as crawlers write them."""
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, crawl(reuters(2)))
    with gzip.open(path, "rb") as f:
        assert f.read().count(b"WARC/1.") == 10


def test_stray_bytes_between_records_are_reported_once_not_printed(tmp_path, capfd):
    """warcio prints a warning of its own for them; newsindex reports them with the file."""
    docs = reuters(2)
    one, two = tmp_path / "1.warc", tmp_path / "2.warc"
    for path, doc in ((one, docs[0]), (two, docs[1])):
        url = f"https://www.reuters.com/article/{doc['id']}"
        write_warc(path, [("response", url, reuters_page(doc).encode(), "text/html", CAPTURED)])
    first = one.read_bytes()
    assert first.endswith(b"\r\n\r\n")
    joined = tmp_path / "joined.warc"
    joined.write_bytes(first[:-4] + b"\x1b[31m junk\r\n\r\n\r\n" + two.read_bytes())
    capfd.readouterr()
    records, problems, skipped = read(joined)
    assert [words(r.article.body) for r in records] == [words(d["body"]) for d in docs]
    assert problems == []
    assert [s.message.split(" WARC record(s)")[0] for s in skipped] == ["1"]
    assert capfd.readouterr().err == ""
