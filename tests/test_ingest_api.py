"""The public API: walking folders, the on_error policy, errors, count_hint, idempotence, real data."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex.ingest.decode as decode_module
from newsindex.errors import NewsIndexError
from newsindex.ingest import (
    FORMATS,
    IngestError,
    Problem,
    Record,
    count_hint,
    format_for_path,
    iter_records,
)

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "ingest" / "corpus"
SEED = HERE.parent / "seeds" / "000_bd656d18b2dd3dcd.txt"
REUTERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"


def ids(items) -> list[str]:
    return [item.article.id for item in items if isinstance(item, Record)]


def problems(items) -> list[Problem]:
    return [item for item in items if isinstance(item, Problem)]


def make_pages(folder: Path, count: int) -> list[Path]:
    """Raw pages derived from the seed: distinct headlines and days."""
    seed = SEED.read_text(encoding="utf-8")
    title = "Battle for strategic district in Aleppo continues"
    paths = []
    for n in range(count):
        day = dt.date(2016, 11, 1) + dt.timedelta(days=n)
        text = seed.replace("2016-11-09", day.isoformat()).replace(title, f"{title} (part {n})")
        path = folder / f"page_{n:03d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


# --- Problem and IngestError ------------------------------------------------------------------


def test_problem_str_and_ingest_error():
    problem = Problem("feed.jsonl", 3, "date", "unrecognised date 'soon'")
    assert str(problem) == "feed.jsonl:3: date: unrecognised date 'soon'"
    assert str(Problem("feed.jsonl", 4, None, "invalid JSON")) == "feed.jsonl:4: invalid JSON"
    error = IngestError(problem)
    assert isinstance(error, NewsIndexError) and isinstance(error, ValueError)
    assert error.problem is problem and (error.path, error.line, error.field) == (
        "feed.jsonl",
        3,
        "date",
    )
    assert str(error) == str(problem)


def test_records_and_problems_are_frozen():
    problem = Problem("a", 1, None, "m")
    with pytest.raises(AttributeError):
        problem.line = 2  # type: ignore[misc]


# --- argument checks --------------------------------------------------------------------------


def test_unknown_format_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        iter_records(CORPUS, format="xml")
    assert "unknown format 'xml'" in str(info.value)
    for name in FORMATS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        count_hint(CORPUS, format="xml")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"on_error": "ignore"}, "on_error must be one of fail, skip, got 'ignore'"),
        ({"max_record_bytes": 0}, "max_record_bytes must be a positive integer, got 0"),
        ({"max_record_bytes": 1.5}, "max_record_bytes must be a positive integer"),
    ],
)
def test_bad_arguments_fail_at_call_time(kwargs, message):
    with pytest.raises(ValueError, match=message):
        iter_records(CORPUS, **kwargs)  # no iteration needed


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.jsonl", "jsonl"),
        ("a.JSONL.GZ", "jsonl"),
        ("a.json.gz", "jsonl"),
        ("a.csv", "csv"),
        ("a.tsv", "tsv"),
        ("a.yml", "yaml"),
        ("a.yaml", "yaml"),
        ("a.md", "frontmatter"),
        ("a.txt", "txt"),
        ("a.json", "json"),
        ("a.html", "html"),
        ("a.HTM", "html"),
        ("crawl.warc.gz", "warc"),
        ("crawl.warc", "warc"),
        ("a.rss", "feed"),
        ("a.atom", "feed"),
        ("a.xml", "feed"),
        ("notes.docx", None),
        ("a.gz", None),
        ("README", None),
    ],
)
def test_format_for_path(name, expected):
    assert format_for_path(name) == expected


# --- walking ----------------------------------------------------------------------------------


def test_folder_walk_is_recursive_sorted_and_skips_hidden(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "b_sub")
    (tmp_path / "a.jsonl").write_text('{"id": "top"}\n', encoding="utf-8")
    (tmp_path / ".hidden.jsonl").write_text('{"id": "hidden"}\n', encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.jsonl").write_text('{"id": "in-git"}\n', encoding="utf-8")
    (tmp_path / "c.png").write_bytes(b"\x89PNG\x00")  # unknown extension in a folder: ignored
    (tmp_path / "notes").write_text("no extension", encoding="utf-8")
    items = list(iter_records(tmp_path))
    assert ids(items) == ["top", "c1", "c2", "j1", "2", "j3", "y1", "y2", "md-1"]
    assert [Path(r.path).name for r in items][:2] == ["a.jsonl", "articles.csv"]


def test_explicit_format_applies_to_every_file(tmp_path):
    (tmp_path / "feed.data").write_text('{"id": "d1", "title": "T"}\n', encoding="utf-8")
    assert ids(iter_records(tmp_path / "feed.data", format="jsonl")) == ["d1"]
    assert ids(iter_records(tmp_path, format="jsonl")) == ["d1"]
    problem = problems(iter_records(tmp_path / "feed.data", on_error="skip"))[0]
    assert problem.line == 0 and "cannot tell the format from the file name" in problem.message


def test_txt_is_front_matter_or_raw_page(tmp_path):
    shutil.copy(SEED, tmp_path / "page.txt")
    (tmp_path / "post.txt").write_text("---\nid: p1\n---\nBody.\n", encoding="utf-8")
    first, second = iter_records(tmp_path)
    assert first.article.source == "TRT World" and second.article.id == "p1"


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(IngestError) as info:
        list(iter_records([CORPUS / "post.md", missing]))
    assert info.value.path == str(missing) and info.value.line == 0
    assert "No such file or directory" in str(info.value)


def test_empty_folder_and_folder_of_nothing_useful(tmp_path):
    with pytest.raises(IngestError, match="no files to ingest in this folder"):
        list(iter_records(tmp_path))
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / ".DS_Store").write_bytes(b"")
    skipped, problem = iter_records(tmp_path, on_error="skip")
    assert skipped.path == str(tmp_path / "photo.jpg")
    assert "cannot tell the format from the file name" in skipped.message
    assert problem.path == str(tmp_path)
    assert "skipped 1 file(s) with other extensions" in problem.message


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    """Root can read anything, so the permission error is injected where files are opened."""
    page = tmp_path / "page.txt"
    shutil.copy(SEED, page)
    real = Path.read_bytes

    def denied(self):
        if self == page:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(decode_module.Path, "read_bytes", denied)
    (problem,) = iter_records(page, on_error="skip")
    assert (problem.path, problem.line) == (str(page), 0)
    assert problem.message == "cannot read the file: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path):
    path = tmp_path / "locked.jsonl"
    path.write_text('{"id": "x"}\n', encoding="utf-8")
    path.chmod(0)
    (problem,) = iter_records(path, on_error="skip")
    assert "Permission denied" in problem.message


def test_dangling_symlink_and_fifo(tmp_path):
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "never-existed.jsonl")
    os.mkfifo(tmp_path / "pipe.csv")
    found = problems(iter_records(tmp_path, on_error="skip"))
    messages = {Path(p.path).name: p.message for p in found}
    assert "which does not exist), not followed" in messages["gone.jsonl"]
    assert messages["pipe.csv"] == "not a regular file or folder"
    found = problems(iter_records(tmp_path, on_error="skip", follow_symlinks=True))
    messages = {Path(p.path).name: p.message for p in found}
    assert "No such file or directory" in messages["gone.jsonl"]


# --- symbolic links ---------------------------------------------------------------------------


def test_a_link_out_of_the_folder_is_reported_not_read(tmp_path):
    secret = tmp_path / "passwd.jsonl"  # stands in for /etc/passwd
    secret.write_text('{"id": "root", "title": "root:x:0:0:root:/root:/bin/bash"}\n')
    tree = tmp_path / "feeds"
    tree.mkdir()
    (tree / "news.jsonl").write_text('{"id": "n1", "title": "Oil"}\n')
    (tree / "passwd.jsonl").symlink_to(secret)
    items = list(iter_records(tree, on_error="skip"))
    assert ids(items) == ["n1"]
    (problem,) = problems(items)
    assert problem.path == str(tree / "passwd.jsonl") and str(secret) in problem.message
    assert "not followed" in problem.message and "follow_symlinks=True" in problem.message
    assert count_hint(tree) == 1
    with pytest.raises(IngestError, match="symbolic link"):
        list(iter_records(tree))
    assert ids(iter_records(tree, follow_symlinks=True)) == ["n1", "root"]
    assert ids(iter_records(tree / "passwd.jsonl")) == ["root"]  # named: read


_LINKS = ("outside file", "outside folder", "inside file", "inside folder", "root", "dangling")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.lists(st.sampled_from(["", "a", "a/b", "c"]), min_size=1, max_size=6),
    links=st.lists(
        st.tuples(st.sampled_from(["", "a", "a/b", "c"]), st.sampled_from(_LINKS)), max_size=6
    ),
)
def test_no_walk_reads_past_a_link_unless_asked(tmp_path_factory, files, links):
    """Whatever links a tree holds: without follow_symlinks exactly its own files are read and
    every link is reported; with it, the walk ends (cycles) and reads what links point to."""
    base = tmp_path_factory.mktemp("links")
    outside = base / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.jsonl").write_text('{"id": "secret-file", "title": "s"}\n')
    (outside / "deep" / "more.jsonl").write_text('{"id": "secret-dir", "title": "s"}\n')
    tree = base / "tree"
    for sub in ("a/b", "c"):
        (tree / sub).mkdir(parents=True)
    own = []
    for n, sub in enumerate(files):
        (tree / sub / f"f{n}.jsonl").write_text(json.dumps({"id": f"own-{n}", "title": "t"}) + "\n")
        own.append(f"own-{n}")
    targets = {
        "outside file": outside / "secret.jsonl",
        "outside folder": outside / "deep",
        "inside file": tree / files[0] / "f0.jsonl",
        "inside folder": tree / "a",
        "root": tree,
        "dangling": base / "nothing-here.jsonl",
    }
    made = []
    for n, (sub, kind) in enumerate(links):
        link = tree / sub / f"link{n}.jsonl"
        link.symlink_to(targets[kind])
        made.append(str(link))
    items = list(iter_records(tree, on_error="skip"))
    assert sorted(ids(items)) == sorted(own)
    assert sorted(p.path for p in problems(items)) == sorted(made)
    assert all("not followed" in p.message for p in problems(items))

    followed = ids(iter_records(tree, on_error="skip", follow_symlinks=True))
    kinds = {kind for _, kind in links}
    assert set(followed) == set(own) | {
        name
        for kind, name in (("outside file", "secret-file"), ("outside folder", "secret-dir"))
        if kind in kinds
    }


def test_binary_files_under_every_reader(tmp_path):
    blob = bytes(range(256)) * 4
    for name in ("a.jsonl", "b.csv", "c.yaml", "d.md", "e.txt", "f.jsonl.gz"):
        (tmp_path / name).write_bytes(gzip.compress(blob) if name.endswith(".gz") else blob)
    found = problems(iter_records(tmp_path, on_error="skip"))
    assert len(found) == 6
    assert all(p.line == 0 and "binary file" in p.message for p in found), found


def test_utf16_file(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("id,title\nu1,T\n", encoding="utf-16")
    (problem,) = iter_records(path, on_error="skip")
    assert "UTF-16" in problem.message


def test_skip_mode_collects_every_problem_and_every_good_record(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "a1"}\nnot json\n{"id": "a2"}\n', encoding="utf-8")
    (tmp_path / "b.csv").write_text("id,date\nb1,yesterday\nb2,2016-11-09\n", encoding="utf-8")
    items = list(iter_records(tmp_path, on_error="skip"))
    assert ids(items) == ["a1", "a2", "b2"]
    assert [(Path(p.path).name, p.line, p.field) for p in problems(items)] == [
        ("a.jsonl", 2, None),
        ("b.csv", 2, "date"),
    ]


# --- idempotence ------------------------------------------------------------------------------


def test_reingesting_a_folder_gives_the_same_ids(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    make_pages(pages, 5)
    shutil.copytree(CORPUS, tmp_path / "structured")
    first = [(r.article.id, r.article) for r in iter_records(tmp_path)]
    second = [(r.article.id, r.article) for r in iter_records(tmp_path)]
    assert first == second and len(first) == 13
    assert len({i for i, _ in first}) == 13  # no two records share an id
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    shutil.copytree(pages, moved)
    assert ids(iter_records(moved)) == ids(iter_records(pages))  # ids do not depend on paths


# --- count_hint -------------------------------------------------------------------------------


def test_count_hint_on_small_inputs(tmp_path):
    make_pages(tmp_path, 3)
    assert count_hint(tmp_path) == 3
    (tmp_path / "x.jsonl").write_text('{"id": "1"}\n{"id": "2"}\n{"id": "3"}', encoding="utf-8")
    assert count_hint(tmp_path / "x.jsonl") == 3  # no final newline still counts the last line
    assert count_hint([tmp_path, tmp_path / "missing.jsonl"]) == 3 + 3  # missing: no records
    assert count_hint(CORPUS / "articles.yaml") == 2
    flow = tmp_path / "flow.yaml"
    flow.write_text("[{id: a}, {id: b}]\n", encoding="utf-8")
    assert count_hint(flow) is None  # cannot tell cheaply


def test_count_hint_estimates_big_gzip_files(tmp_path, monkeypatch):
    from newsindex.ingest import walk

    monkeypatch.setattr(walk, "_SAMPLE", 4096)  # force the sampling path on a small file
    lines = [json.dumps({"id": str(n), "body": "word " * (n % 40)}) for n in range(5000)]
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode() + b"\n"))
    estimate = count_hint(path)
    assert estimate is not None and abs(estimate - 5000) < 500


# --- real data --------------------------------------------------------------------------------


def test_first_200_reuters_records():
    if not REUTERS.exists():
        pytest.skip("../shared/data/reuters21578 not present")
    records = list(itertools.islice(iter_records(REUTERS), 200))
    with gzip.open(REUTERS, "rt", encoding="utf-8") as f:
        raw = [json.loads(line) for line in itertools.islice(f, 200)]
    assert len(records) == 200
    assert [r.line for r in records] == list(range(1, 201))
    for record, doc in zip(records, raw):
        article = record.article
        assert article.id == doc["id"] and article.title == doc["title"].strip()
        assert article.body == doc["body"] and article.source == "Reuters"
        assert article.section == doc["section"] and article.author == doc["author"]
        assert article.date == dt.datetime.fromisoformat(doc["date"])
        assert dict(article.extra) == doc["extra"]
    first = records[0].article
    assert (first.id, first.title, first.section) == ("1", "BAHIA COCOA REVIEW", "cocoa")
    assert first.date == dt.datetime(1987, 2, 26, 15, 1, 1, 790000)
    assert count_hint(REUTERS) == pytest.approx(21_578, rel=0.05)


# --- never crash ------------------------------------------------------------------------------

LINES = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                " date 2016-11-09 WORLD",
                "4 MIN READ",
                "By Staff Reporter",
                "November 9, 2016",
                "SOURCE: Reuters",
                "Explore",
                "---",
                "",
                "- id: x",
                '{"id": "a"}',
                "id,title",
            ]
        ),
    ),
    max_size=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=LINES, junk=st.binary(max_size=30))
def test_any_input_gives_records_or_problems_never_a_crash(tmp_path, lines, junk):
    """Whatever the bytes, every reader yields Records and Problems; nothing else escapes."""
    data = "\n".join(lines).encode("utf-8") + junk
    for name in ("x.txt", "x.jsonl", "x.csv", "x.yaml", "x.md"):
        (tmp_path / name).write_bytes(data)
    for item in iter_records(tmp_path, on_error="skip"):
        assert isinstance(item, (Record, Problem))
        if isinstance(item, Problem):
            assert item.message and str(item).startswith(item.path)
