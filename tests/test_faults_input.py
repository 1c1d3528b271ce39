"""Issue 7: bad and extreme input fails clearly (or works) and never loses committed data.

Complements tests/test_ingest_*.py, test_article.py, test_cli.py and test_query_parse.py (which
cover malformed records, size limits of records and the parser's limits on its own): here a
4 MB article end to end with its peak memory, the field-length limit at its boundary, a term
repeated a million times, a record with 10,000 fields, input nested too deeply for Python's
recursion, lone surrogates, and query / paging abuse through ``Index.search`` and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc

import pytest
from faults_helpers import child_env, load_sample, spawn

from newsindex import Article, ArticleError, ConfigError, Index, QuerySyntaxError
from newsindex.article import MAX_FIELD_CHARS
from newsindex.ingest import IngestError, Problem, Record, iter_records

DOCS = load_sample()


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    index = Index.create(tmp_path_factory.mktemp("input") / "idx")
    with index.writer() as w:
        for d in DOCS:
            w.add(d)
    return index


# -- huge documents -----------------------------------------------------------------------------
def test_a_4mb_article_is_indexed_and_searchable_in_bounded_memory(tmp_path):
    proc = spawn("huge-doc", tmp_path / "idx", 4_000_000)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    res = json.loads(out.splitlines()[-1])
    print(
        f"\n4 MB article: peak RSS {res['maxrss_mb']:.0f} MB (after imports: "
        f"{res['baseline_mb']:.0f} MB)"
    )
    assert res["body_chars"] == 4_000_000
    assert res["needle"] == ["huge"] and res["reopened_needle"] == ["huge"]  # the last word
    assert res["phrase"] == ["huge"]
    assert res["stored_len"] == 4_000_000 and res["stored_same"]
    assert res["check"] == [] and res["docs"] == 51 and res["common"] > 1
    assert res["maxrss_mb"] < 1536, f"peak RSS {res['maxrss_mb']:.0f} MB for a 4 MB article"


@pytest.mark.parametrize("field", ["title", "body", "author", "url"])
def test_the_field_length_limit_is_exact_and_names_the_field(field):
    Article(id="ok", **{field: "x" * MAX_FIELD_CHARS})
    with pytest.raises(ArticleError) as err:
        Article(id="long", **{field: "x" * (MAX_FIELD_CHARS + 1)})
    assert err.value.field == field
    assert f"'{field}'" in str(err.value) and f"{MAX_FIELD_CHARS:,}" in str(err.value)


def test_an_oversized_article_does_not_cost_the_rest_of_the_batch(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add(DOCS[0])
    with ix.writer() as w:
        w.add(DOCS[1])
        with pytest.raises(ArticleError, match="'body' has 5,000,001 characters"):
            w.add({"id": "too-long", "body": "word " * 1_000_000 + "x"})
        w.add(DOCS[2])
    assert sorted(
        a for a in (DOCS[0]["id"], DOCS[1]["id"], DOCS[2]["id"], "too-long") if a in ix
    ) == sorted([DOCS[0]["id"], DOCS[1]["id"], DOCS[2]["id"]])
    assert ix.check() == []


def test_jsonl_field_over_the_limit_names_line_and_field_and_reading_goes_on(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "title": "before"}),
                json.dumps({"id": "b", "body": "y" * (MAX_FIELD_CHARS + 10)}),  # 5 MB: under 10 MB
                json.dumps({"id": "c", "title": "after"}),
            ]
        )
        + "\n"
    )
    items = list(iter_records(path, on_error="skip"))
    assert [type(i).__name__ for i in items] == ["Record", "Problem", "Record"]
    problem = items[1]
    assert (problem.line, problem.field) == (2, "body") and "over the limit" in problem.message
    with pytest.raises(IngestError, match=":2: body:"):
        list(iter_records(path))


def test_one_word_a_million_times_overflows_no_counter(tmp_path):
    """Term frequency and positions > 65,535: the narrowed postings dtypes must widen."""
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add({"id": "rep", "body": "zr " * 1_000_000 + "zzend"})
        w.add({"id": "once", "body": "zr zzend"})
    res = ix.search("zr")
    assert [h.id for h in res.hits] == ["rep", "once"]
    assert all(0 < h.score < float("inf") for h in res.hits)
    assert abs(ix.explain("zr", "rep").value - res.hits[0].score) < 1e-6 * res.hits[0].score
    assert {h.id for h in ix.search('"zr zzend"').hits} == {"rep", "once"}
    assert ix.stats()["avg_lengths"]["body"] == (1_000_001 + 2) / 2
    assert ix.check() == []


# -- many fields --------------------------------------------------------------------------------
def test_a_record_with_10000_fields_keeps_them_all(tmp_path):
    """Ingest keeps unknown fields in ``extra`` by design: 10,000 of them are kept, not lost."""
    record = {"id": "wide", "title": "a wide record", **{f"f{i}": i for i in range(10_000)}}
    path = tmp_path / "wide.jsonl"
    path.write_text(json.dumps(DOCS[0]) + "\n" + json.dumps(record) + "\n")
    started = time.perf_counter()
    items = list(iter_records(path))
    assert all(isinstance(i, Record) for i in items) and len(items) == 2
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for item in items:
            w.add(item.article)
    stored = Index.open(tmp_path / "idx").get("wide")
    assert dict(stored.extra) == {f"f{i}": i for i in range(10_000)}
    assert ix.doc_count == 2 and ix.check() == []
    assert time.perf_counter() - started < 10


def test_10000_unknown_keys_through_the_api_fail_and_lose_nothing(tmp_path):
    ix = Index.create(tmp_path / "idx")
    record = {"id": "wide", **{f"f{i}": i for i in range(10_000)}}
    with ix.writer() as w:
        w.add(DOCS[0])
        with pytest.raises(ArticleError) as err:
            w.add(record)
        assert err.value.field == "f0" and "unknown field(s)" in str(err.value)
        w.add(DOCS[1])
    assert ix.doc_count == 2 and "wide" not in ix


def test_10000_unknown_keys_give_a_readable_message():
    with pytest.raises(ArticleError) as err:
        Article.from_dict({"id": "wide", **{f"f{i}": i for i in range(10_000)}})
    assert "f0" in str(err.value) and len(str(err.value)) < 1000


# -- input nested too deeply for Python's recursion ---------------------------------------------
DEEP = "[" * 100_000 + "]" * 100_000


def _deep_file(tmp_path, fmt):
    if fmt == "jsonl":
        text = (
            json.dumps({"id": "a", "title": "before"})
            + "\n"
            + '{"id": "deep", "extra": {"k": '
            + DEEP
            + "}}\n"
            + json.dumps({"id": "c", "title": "after"})
            + "\n"
        )
        return tmp_path / "deep.jsonl", text, 2
    if fmt == "csv":
        cell = '"{""k"": ' + DEEP + '}"'
        return tmp_path / "deep.csv", f"id,title,extra\na,before,\ndeep,x,{cell}\nc,after,\n", 3
    if fmt == "yaml":
        return (
            tmp_path / "deep.yaml",  # one YAML document: an error costs the whole file
            "- id: a\n  title: before\n- id: deep\n  title: "
            + "[" * 5000
            + "]" * 5000
            + "\n- id: c\n  title: after\n",
            None,
        )
    if fmt == "frontmatter":
        return (
            tmp_path / "deep.md",
            "---\nid: deep\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\nbody\n",
            None,
        )
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "yaml", "frontmatter"])
def test_deeply_nested_input_is_a_problem_not_a_crash(tmp_path, fmt):
    path, text, line = _deep_file(tmp_path, fmt)
    path.write_text(text)
    items = list(iter_records(path, on_error="skip", max_record_bytes=1_000_000))
    problems = [i for i in items if isinstance(i, Problem)]
    assert len(problems) == 1 and str(problems[0]).startswith(str(path))
    assert any(w in problems[0].message.lower() for w in ("deep", "nested", "recursion"))
    records = [i.article.id for i in items if isinstance(i, Record)]
    assert "deep" not in records
    if line is not None:  # line-based formats: the record's line, and the others are read
        assert problems[0].line == line and records == ["a", "c"]


def test_cli_skips_a_deeply_nested_record(tmp_path):
    path, text, _ = _deep_file(tmp_path, "jsonl")
    path.write_text(text)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsindex",
            "index",
            str(tmp_path / "idx"),
            str(path),
            "--on-error",
            "skip",
        ],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert Index.open(tmp_path / "idx").doc_count == 2


# -- text that is not valid Unicode -------------------------------------------------------------
SURROGATE = json.dumps({"id": "s", "title": "bad \ud800 title", "body": "fine"})


def test_a_lone_surrogate_never_costs_the_previous_commit(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add(DOCS[0])
    article = json.loads(SURROGATE)
    with pytest.raises((UnicodeError, ArticleError)):
        with ix.writer() as w:
            w.add(DOCS[1])
            w.add(article)
    assert Index.open(tmp_path / "idx").doc_count == 1 and DOCS[0]["id"] in ix
    assert ix.check() == []
    ix.writer().rollback()


def test_a_lone_surrogate_is_refused_when_added_naming_the_field(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add(DOCS[0])
        with pytest.raises(ArticleError) as err:
            w.add(json.loads(SURROGATE))
        assert err.value.field == "title"
        w.add(DOCS[1])
    assert ix.doc_count == 2


def test_ingest_reports_a_lone_surrogate_as_a_problem(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps(DOCS[0]) + "\n" + SURROGATE + "\n" + json.dumps(DOCS[1]) + "\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsindex",
            "index",
            str(tmp_path / "idx"),
            str(path),
            "--on-error",
            "skip",
        ],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert ":2: title:" in out.stderr and Index.open(tmp_path / "idx").doc_count == 2


# -- queries and paging -------------------------------------------------------------------------
def _timed(fn):
    started = time.perf_counter()
    try:
        return fn(), time.perf_counter() - started
    except Exception as exc:  # returned for the assertions
        return exc, time.perf_counter() - started


@pytest.mark.parametrize(
    "query, words",
    [
        ("(" * 100_000, "too long"),
        ("(" * 65 + "oil" + ")" * 65, "too deeply nested"),
        ("-(" * 3000 + "oil", "too deeply nested"),
        ("(x y OR z AND -" * 30 + "w" + ")" * 30, "too deeply nested"),
        ("NOT " * 2400 + "oil", "NOT"),
        ("x AND " * 1100 + "y", "too many clauses"),
        (" OR ".join(f"w{i}" for i in range(1025)), "too many clauses"),
        ('"' + "oil " * 2000, "quote"),
        (" ".join(f"{a}{b}*" for a in "abcdefghijklmnopqrstuvwxyz" for b in "aeiou"), "too many"),
    ],
    ids=[
        "open-parens",
        "65-deep",
        "negated-groups",
        "chains",
        "nots",
        "ands",
        "1025-ors",
        "unclosed-phrase",
        "130-prefixes",
    ],
)
def test_abusive_queries_fail_fast_with_a_query_error(ix, query, words):
    for call in (lambda: ix.search(query), lambda: ix.count(query)):
        result, took = _timed(call)
        assert isinstance(result, QuerySyntaxError), f"{type(result).__name__}: {result}"
        assert words.lower() in str(result).lower() and 0 <= result.position <= len(query)


def test_the_largest_accepted_queries_answer(ix):
    terms = sorted(
        {w.lower() for d in DOCS for w in d["body"].split() if w.isalpha() and len(w) <= 4}
    )[:1024]
    assert len(terms) == 1024
    # Two-letter prefixes, as many as the per-query expansion limit lets through.
    prefixes, expanded = [], 0
    for p in (a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "aeiou"):
        expanded += len(ix.expand_prefix(p))
        if expanded > ix.expansion_limit:
            break
        prefixes.append(p + "*")
    assert len(prefixes) > 100
    for query, syntax in [
        (" OR ".join(terms), "query"),  # 1,024 OR-ed terms
        (" ".join(terms), "query"),
        ("(" * 64 + "oil" + ")" * 64, "query"),  # the deepest nesting allowed
        (" ".join(prefixes), "query"),
        (" ".join(terms * 20), "plain"),  # plain: the rest is ignored
    ]:
        result, took = _timed(lambda q=query, s=syntax: ix.search(q, syntax=s, limit=10))
        assert not isinstance(result, Exception), f"{query[:60]}: {result!r}"
        assert result.total > 0 and len(result.hits) == 10, query[:60]


@pytest.mark.parametrize(
    "query, words",
    [
        ("x" * 10_001, "too long"),
        (" ".join(f"w{i}" for i in range(1025)), "too many clauses"),
        (" ".join(f"w{i}" for i in range(2000)) + " source:reuters", "too long"),
    ],
    ids=["one-long-word", "1025-words", "2000-words-and-a-filter"],
)
def test_the_documented_query_limits_hold_for_simple_queries(ix, query, words):
    """docs/query-syntax.md: at most 10,000 characters and 1,024 words, as parse() enforces."""
    from newsindex.querylang import parse

    with pytest.raises(QuerySyntaxError, match=words):
        parse(query)
    with pytest.raises(QuerySyntaxError, match=words):
        ix.search(query)


def test_a_huge_plain_query_costs_no_more_than_a_capped_one(ix):
    """A plain query is capped (querylang.plain_words keeps 1,024 words) or refused: bounded."""
    text = " ".join(f"w{i}" for i in range(20_000))  # 130 kB
    tracemalloc.start()
    try:
        try:
            ix.search(text, syntax="plain")
        except QuerySyntaxError:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"{peak / 1e6:.1f} MB for one plain query"


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"limit": 10**9}, "limit + offset must be <= 100,000"),
        ({"offset": 10**9}, "limit + offset"),
        ({"limit": 60_000, "offset": 60_000}, "limit + offset"),
        ({"limit": -1}, "limit must be an integer >= 0"),
        ({"offset": -5}, "offset must be an integer >= 0"),
        ({"limit": 2.5}, "limit must be an integer"),
        ({"limit": "10"}, "limit must be an integer"),
        ({"sort": "random"}, "sort must be one of"),
    ],
)
def test_paging_abuse_is_a_config_error(ix, kwargs, words):
    with pytest.raises(ConfigError, match=words.replace("+", r"\+")):
        ix.search("oil", **kwargs)


def test_the_largest_page_allowed_answers(ix):
    res = ix.search("oil", limit=100_000)
    assert res.total == len(res.hits) > 0
    assert ix.search("oil", limit=0).hits == []


def test_cli_limit_abuse_is_a_clear_error(ix):
    out = subprocess.run(
        [sys.executable, "-m", "newsindex", "search", str(ix.path), "oil", "--limit", "1000000000"],
        capture_output=True,
        text=True,
        env=child_env(),
    )
    assert out.returncode == 1 and "limit + offset must be <= 100,000" in out.stderr
    assert "Traceback" not in out.stderr
