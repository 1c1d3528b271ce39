"""``recency:30d`` in the query language (issue 18.2): the same ranking as ``recency="30d"``,
only at the top level of a query, printed and parsed back, errors where the problem is."""

import datetime as dt
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_query_properties import ANALYZERS, TODAY, _check_plan, asts

from newsindex import Index
from newsindex.errors import ConfigError, QuerySyntaxError
from newsindex.querylang import (
    BoolQ,
    Clause,
    Occur,
    compile,
    parse,
    parse_lenient,
    plan,
    resolve_default,
)
from newsindex.querylang.ast import RecencyQ
from newsindex.querylang.planner import half_life_days

HALF_LIVES = st.builds(
    lambda n, unit: f"{n}{unit}",
    st.one_of(st.integers(1, 999).map(str), st.sampled_from(["0.5", "1.5", "2.25"])),
    st.sampled_from("dwmy"),
)
SOME = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_recency(ast, half_life: str, where: int):
    """``ast`` with ``recency:<half_life>`` beside it, as the parser builds it: a clause of
    the top-level sequence (a new one around a leaf, a chain or a boosted group)."""
    switch = Clause(Occur.DEFAULT, RecencyQ(half_life))
    shape = {c.occur for c in ast.clauses} if isinstance(ast, BoolQ) else set()
    chain = len(shape) == 1 and len(ast.clauses) > 1 and (shape <= {Occur.SHOULD})
    if isinstance(ast, BoolQ) and ast.boost == 1 and not chain and ast.clauses:
        clauses = list(ast.clauses)
        clauses.insert(where % (len(clauses) + 1), switch)
        return BoolQ(tuple(clauses))
    pair = [Clause(Occur.DEFAULT, ast), switch]
    return BoolQ(tuple(pair if where % 2 else pair[::-1]))


@SOME
@given(asts, HALF_LIVES, st.integers(0, 8))
def test_str_of_a_query_with_recency_parses_back_equal(ast, half_life, where):
    node = with_recency(ast, half_life, where)
    text = str(node)
    assert parse(text) == node, text
    for op in ("or", "and"):
        resolved = resolve_default(node, op)
        assert parse(str(resolved), default_operator=op) == resolved


@SOME
@given(asts, HALF_LIVES, st.integers(0, 8))
def test_recency_wraps_the_plan_of_the_rest_of_the_query(ast, half_life, where):
    node = with_recency(ast, half_life, where)
    kw = {"analyzers": ANALYZERS, "today": TODAY, "expand_prefix": lambda p, f: [p, p + "s"]}
    try:
        alone = compile(ast, **kw)
    except QuerySyntaxError:
        return  # e.g. an empty relative date range: the same error with recency
    got = compile(node, **kw)
    if isinstance(alone, plan.MatchNone) and not isinstance(got, plan.Recency):
        return  # nothing to search: nothing to rank
    assert got == plan.Recency(alone, half_life_days(half_life), TODAY)
    _check_plan(got.node, top=True)


@pytest.mark.parametrize(
    ("query", "at", "message"),
    [
        ("oil -recency:30d", 4, "cannot be required or excluded"),
        ("oil +recency:30d", 4, "cannot be required or excluded"),
        ("oil NOT recency:30d", 4, "cannot be required or excluded"),
        ("oil OR recency:30d", 7, "cannot be an operand of OR"),
        ("recency:30d AND oil", 0, "cannot be an operand of AND"),
        ("(oil recency:30d)", 5, "cannot go inside parentheses"),
        ("title:(oil recency:1y)", 11, "cannot go inside parentheses"),
        ("recency:30d", 0, "only orders the results"),
        ("oil recency:30d gas recency:1y", 20, "given twice"),
        ("oil recency:3x", 12, "bad half-life '3x'"),
        ("oil recency:0d", 12, "bad half-life '0d'"),
        ("oil recency:", 12, "expected a half-life right after 'recency:'"),
        ('oil recency:"30d"', 12, "expected a half-life"),
        ("oil recency:30d*", 12, "expected a half-life"),
        ("oil recncy:30d", 4, "did you mean 'recency:'?"),
    ],
)
def test_misplaced_or_malformed_recency_is_an_error_at_its_place(query, at, message):
    with pytest.raises(QuerySyntaxError) as info:
        parse(query)
    assert info.value.position == at and message in info.value.message, info.value.caret()
    node, warnings = parse_lenient(query)  # the shell reads on, without the bad switch
    assert warnings and [w.position for w in warnings][0] == at
    assert str(node).count("recency:") <= 1


@pytest.fixture(scope="module")
def ix(tmp_path_factory, sample_docs):
    index = Index.create(tmp_path_factory.mktemp("clause") / "idx")
    with index.writer() as w:
        for d in sample_docs:
            w.add(d)
    return index


DAY = dt.date(1987, 4, 15)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.sampled_from(["oil", "bank rate", "coffee OR sugar", "title:profit -section:earn"]),
    half_life=HALF_LIVES,
    sort=st.sampled_from(["relevance", "date"]),
)
def test_the_clause_ranks_exactly_as_the_argument(ix, query, half_life, sort):
    typed = ix.search(f"{query} recency:{half_life}", today=DAY, limit=30, sort=sort)
    asked = ix.search(query, recency=half_life, today=DAY, limit=30, sort=sort)
    assert [(h.id, h.score) for h in typed.hits] == [(h.id, h.score) for h in asked.hits]
    assert typed.total == asked.total == ix.count(f"{query} recency:{half_life}")
    if typed.hits:
        top = typed.hits[0]
        why = ix.explain(f"{query} recency:{half_life}", top.id, today=DAY)
        assert why.value == pytest.approx(top.score, rel=1e-9) and "recency" in str(why)
    # The same half-life twice is no conflict; two different ones are an error.
    both = ix.search(
        f"{query} recency:{half_life}", recency=half_life, today=DAY, limit=30, sort=sort
    )
    assert [h.id for h in both.hits] == [h.id for h in asked.hits]
    other = half_life_days(half_life) + 1
    with pytest.raises(ConfigError, match="recency is given twice"):
        ix.search(f"{query} recency:{half_life}", recency=other, today=DAY)


def test_parsed_queries_related_stories_and_snippets_keep_it(ix):
    q = ix.parse("oil prices recency:30d", today=DAY)
    res = ix.search(q, limit=5)
    assert [h.id for h in res.hits] == [
        h.id for h in ix.search("oil prices", recency="30d", today=DAY, limit=5).hits
    ]
    # Both highlighters find the query's words through the clause.
    assert res.hits[0].snippet().spans and q.snippet(res.hits[0]).spans
    lenient = ix.parse("oil prices recency:30d (", lenient=True, today=DAY)
    assert lenient.warnings and ix.search(lenient, limit=5).total == res.total
    source = res.hits[0].id
    mlt = ix.more_like_this(source, query="date:1987 recency:30d", today=DAY, limit=5)
    ref = ix.more_like_this(source, query="date:1987", recency="30d", today=DAY, limit=5)
    assert [(h.id, h.score) for h in mlt.hits] == [(h.id, h.score) for h in ref.hits]


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)],
        capture_output=True,
        text=True,
        input=stdin,
    )


def test_cli_and_shell(ix):
    ok = run("search", ix.path, "oil recency:30d", "--json", "--limit", "3")
    assert ok.returncode == 0
    bad = run("search", ix.path, "oil OR recency:30d")
    assert bad.returncode == 2 and "cannot be an operand of OR" in bad.stderr
    caret = next(line for line in bad.stderr.splitlines() if line.strip().startswith("^"))
    assert caret.index("^") - 2 == len("oil OR ")
    clash = run("search", ix.path, "oil recency:30d", "--recency", "1y")
    assert clash.returncode == 1 and "recency is given twice" in clash.stderr
    shell = run("shell", ix.path, stdin="oil recency:30d\n:recency 1y\n")
    assert "recency is given twice" in shell.stdout and "Traceback" not in shell.stdout
