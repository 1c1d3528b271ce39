"""JSONL, CSV/TSV, YAML lists and front matter: the fixtures field by field, and bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex.errors import ConfigError
from newsindex.ingest import IngestError, Problem, Record, iter_records, load_mapping

FIXTURES = Path(__file__).resolve().parent / "data" / "ingest"
CORPUS = FIXTURES / "corpus"
UTC = dt.timezone.utc


def skip_all(path, **kwargs) -> list[Record | Problem]:
    return list(iter_records(path, on_error="skip", **kwargs))


def only_problem(path, **kwargs) -> Problem:
    items = skip_all(path, **kwargs)
    problems = [item for item in items if isinstance(item, Problem)]
    assert len(problems) == 1, items
    return problems[0]


def jsonl(tmp_path: Path, *lines: str, name: str = "feed.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "ok", "title": "Fine", "body": "Fine body."})


# --- JSONL ------------------------------------------------------------------------------------


def test_jsonl_fixture():
    records = list(iter_records(CORPUS / "articles.jsonl"))
    assert [(r.article.id, r.line) for r in records] == [("j1", 1), ("2", 3), ("j3", 4)]
    first, second, third = (r.article for r in records)
    assert first.date == dt.datetime(1987, 2, 26, 15, 1, 1, 790000)
    assert (first.source, first.section, first.author, first.url) == (
        "Reuters",
        "cocoa",
        None,
        None,
    )
    assert dict(first.extra) == {"places": ["brazil"]}
    assert second.date == dt.datetime(1987, 2, 26, 15, 2, 20)  # Reuters format in a JSONL date
    assert dict(second.extra) == {"word_count": 9}  # unknown field kept in extra
    assert third.date == dt.date(2016, 11, 9) and third.url == "https://example.org/a"


def test_jsonl_gz_and_json_gz(tmp_path):
    lines = (CORPUS / "articles.jsonl").read_bytes()
    for name in ("feed.jsonl.gz", "feed.json.gz"):
        (tmp_path / name).write_bytes(gzip.compress(lines))
    plain = [r.article for r in iter_records(CORPUS / "articles.jsonl")]
    for name in ("feed.jsonl.gz", "feed.json.gz"):
        assert [r.article for r in iter_records(tmp_path / name)] == plain


def test_jsonl_bom_crlf_and_stray_cp1252(tmp_path):
    path = tmp_path / "win.jsonl"
    line = '{"id": "w1", "title": "Caf\u00e9 \x93news\x94", "body": "b"}'
    path.write_bytes(
        b"\xef\xbb\xbf"
        + line.replace("\x93", "{Q1}")
        .replace("\x94", "{Q2}")
        .encode("utf-8")
        .replace(b"{Q1}", b"\x93")
        .replace(b"{Q2}", b"\x94")
        + b"\r\n"
    )
    (record,) = iter_records(path)
    assert record.article.title == "Caf\u00e9 \u201cnews\u201d"


def test_malformed_json_line(tmp_path):
    path = jsonl(tmp_path, GOOD, '{"id": "x", "title": "broken",', GOOD.replace("ok", "ok2"))
    with pytest.raises(IngestError) as info:
        list(iter_records(path))
    assert (info.value.line, info.value.field) == (2, None)
    assert str(info.value).startswith(f"{path}:2: invalid JSON: ")
    items = skip_all(path)
    assert [type(i).__name__ for i in items] == ["Record", "Problem", "Record"]
    assert items[2].article.id == "ok2"  # reading went on after the bad line


def test_fail_mode_yields_the_records_before_the_problem(tmp_path):
    path = jsonl(tmp_path, GOOD, "[1, 2]")
    iterator = iter_records(path)
    assert next(iterator).article.id == "ok"
    with pytest.raises(
        IngestError, match=r":2: expected a JSON object \(one article\), got an array"
    ):
        next(iterator)


@pytest.mark.parametrize(
    "record, field, message",
    [
        ({"title": "no id"}, "id", "missing required field 'id'"),
        ({"id": None, "title": "null id"}, "id", "missing required field 'id'"),
        ({"id": "  ", "title": "blank id"}, "id", "missing required field 'id'"),
        ({"id": "a", "title": 2016}, "title", "field 'title' must be a string, got int"),
        ({"id": "a", "title": ["a", "list"]}, "title", "field 'title' must be a string, got list"),
        ({"id": "a", "body": {"html": "x"}}, "body", "field 'body' must be a string, got dict"),
        ({"id": True}, "id", "field 'id' must be a string, got bool"),
        ({"id": "a", "date": "sometime soon"}, "date", "unrecognised date 'sometime soon'"),
        ({"id": "a", "date": "2016-02-30"}, "date", "invalid date '2016-02-30'"),
        ({"id": "a", "date": 20161109}, "date", "must be a date string"),
        ({"id": "a", "extra": ["x"]}, "extra", "field 'extra' must be a mapping, got list"),
        ({"id": "a", "meta": {"x": 1}}, "extra.meta", "'meta' is a nested object"),
        ({"id": "a", "tags": ["x"], "extra": {"tags": "y"}}, "extra.tags", "both a field"),
    ],
)
def test_bad_jsonl_records_name_line_and_field(tmp_path, record, field, message):
    path = jsonl(tmp_path, GOOD, json.dumps(record))
    problem = only_problem(path)
    assert (problem.path, problem.line, problem.field) == (str(path), 2, field)
    assert message in problem.message
    assert str(problem) == f"{path}:2: {field}: {problem.message}"


def test_record_over_the_size_limit_is_skipped_and_reading_goes_on(tmp_path):
    big = json.dumps({"id": "big", "body": "x" * 500})
    path = jsonl(tmp_path, GOOD, big, GOOD.replace("ok", "after"))
    items = skip_all(path, max_record_bytes=200)
    assert isinstance(items[1], Problem) and items[1].line == 2
    assert "over the size limit of 200 bytes" in items[1].message
    assert [i.article.id for i in items if isinstance(i, Record)] == ["ok", "after"]
    assert all(isinstance(i, Record) for i in skip_all(path, max_record_bytes=len(big)))


def test_binary_file_with_a_jsonl_name(tmp_path):
    path = tmp_path / "image.jsonl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    problem = only_problem(path)
    assert problem.line == 0 and "binary file, not text" in problem.message
    assert str(problem) == f"{path}: {problem.message}"  # the whole file: no line 0 shown
    # A stray NUL is a bad record at its line; the records after it are read.
    late = jsonl(tmp_path, *[GOOD] * 200, "garbage\0\1\2", GOOD, name="late.jsonl")
    items = skip_all(late)
    assert all(isinstance(i, Record) for i in items[:200] + items[201:]) and len(items) == 202
    assert items[200].line == 201 and "NUL byte at column 8" in items[200].message
    # Binary data after text (a zero-filled tail, an appended blob) stops the file there.
    tail = tmp_path / "tail.jsonl"
    tail.write_bytes((GOOD + "\n").encode() * 200 + bytes(range(256)) * 40)
    items = skip_all(tail)
    assert [type(i) for i in items] == [Record] * 200 + [Problem]
    assert items[200].line == 201 and "binary data, not text; stopped" in items[200].message


_NUL_FORMATS = ("jsonl", "jsonl.gz", "csv", "tsv")


def _write_rows(path: Path, fmt: str, rows: list[tuple[str, str]], nul_at: dict[int, int]):
    """Rows of (id, title) in ``fmt``, a NUL byte put into row i at offset nul_at[i] of its
    text; returns each row's first line."""
    lines, starts = [], []
    sep = "\t" if fmt == "tsv" else ","
    if fmt in ("csv", "tsv"):
        lines.append(f"id{sep}title")
    for i, (aid, title) in enumerate(rows):
        starts.append(len(lines) + 1)
        if fmt.startswith("jsonl"):
            text = json.dumps({"id": aid, "title": title})
        else:
            text = f'{aid}{sep}"{title}"'
        if i in nul_at:
            at = nul_at[i] % (len(text) + 1)
            text = text[:at] + "\0" + text[at:]
        lines.extend(text.split("\n"))
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    return starts


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fmt=st.sampled_from(_NUL_FORMATS),
    titles=st.lists(
        st.text(
            st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters='"\\')
            | st.just("\n"),
            min_size=1,
            max_size=60,
        ).filter(str.strip),
        min_size=1,
        max_size=40,
    ),
    nul_at=st.dictionaries(st.integers(0, 39), st.integers(0, 200), max_size=4),
    pad=st.integers(0, 12000),
)
def test_a_stray_nul_costs_only_its_record(tmp_path_factory, fmt, titles, nul_at, pad):
    """Wherever stray NUL bytes fall (inside the first 8 KiB or later), every other record is
    read and each NUL record is reported at the line where it starts."""
    folder = tmp_path_factory.mktemp("nul")
    rows = [(f"r{i}", t) for i, t in enumerate(["x" * pad] + titles)]  # pad: NULs past 8 KiB
    nul_at = {i + 1: at for i, at in nul_at.items() if i < len(titles)}
    path = folder / f"feed.{fmt}"
    starts = _write_rows(path, fmt, rows, nul_at)
    items = skip_all(path)
    expected = [aid for i, (aid, _) in enumerate(rows) if i not in nul_at]
    assert [i.article.id for i in items if isinstance(i, Record)] == expected
    problems = [i for i in items if isinstance(i, Problem)]
    assert [p.line for p in problems] == [starts[i] for i in sorted(nul_at)]
    assert all("NUL byte" in p.message for p in problems)


def test_a_stray_nul_in_a_one_article_file_is_reported_at_its_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_bytes(b"---\nid: p1\ntitle: T\n---\nBody line one.\nBody \0 two.\n")
    problem = only_problem(page)
    assert problem.line == 6 and "NUL byte at column 6" in problem.message
    header = tmp_path / "head.csv"
    header.write_bytes(b"id,ti\0tle\n1,a\n")
    problem = only_problem(header)
    assert problem.line == 1 and "stopped reading this file" in problem.message


def test_truncated_gzip(tmp_path):
    data = gzip.compress((GOOD + "\n").encode() * 2000)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    items = skip_all(path)
    assert isinstance(items[-1], Problem) and "stopped reading this file" in items[-1].message
    assert items[-1].line == len(items)  # the line after the last one read
    assert all(isinstance(i, Record) for i in items[:-1]) and len(items) > 1


# --- CSV --------------------------------------------------------------------------------------


def test_csv_fixture():
    first, second = iter_records(CORPUS / "articles.csv")
    assert (first.line, second.line) == (2, 5)  # the first row spans three lines
    a, b = first.article, second.article
    assert a.id == "c1" and a.body == "The central bank cut rates.\n\nMarkets rose."
    assert (a.date, a.source, a.section, a.author) == (
        dt.date(2016, 11, 9),
        "Reuters",
        "business",
        None,
    )
    assert dict(a.extra) == {"tags": "economy"}
    assert b.title == 'Quotes, commas and "escapes"' and b.date == dt.date(2016, 11, 9)
    assert (b.section, b.author, dict(b.extra)) == (None, "Jane Doe", {})  # empty cells: no value


def test_csv_with_mapping_file():
    mapping = load_mapping(FIXTURES / "feed" / "feed_mapping.yaml")
    assert mapping["html"] is None and mapping["guid"] == "id"
    one, two = iter_records(FIXTURES / "feed" / "feed.csv", mapping=mapping)
    assert one.article.id == "f1" and one.article.title == "Feed headline one"
    assert one.article.date == dt.datetime(2016, 11, 9, 10, 30, tzinfo=UTC)
    assert one.article.section == "sport" and one.article.body == "First feed body."
    assert dict(one.article.extra) == {}  # html dropped by the mapping
    assert two.article.date == dt.date(2016, 11, 10)


def test_csv_without_mapping_reports_the_missing_id():
    problem = skip_all(FIXTURES / "feed" / "feed.csv", format="csv")[0]
    assert (problem.line, problem.field) == (2, "id")
    assert "mapping" in problem.message  # says how to fix it


@pytest.mark.parametrize(
    "text, line, field, message",
    [
        ("id,title\n,No id\n", 2, "id", "missing required field 'id'"),
        ("id,title\nx,t,extra cell\n", 2, None, "row has 3 values but the header has 2 columns"),
        ("id,date\nx,31/31/2016\n", 2, "date", "'31/31/2016'"),
        ("id,title,title\nx,a,b\n", 1, "title", "column 'title' appears twice"),
        ("id,,title\nx,a,b\n", 1, None, "header column 2 has no name"),
        ('id,extra\nx,"[1, 2]"\n', 2, "extra", "must be a JSON object, got list"),
        ('id,title\nx,"never closed\n', 2, None, "malformed CSV"),
    ],
)
def test_bad_csv(tmp_path, text, line, field, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    problem = only_problem(path)
    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message


def test_csv_oversized_row_stops_the_file(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("id,body\na,short\nb," + "x" * 300 + "\nc,never read\n", encoding="utf-8")
    items = skip_all(path, max_record_bytes=100)
    assert isinstance(items[0], Record) and items[0].article.id == "a"
    assert isinstance(items[1], Problem) and items[1].line == 3
    assert "over the size limit of 100 bytes" in items[1].message and len(items) == 2


def test_csv_fields_over_128_kib_are_read(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("id,body\nlong," + "word " * 60_000 + "\n", encoding="utf-8")
    (record,) = iter_records(path)
    assert record.article.body == "word " * 60_000  # over the csv module's default 128 KiB


def test_tsv_cp1252_and_json_extra(tmp_path):
    path = tmp_path / "export.tsv"
    text = 'id\ttitle\textra\r\nt1\tT\u00fcrkiye \u2013 update\t{"votes": 3, "tags": ["a"]}\r\n'
    path.write_bytes(text.encode("cp1252"))
    (record,) = iter_records(path)
    assert record.article.title == "T\u00fcrkiye \u2013 update"
    assert dict(record.article.extra) == {"votes": 3, "tags": ["a"]}


# --- YAML lists and front matter --------------------------------------------------------------


def test_yaml_fixture_with_line_numbers():
    first, second = iter_records(CORPUS / "articles.yaml")
    assert (first.line, second.line) == (2, 12)
    assert first.article.body == "Flash floods hit the north.\n\nRescue teams were sent.\n"
    assert first.article.date == dt.date(2016, 11, 9) and first.article.section == "World"
    assert dict(first.article.extra) == {"tags": ["floods", "climate"]}
    assert second.article.date == dt.date(2016, 11, 9)
    assert second.article.source == "Anadolu Agency"


def write_yaml(tmp_path: Path, text: str, name: str = "list.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, line, field, message",
    [
        (
            "- id: a\n- id: b\n  title: 2016\n",
            2,
            "title",
            "field 'title' must be a string, got int",
        ),
        ("- id: a\n- id: b\n  title: [x, y]\n", 2, "title", "must be a string, got list"),
        ("- id: a\n- title: no id\n", 2, "id", "missing required field 'id'"),
        ("- id: a\n- just text\n", 2, None, "list item 2 is a str"),
        ("- id: a\n- id: b\n  date: someday\n", 2, "date", "unrecognised date 'someday'"),
        ("- id: a\n- id: b\n  section: yes\n", 2, "section", "must be a string, got bool"),
        ("- id: a\n- id: b\n  title: [unclosed\n", 4, None, "invalid YAML"),
        ("42\n", 1, None, "expected a list of articles (or one article as a mapping), got int"),
        ("- !!python/object/apply:os.system [echo pwned]\n", 1, None, "invalid YAML"),
    ],
)
def test_bad_yaml(tmp_path, text, line, field, message):
    problem = only_problem(write_yaml(tmp_path, text))
    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message


def test_yaml_file_over_the_size_limit(tmp_path):
    path = write_yaml(tmp_path, "- id: a\n- id: b\n  body: " + "x" * 300 + "\n")
    problem = only_problem(path, max_record_bytes=200)  # a YAML file is parsed whole
    assert problem.line == 0 and "over the record size limit of 200 bytes" in problem.message
    assert len(skip_all(path, max_record_bytes=400)) == 2


def test_single_mapping_yaml_and_empty_yaml(tmp_path):
    (record,) = iter_records(write_yaml(tmp_path, "id: solo\ntitle: One\n", "one.yml"))
    assert record.article.id == "solo" and record.line == 1
    assert skip_all(write_yaml(tmp_path, "# nothing yet\n", "empty.yaml")) == []


def test_front_matter_fixture():
    (record,) = iter_records(CORPUS / "post.md")
    article = record.article
    assert (record.line, article.id, article.title) == (1, "md-1", "Markets rally on rate cut")
    assert article.date == dt.datetime(2016, 11, 9, 10, 30, tzinfo=UTC)
    assert article.body == "Stocks rose after the central bank cut rates.\n\nBond yields fell."
    assert (article.source, article.section) == ("Reuters", "Business")
    assert dict(article.extra) == {"tags": ["markets", "rates"]}


def test_front_matter_in_txt_with_mapping(tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes(b"\xef\xbb\xbf---\r\nslug: n1\r\nheadline: Hello\r\n---\r\nBody here.\r\n")
    (record,) = iter_records(path, mapping={"slug": "id", "headline": "title"})
    assert (record.article.id, record.article.title, record.article.body) == (
        "n1",
        "Hello",
        "Body here.",
    )


@pytest.mark.parametrize(
    "text, line, field, message",
    [
        ("---\nid: a\n", 1, None, "never closed"),
        ("---\nid: a\nbody: inline\n---\nand after\n", 1, "body", "both in the front matter"),
        ("---\n- a list\n---\nbody\n", 2, None, "front matter must be a mapping"),
        ("---\nid: a\ntitle: [oops\n---\nbody\n", 3, None, "invalid YAML front matter"),
        ("---\ntitle: no id\n---\nbody\n", 1, "id", "missing required field 'id'"),
        ("no fence\n", 1, None, "the first line must be '---'"),
    ],
)
def test_bad_front_matter(tmp_path, text, line, field, message):
    path = tmp_path / "post.md"
    path.write_text(text, encoding="utf-8")
    problem = only_problem(path)
    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message


# --- mappings ---------------------------------------------------------------------------------


def test_mapping_renames_drops_and_reports_clashes(tmp_path):
    path = jsonl(
        tmp_path,
        json.dumps({"guid": "m1", "headline": "H", "html": "<p>", "kicker": "k"}),
        json.dumps({"guid": "m2", "headline": "H", "title": "T"}),
    )
    mapping = {"guid": "id", "headline": "title", "html": None}
    first, second = skip_all(path, mapping=mapping)
    assert first.article.id == "m1" and first.article.title == "H"
    assert dict(first.article.extra) == {"kicker": "k"}
    assert isinstance(second, Problem) and second.field == "title"
    assert "'headline' and 'title' both give the article field 'title'" in second.message


@pytest.mark.parametrize(
    "mapping, message",
    [
        ({"headline": "headline"}, "'headline' is not an article field"),
        ({"": "title"}, "non-empty strings"),
        (["title"], "must be a mapping"),
    ],
)
def test_invalid_mappings_raise_config_error_at_call_time(mapping, message):
    with pytest.raises(ConfigError, match=message):
        iter_records(CORPUS, mapping=mapping)


def test_load_mapping_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("headline: headlines\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: .*'headlines' is not an article field"):
        load_mapping(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_mapping(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(broken)
