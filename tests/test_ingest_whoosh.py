"""A Whoosh index folder as an ingest source: its stored documents become articles."""

import datetime as dt

import pytest
from whoosh import fields as wf
from whoosh import index as wi

import newsindex
from newsindex.cli import main
from newsindex.ingest import IngestError, iter_records
from newsindex.ingest.records import Problem

SCHEMA = wf.Schema(
    id=wf.ID(stored=True, unique=True),
    title=wf.TEXT(stored=True),
    content=wf.TEXT(stored=True),
    published=wf.DATETIME(stored=True),
    section=wf.KEYWORD(stored=True),
    wordcount=wf.NUMERIC(stored=True),
    notes=wf.TEXT(stored=False),
)


@pytest.fixture
def whoosh_dir(tmp_path, sample_docs):
    folder = tmp_path / "old-whoosh"
    folder.mkdir()
    ix = wi.create_in(str(folder), SCHEMA)
    w = ix.writer()
    for d in sample_docs[:40]:
        w.add_document(
            id=d["id"],
            title=d["title"],
            content=d["body"],
            notes="not stored",
            published=dt.datetime.fromisoformat(d["date"][:19]) if d.get("date") else None,
            section=d.get("section") or "",
            wordcount=len(d["body"].split()),
        )
    w.commit()
    w = ix.writer()
    w.delete_by_term("id", sample_docs[3]["id"])  # deleted documents are not imported
    w.commit()
    return folder


def test_a_whoosh_folder_becomes_an_index(tmp_path, whoosh_dir, sample_docs):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("content: body\npublished: date\n")
    assert main(["index", str(tmp_path / "idx"), str(whoosh_dir), "--map", str(mapping)]) == 0
    ix = newsindex.Index.open(tmp_path / "idx")
    assert len(ix) == 39 and sample_docs[3]["id"] not in ix
    for d in sample_docs[:40]:
        if d is sample_docs[3]:
            continue
        art = ix.get(d["id"])
        assert art.title == d["title"].strip() and art.body == d["body"]
        assert art.date == dt.datetime.fromisoformat(d["date"][:19])
        assert art.section == (d.get("section") or None)
        assert art.extra["wordcount"] == len(d["body"].split())
    word = sample_docs[0]["title"].split()[0]
    assert sample_docs[0]["id"] in {h.id for h in ix.search(word, limit=50).hits}


def test_a_whoosh_source_without_an_id_or_text_says_what_to_map(tmp_path, whoosh_dir):
    with pytest.raises(IngestError) as err:
        list(iter_records(whoosh_dir, mapping={"id": None}))
    assert "no stored field gives the article id" in str(err.value)
    assert "stored fields: content, id, published, section, title, wordcount" in str(err.value)
    problems = list(
        iter_records(whoosh_dir, mapping={"title": None, "content": None}, on_error="skip")
    )
    assert len(problems) == 1 and isinstance(problems[0], Problem)
    assert "not stored, so not importable: notes" in problems[0].message
