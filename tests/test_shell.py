"""The search shell: rendering as exact text, the session's commands, a pty and a pipe."""

import datetime as dt
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from rich.console import Console

import newsindex
from newsindex import Index, Query, querylang
from newsindex.analysis import Analyzer
from newsindex.article import Article
from newsindex.errors import QuerySyntaxError
from newsindex.ingest import iter_records
from newsindex.results.facets import Facets
from newsindex.results.hits import Hit, Results
from newsindex.search.scoring import Explanation
from newsindex.shell import render
from newsindex.shell.commands import Shell
from newsindex.shell.repl import Completer, history_path, setup_readline
from newsindex.shell.session import Session, ShellError

DATA = Path(newsindex.__file__).parent / "data"
SEED_ID = "raw-579a08eb4b10fa17"
PROMPT = "newsindex> "

ENGLISH = Analyzer("english")
ANALYZERS = {"title": ENGLISH, "body": ENGLISH}
A1 = Article(
    id="a1",
    title="Rebels fight for [Aleppo] district",
    date=dt.date(2016, 11, 9),
    source="TRT World",
    section="World",
    body="Syrian rebels said on Tuesday they were fighting for the district. The battle for the "
    "1070 Apartments area went on through the night, officials said.",
)
A2 = Article(
    id="a2",
    title="OPEC keeps output ceiling",
    date=dt.date(1987, 3, 5),
    source="Reuters",
    section="crude",
    author="Staff",
    body="OPEC ministers kept the output ceiling. Nothing about the fight.",
)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    """The bundled sample and the seed article, as ``newsindex demo`` indexes them."""
    folder = tmp_path_factory.mktemp("shell") / "idx"
    ix = Index.create(folder)
    with ix.writer() as w:
        for record in iter_records([DATA / "seed-article.txt", DATA / "reuters-sample.jsonl.gz"]):
            w.add(record.article)
    ix.close()
    return folder


@pytest.fixture()
def session(index_dir):
    ix = Index.open(index_dir)
    yield Session(ix)
    ix.close()


def plan(text):
    return querylang.compile(querylang.parse(text), analyzers=ANALYZERS, query=text)


def text_of(renderable, **console) -> str:
    """What a 100-column console without colours prints (trailing padding stripped)."""
    options = {"width": 100, "color_system": None, "force_terminal": False}
    c = Console(file=io.StringIO(), **{**options, **console})
    c.print(renderable)
    return "\n".join(line.rstrip() for line in c.file.getvalue().splitlines())


def known_results() -> Results:
    facets = Facets(
        sources=[("Reuters", 10), ("TRT World", 2)],
        sections=[("crude", 7), ("earn", 3), ("World", 2)],
        dates=[("1987-03", 10), ("2016-11", 2)],
    )
    hits = [Hit("a1", 8.8303, 1, 0, lambda: A1), Hit("a2", 1.25, 2, 0, lambda: A2)]
    return Results(hits=hits, total=12, took_ms=1.5, offset=0, facets=facets)


# -- rendering, as exact text -------------------------------------------------------------------
def test_results_table_with_snippets_and_facets():
    query = 'fight "1070 apartments"'
    view = render.results_view(
        query, known_results(), Query(query, plan(query), ANALYZERS), page_size=2, plain=True
    )
    assert (
        text_of(view)
        == """\
12 matching articles for 'fight "1070 apartments"' · 1-2 · page 1 of 6 · 1.5 ms
#  score  date        source     section  title
────────────────────────────────────────────────────────────────────────────────────────────────────
1  8.830  2016-11-09  TRT World  World    Rebels «fight» for [Aleppo] district
   Syrian rebels said on Tuesday they were «fighting» for the district. The battle for the «1070
   Apartments» area went on through the night, officials said.

2  1.250  1987-03-05  Reuters    crude    OPEC keeps output ceiling
   OPEC ministers kept the output ceiling. Nothing about the «fight».

sources          sections
─────────────────────────────
Reuters     10   crude      7
TRT World    2   earn       3
                 World      2
months
───────────────────────────────────────────────────────
1987-03   10   ████████████████████████████████████████
2016-11    2   ████████"""
    )


def test_snippet_text_plain_and_in_colour():
    snip = Query("fight", plan("fight"), ANALYZERS).snippet(A1)
    assert text_of(render.marked(snip, plain=True)) == (
        "Syrian rebels said on Tuesday they were «fighting» for the district. The battle for the "
        "1070\nApartments area went on through the night, officials said."
    )
    coloured = text_of(render.marked(snip), color_system="standard", force_terminal=True)
    assert "were \x1b[1;33mfighting\x1b[0m for" in coloured


def test_explain_tree():
    why = Explanation(
        3.5,
        "score of 'a1': sum",
        [
            Explanation(
                3.5,
                "term 'fight' (BM25F)",
                [Explanation(2.0, "idf (df=3, N=10)"), Explanation(0.5, "tfn/(tfn+k1)")],
            )
        ],
    )
    assert (
        text_of(render.explain_tree("Rebels fight", 1, why))
        == """\
why #1 Rebels fight
└── 3.5000  score of 'a1': sum
    └── 3.5000  term 'fight' (BM25F)
        ├── 2.0000  idf (df=3, N=10)
        └── 0.5000  tfn/(tfn+k1)"""
    )


def test_query_problem_shows_a_caret():
    err = QuerySyntaxError("expected a term after AND", "aleppo AND", 7)
    assert (
        text_of(render.problem(err))
        == """\
query error:
  aleppo AND
         ^ expected a term after AND"""
    )
    bare = QuerySyntaxError("unknown field 'foo'", "", 0)  # the query text added when missing
    assert text_of(render.problem(bare, "foo:x", warning=True)).splitlines()[1:] == [
        "  foo:x",
        "  ^ unknown field 'foo'",
    ]


def test_article_view_reflows_wire_copy():
    wire = Article(
        id="w1",
        title="COCOA REVIEW",
        body="Showers continued in\nthe Bahia cocoa "
        "zone.\n    The dry period means\nthe temporao will be late.\n Reuter",
        date=dt.date(1987, 2, 26),
        source="Reuters",
        section="cocoa",
    )
    view = render.article_view(wire, Query("cocoa late", plan("cocoa late"), ANALYZERS), plain=True)
    assert (
        text_of(view)
        == """\
«COCOA» REVIEW
1987-02-26 · Reuters · cocoa
id: w1

Showers continued in the Bahia «cocoa» zone.

The dry period means the temporao will be «late».

Reuter"""
    )


# -- the session and commands -------------------------------------------------------------------
def test_session_pages_hits_and_explain(session):
    search = session.search("oil")
    assert search.results.total > 20 and len(search.results.hits) == 10
    second = session.turn(+1)
    assert [h.rank for h in second.hits] == list(range(11, 21))
    assert session.hit(3).rank == 3  # not on this page: fetched
    hit, why = session.explain(12)
    assert abs(why.value - hit.score) < 1e-9
    session.turn(-1)
    with pytest.raises(ShellError, match="first page"):
        session.turn(-1)
    with pytest.raises(ShellError, match="no hit"):
        session.hit(10**6)


def test_session_options(session):
    base = session.search("aleppo battle").results.hits[0].score
    session.set_scoring(["k1=0.9", "title=3", "body.b=0.5"])
    assert session.current.results.hits[0].score != base
    from newsindex.config import DEFAULT_B

    assert (
        render.describe_scoring(session.scoring)
        == f"k1=0.9 b={DEFAULT_B:g} title=3 body=1 body.b=0.5"
    )
    for bad in (["k2=1"], ["b=x"], ["b=2"]):
        with pytest.raises(ShellError):
            session.set_scoring(bad)
    session.set_scoring(["reset"])
    assert session.current.results.hits[0].score == base
    session.set_sort("date")
    days = [h.date_day for h in session.current.results.hits]
    assert days == sorted(days, reverse=True)
    session.set_page_size("3")
    assert len(session.current.results.hits) == 3
    with pytest.raises(ShellError):
        session.set_page_size("0")
    session.set_facets("off")
    assert session.current.results.facets is None


def test_shell_carries_on_after_errors(session):
    console = Console(file=io.StringIO(), width=100, color_system=None)
    shell = Shell(session, console)
    for line in (
        ":open 1",
        ":",
        ":bogus",
        "date:last-x aleppo",
        ":sort sideways",
        "title:(aleppo",
        ":limit x",
        ":stats",
        ":help",
        ":set",
        "",
    ):
        assert shell.handle(line) is True
    assert shell.handle(":quit") is False
    out = console.file.getvalue()
    assert "no query yet" in out and "unknown command :bogus" in out
    assert "query warning (read leniently):" in out and "  title:(aleppo" in out
    assert "documents  1,001 (0 deleted)" in out and ":explain, :e" in out


def test_completion(session):
    complete = Completer(session.keyword_values).candidates
    assert complete("sec", 0, "sec") == ["section:"]
    assert complete("oil -sou", 4, "-sou") == ["-source:"]
    assert complete("source:tr", 0, "source:tr") == ["source:trt-world"]
    assert complete(":ex", 0, ":ex") == [":exit", ":explain "]
    assert complete(":sort d", 6, "d") == ["date"]
    assert complete(":set t", 5, "t") == ["title=", "title.b="]


def test_history_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert history_path() == tmp_path / "newsindex" / "shell_history"


def test_without_readline_the_prompt_still_works(monkeypatch, session):
    monkeypatch.setitem(sys.modules, "readline", None)  # what a Python without it does
    save = setup_readline(Completer(session.keyword_values))
    save()  # a no-op, no error


# -- end to end ---------------------------------------------------------------------------------
def test_shell_in_a_terminal(index_dir, tmp_path):
    env = dict(
        os.environ,
        TERM="dumb",
        PAGER="cat",
        XDG_CACHE_HOME=str(tmp_path),
        COLUMNS="100",
        LINES="40",
    )
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "newsindex", "shell", str(index_dir)],
        env=env,
        encoding="utf-8",
        dimensions=(40, 100),
        timeout=30,
    )
    try:
        child.expect_exact(PROMPT)
        child.sendline(":limit 2")
        child.expect_exact(PROMPT)
        child.sendline("aleppo battle")
        child.expect_exact("6 matching articles for 'aleppo battle' · 1-2 · page 1 of 3")
        child.expect_exact("«Battle» for strategic district in «Aleppo» continues")
        child.expect_exact(PROMPT)
        child.sendline(":next")
        child.expect_exact("· 3-4 · page 2 of 3")
        child.expect_exact(PROMPT)
        child.sendline(":open 1")  # through the pager ($PAGER=cat)
        child.expect_exact(f"id: {SEED_ID}")
        child.expect_exact("anonymity.")  # the last words of the body
        child.expect_exact(PROMPT)
        child.sendline(":explain 1")
        child.expect_exact("term 'aleppo' (BM25F)")
        child.expect_exact("idf (df=1, N=1001)")
        child.expect_exact(PROMPT)
        child.sendline("aleppo AND")
        child.expect_exact("query warning (read leniently):")
        child.expect_exact("  aleppo AND\r\n         ^ expected a term after AND")
        child.expect_exact("1 matching article for 'aleppo AND'")
        child.expect_exact(PROMPT)
        child.sendline(":quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "newsindex" / "shell_history").read_text().splitlines()
    assert history[-3:] == [":explain 1", "aleppo AND", ":quit"]


def _shell_in_a_pipe(index_dir, script: str, *options: str) -> subprocess.CompletedProcess:
    """``newsindex shell INDEX OPTIONS`` reading ``script`` from a pipe."""
    return subprocess.run(
        [sys.executable, "-m", "newsindex", "shell", str(index_dir), *options],
        input=script,
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="100"),
        timeout=60,
        check=False,
    )


def test_shell_in_a_pipe(index_dir):
    proc = _shell_in_a_pipe(index_dir, "aleppo\n:explain 1\n:open 1\n:quit\nnever run\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("1 matching article for 'aleppo' · 1-1 · page 1 of 1 · ")
    assert "Battle for strategic district in «Aleppo» continues" in out
    assert "term 'aleppo' (BM25F)" in out and f"id: {SEED_ID}" in out
    assert "\x1b[" not in out and PROMPT not in out  # no colours, no prompt, no pager
    assert "never run" not in out


def test_feedback_command_shows_the_expansion_terms(session):
    console = Console(file=io.StringIO(), width=200, color_system=None)
    shell = Shell(session, console)
    assert shell.handle("coffee quota")
    assert "feedback terms:" not in console.file.getvalue()
    assert shell.handle(":feedback on")
    expansion = session.current.results.expansion
    assert expansion and session.effective_scoring().feedback
    out = console.file.getvalue()
    assert "feedback on" in out and f"feedback terms: {expansion[0][0]}" in out
    assert shell.handle(":explain 1")
    assert "expansion terms:" in console.file.getvalue()
    assert shell.handle(":set proximity=0.5 fb_terms=3")
    scoring = session.effective_scoring()
    assert scoring.feedback and scoring.proximity == 0.5 and scoring.fb_terms == 3
    assert len(session.current.results.expansion) == 3
    assert shell.handle(":feedback off") and not session.current.results.expansion
    assert shell.handle(":feedback maybe") and shell.handle(":set fb_docs=2.5")
    out = console.file.getvalue()
    assert "feedback must be one of on, off" in out and "not a whole number" in out


def test_shell_with_a_cache_budget(index_dir):
    """``--cache-mb`` reaches the session's index (0: the phrase's keys are not kept, the
    answers are the same); a bad budget is a one-line error naming the option."""
    script = '"strategic district"\n"strategic district"\n:quit\n'
    runs = [_shell_in_a_pipe(index_dir, script, *extra) for extra in ([], ["--cache-mb", "0"])]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
        assert "1 matching article for '\"strategic district\"'" in proc.stdout
    strip = [re.sub(r"\(\d+\.\d+ ms\)|· [\d.]+ ms", "", p.stdout) for p in runs]
    assert strip[0] == strip[1]
    bad = _shell_in_a_pipe(index_dir, ":quit\n", "--cache-mb", "-1")
    assert bad.returncode != 0 and "cache_mb" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
