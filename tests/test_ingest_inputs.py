"""stdin, .json files, multi-document YAML and the CSV delimiter: each against a reference
reading of the same articles (JSON Lines, a single YAML list, a comma-separated file)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys

import pytest
import yaml
from conftest import load_sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
import newsindex.ingest
from newsindex.errors import ConfigError
from newsindex.ingest import IngestError, Problem, Record, iter_records

DOCS = [
    {k: d[k] for k in ("id", "title", "body", "date", "source") if d.get(k)}
    for d in load_sample(40)
]


def articles(path, **kwargs) -> list:
    return [r.article for r in iter_records(path, **kwargs)]


def write_jsonl(path, docs) -> None:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")


# --- .json ------------------------------------------------------------------------------------
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(DOCS), min_size=0, max_size=6, unique_by=lambda d: d["id"]),
    st.sampled_from([None, 0, 2, "\t"]),
)
def test_json_array_reads_as_the_same_articles_as_jsonl(tmp_path, docs, indent):
    """Differential: a .json array of articles gives what the same objects as JSONL give, and
    every record's line is the line its object starts on."""
    path = tmp_path / "a.json"
    text = json.dumps(docs, indent=indent)
    path.write_text(text, encoding="utf-8")
    ref = tmp_path / "a.jsonl"
    write_jsonl(ref, docs)
    found = list(iter_records(path))
    assert [r.article for r in found] == articles(ref)
    lines = text.split("\n")
    for record in found:
        assert lines[record.line - 1].lstrip(" \t[").startswith("{")


def test_json_single_object_and_jsonl_saved_as_json(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps(DOCS[0], indent=2), encoding="utf-8")
    (record,) = iter_records(one)
    assert record.article.id == DOCS[0]["id"] and record.line == 1
    lines = tmp_path / "lines.json"
    write_jsonl(lines, DOCS[:3])
    assert [a.id for a in articles(lines)] == [d["id"] for d in DOCS[:3]]


def test_json_bad_items_cost_only_themselves(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text(
        '[\n  {"id": "a", "title": "A"},\n  "oops",\n  {"title": "no id"},\n  {"id": "b"}\n]\n'
    )
    items = list(iter_records(path, on_error="skip"))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Record", 2),
        ("Problem", 3),
        ("Problem", 4),
        ("Record", 5),
    ]
    assert "array item 2 is a string" in items[1].message and items[2].field == "id"
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"id": "a"},\n  {"id": "b",,}\n]\n')
    items = list(iter_records(broken, on_error="skip"))
    assert isinstance(items[0], Record) and isinstance(items[1], Problem)
    assert items[1].line == 3 and "invalid JSON" in items[1].message


# --- multi-document YAML ----------------------------------------------------------------------
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(DOCS), max_size=3), min_size=1, max_size=4), st.data())
def test_multi_document_yaml_is_the_documents_concatenated(tmp_path, groups, data):
    """Differential: documents separated by ``---`` (each a list, or one article as a mapping)
    give the articles of one list holding them all, in order."""
    docs_text = []
    for group in groups:
        if len(group) == 1 and data.draw(st.booleans()):
            docs_text.append(yaml.safe_dump(group[0], sort_keys=False))
        else:
            docs_text.append(yaml.safe_dump(group, sort_keys=False))
    path = tmp_path / "multi.yaml"
    path.write_text("---\n".join(docs_text), encoding="utf-8")
    ref = tmp_path / "one.yaml"
    ref.write_text(yaml.safe_dump([d for g in groups for d in g]), encoding="utf-8")
    assert articles(path) == articles(ref)


def test_multi_document_yaml_lines_and_bad_documents(tmp_path):
    path = tmp_path / "multi.yml"
    path.write_text("id: a\ntitle: A\n---\n- id: b\n- id: c\n---\n42\n---\n")
    items = list(iter_records(path, on_error="skip"))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Record", 1),
        ("Record", 4),
        ("Record", 5),
        ("Problem", 7),
    ]
    assert items[3].message.startswith("document 3: expected a list of articles")


# --- CSV delimiter ----------------------------------------------------------------------------
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([";", "|", "\t", ":", "#"]), st.lists(st.sampled_from(DOCS), max_size=5))
def test_csv_delimiter_reads_what_the_comma_file_holds(tmp_path, delimiter, docs):
    """Differential: the same rows written with another delimiter read back as the comma file."""
    fields = ["id", "title", "body", "date", "source"]

    def write(path, sep):
        with open(path, "w", newline="", encoding="utf-8") as f:
            out = csv.DictWriter(f, fields, delimiter=sep)
            out.writeheader()
            out.writerows(docs)

    write(tmp_path / "comma.csv", ",")
    write(tmp_path / "other.csv", delimiter)
    assert articles(tmp_path / "other.csv", delimiter=delimiter) == articles(tmp_path / "comma.csv")


@pytest.mark.parametrize("bad", ["", ";;", '"', "\n"])
def test_bad_delimiter_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="delimiter"):
        iter_records("x.csv", delimiter=bad)


# --- stdin ------------------------------------------------------------------------------------
def pipe(args, data: bytes, **kwargs):
    return subprocess.run(
        [sys.executable, *args], input=data, capture_output=True, check=False, **kwargs
    )


def api_from_stdin(data: bytes, **kwargs) -> list[tuple]:
    code = (
        "import json, sys, newsindex\n"
        f"kw = json.loads({json.dumps(json.dumps(kwargs))})\n"
        "for r in newsindex.iter_records('-', on_error='skip', **kw):\n"
        "    a = getattr(r, 'article', None)\n"
        "    print(json.dumps([r.path, r.line, a.id if a else r.message]))\n"
    )
    proc = pipe(["-c", code], data)
    assert proc.returncode == 0, proc.stderr.decode()
    return [tuple(json.loads(line)) for line in proc.stdout.decode().splitlines()]


@pytest.mark.parametrize("compress", [False, True])
def test_stdin_is_jsonl_by_default(tmp_path, compress):
    data = "".join(json.dumps(d) + "\n" for d in DOCS[:5]).encode()
    data += b"not json\n"
    got = api_from_stdin(gzip.compress(data) if compress else data)
    assert got[:5] == [("<stdin>", n, d["id"]) for n, d in enumerate(DOCS[:5], start=1)]
    assert got[5][:2] == ("<stdin>", 6) and "invalid JSON" in got[5][2]


@pytest.mark.parametrize("fmt", ["csv", "yaml", "json"])
def test_stdin_with_a_format(fmt):
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, ["id", "title", "body"], delimiter=";")
        writer.writeheader()
        writer.writerows({k: d[k] for k in ("id", "title", "body")} for d in DOCS[:3])
        data, kwargs = out.getvalue().encode(), {"delimiter": ";"}
    elif fmt == "yaml":
        data = "---\n".join(yaml.safe_dump(d) for d in DOCS[:3]).encode()
        kwargs = {}
    else:
        data, kwargs = json.dumps(DOCS[:3]).encode(), {}
    got = api_from_stdin(data, format=fmt, **kwargs)
    assert [(p, i) for p, _, i in got] == [("<stdin>", d["id"]) for d in DOCS[:3]]


def test_stdin_on_the_command_line(tmp_path):
    idx = tmp_path / "idx"
    data = "".join(json.dumps(d) + "\n" for d in DOCS).encode()
    proc = pipe(["-m", "newsindex", "index", str(idx), "-"], data)
    assert proc.returncode == 0, proc.stderr
    assert f"indexed {len(DOCS)} articles" in proc.stdout.decode()
    assert newsindex.Index.open(idx).doc_count == len(DOCS)
    bad = pipe(["-m", "newsindex", "index", str(idx), "-"], b'{"title": "no id"}\n')
    assert bad.returncode == 1 and b"<stdin>:1: id: missing required field" in bad.stderr
    semi = b"id;title;body\nx1;Semicolons;Read with --delimiter\n"
    proc = pipe(
        ["-m", "newsindex", "index", str(idx), "-", "--format", "csv", "--delimiter", ";"], semi
    )
    assert proc.returncode == 0, proc.stderr
    assert newsindex.Index.open(idx).get("x1").title == "Semicolons"


def test_walk_reports_skipped_files_on_the_command_line(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", DOCS[:2])
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", "index", str(tmp_path / "idx"), str(folder)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "indexed 2 articles" in proc.stdout and "skipped 1" in proc.stdout
    assert f"skipped: {folder / 'notes.docx'}" in proc.stderr
    assert "cannot tell the format from the file name" in proc.stderr
    named = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsindex",
            "index",
            str(tmp_path / "idx"),
            str(folder / "notes.docx"),
        ],
        capture_output=True,
        text=True,
    )
    assert named.returncode == 1 and "cannot tell the format from the file name" in named.stderr


def test_stdin_whoosh_is_refused():
    got = api_from_stdin(b"", format="whoosh")
    assert got == [("<stdin>", 0, "a Whoosh index is a folder; it cannot be read from stdin")]
    with pytest.raises(IngestError):
        list(iter_records("-", format="whoosh"))


@given(st.text(max_size=12).filter(lambda s: s not in newsindex.ingest.FORMATS))
def test_any_unknown_format_is_a_config_error(name):
    """Every bad argument is a NewsIndexError (a ConfigError, also a ValueError), which the
    command line reports in one line, never as a traceback."""
    with pytest.raises(ConfigError, match="unknown format"):
        iter_records("x.jsonl", format=name)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "docx"], "unknown format 'docx'"),
        (["--delimiter", ";;"], "the CSV delimiter must be one character"),
        (["--on-error", "skip", "--format", "HTML"], "unknown format 'HTML'"),
    ],
)
def test_bad_ingest_options_on_the_command_line(tmp_path, args, message):
    path = tmp_path / "a.jsonl"
    write_jsonl(path, DOCS[:1])
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", "index", str(tmp_path / "idx"), str(path), *args],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("newsindex: error: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr
