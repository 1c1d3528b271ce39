"""A Whoosh index folder as an ingest source: its stored documents become articles."""

import datetime as dt
import json
import pickle

import pytest
import whoosh
from whoosh import fields as wf
from whoosh import index as wi

import newsindex
from newsindex.cli import main
from newsindex.ingest import IngestError, Record, count_hint, iter_records
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
    args = ["index", str(tmp_path / "idx"), "--from-whoosh", str(whoosh_dir), "--map", str(mapping)]
    assert main(args) == 0
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
        list(iter_records(whoosh_dir, format="whoosh", mapping={"id": None}))
    assert "no stored field gives the article id" in str(err.value)
    assert "stored fields: content, id, published, section, title, wordcount" in str(err.value)
    problems = list(
        iter_records(
            whoosh_dir, format="whoosh", mapping={"title": None, "content": None}, on_error="skip"
        )
    )
    assert len(problems) == 1 and isinstance(problems[0], Problem)
    assert "not stored, so not importable: notes" in problems[0].message


# --- a Whoosh index is a pickle: never opened unless asked for ------------------------------


class _CreatesAFile:
    """Unpickling this creates ``path``: what a crafted Whoosh table of contents can do."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def crafted_whoosh_dir(folder, marker):
    """A folder whose ``_MAIN_1.toc`` is laid out as Whoosh writes one, with a hostile pickle
    where the schema goes (as ``whoosh.index.TOC.write`` lays it out)."""
    from whoosh.filedb.filestore import FileStorage

    folder.mkdir(parents=True)
    stream = FileStorage(str(folder)).create_file("_MAIN_1.toc")
    for size in (wi._INT_SIZE, wi._LONG_SIZE, wi._FLOAT_SIZE):
        stream.write_varint(size)
    stream.write_int(-12345)
    stream.write_int(wi._CURRENT_TOC_VERSION)
    for num in whoosh.__version__[:3]:
        stream.write_varint(num)
    stream.write_string(pickle.dumps(_CreatesAFile(marker), 2))
    stream.close()
    return folder


@pytest.mark.parametrize("where", ["root", "nested"])
def test_walking_a_folder_never_opens_a_whoosh_index(tmp_path, where):
    marker = tmp_path / "pwned"
    tree = tmp_path / "tree"
    crafted = crafted_whoosh_dir(tree if where == "root" else tree / "a" / "old", marker)
    (tree / "news.jsonl").write_text(json.dumps({"id": "n1", "title": "Oil"}) + "\n")

    items = list(iter_records(tree, on_error="skip"))
    count_hint(tree)
    assert not marker.exists()
    (problem,) = [i for i in items if isinstance(i, Problem)]
    assert problem.path == str(crafted) and "_MAIN_1.toc" in problem.message
    assert "pickles" in problem.message and "format='whoosh'" in problem.message
    assert [i.article.id for i in items if isinstance(i, Record)] == ["n1"]
    with pytest.raises(IngestError, match="Whoosh index"):
        list(iter_records(tree))  # on_error="fail": the skipped index is an error, said so

    out = tmp_path / "idx"
    assert main(["index", str(out), str(tree), "--on-error", "skip"]) == 0
    assert not marker.exists() and len(newsindex.Index.open(out)) == 1

    # The file is live: opening it as a Whoosh index, as asked, runs its code.
    list(iter_records(crafted, format="whoosh", on_error="skip"))
    assert marker.exists()


def test_walk_reports_whoosh_folder_in_cli_output(tmp_path, capsys):
    marker = tmp_path / "pwned"
    crafted_whoosh_dir(tmp_path / "tree" / "old", marker)
    (tmp_path / "tree" / "a.jsonl").write_text('{"id": "1", "title": "t"}\n')
    assert main(["index", str(tmp_path / "idx"), str(tmp_path / "tree"), "--on-error", "skip"]) == 0
    err = capsys.readouterr().err
    assert "skipped:" in err and "_MAIN_1.toc" in err and not marker.exists()
