"""Property tests: str/parse round trips, and no input makes the parser fail any other way."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex.analysis import Analyzer
from newsindex.errors import QuerySyntaxError
from newsindex.querylang import (
    BoolQ,
    Clause,
    DateFilter,
    FieldFilter,
    Node,
    Occur,
    PhraseQ,
    Word,
    compile,
    is_filter,
    parse,
    parse_lenient,
    plain_words,
    plan,
    resolve_default,
)
from newsindex.schema import KEYWORD_FIELDS, normalize_keyword

EN = Analyzer("english")
ANALYZERS = {"title": EN, "body": EN}
TODAY = dt.date(2016, 11, 9)
MANY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Generating ASTs costs ~5 ms each: 2000 of them keep this file well under a minute.
ASTS = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ an AST strategy
texts = st.text(min_size=1, max_size=10)
boosts = st.one_of(
    st.just(1.0),
    st.sampled_from([2.0, 0.5, 1.5, 3.25]),
    st.floats(min_value=1e-3, max_value=1e3, allow_nan=False),
)
text_fields = st.sampled_from([None, "title", "body"])
DATE_SPECS = [
    "2016",
    "2016-11",
    "2016-11-09",
    "2016-11-01..2016-11-30",
    "2016-01..2016-03",
    ">=2016-11-01",
    ">2016-11-01",
    "<2017",
    "<=2016-11",
    "..2016-11-09",
    "2016-11-09..",
    "today",
    "yesterday",
    "last-7d",
    "last-3m",
    "last-1y",
    "last-2w",
    "last-7d..yesterday",
]

words = st.builds(Word, texts, text_fields, boosts, st.just(False))
prefixes = st.builds(
    Word, st.from_regex(r"[a-z\u00e9]{1,6}", fullmatch=True), text_fields, boosts, st.just(True)
)
phrases = st.builds(PhraseQ, texts, text_fields, st.integers(0, 20), boosts)
keywords = st.builds(
    FieldFilter, st.sampled_from(KEYWORD_FIELDS), texts.filter(lambda v: normalize_keyword(v) != "")
)
date_filters = st.builds(DateFilter, st.just("date"), st.sampled_from(DATE_SPECS))
leaves = st.one_of(words, words, prefixes, phrases, keywords, date_filters)


def _boosted(node: BoolQ, boost: float) -> BoolQ:
    return node if is_filter(node) else BoolQ(node.clauses, boost)


def _bools(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    """The BoolQ shapes the parser produces: OR chains (all SHOULD, 2+) and sequences."""
    or_chain = st.builds(
        lambda nodes, boost: _boosted(BoolQ(tuple(Clause(Occur.SHOULD, n) for n in nodes)), boost),
        st.lists(children, min_size=2, max_size=4),
        boosts,
    )
    occurs = st.sampled_from([Occur.DEFAULT, Occur.MUST, Occur.MUST_NOT])
    sequence = st.builds(
        lambda clauses, boost: _boosted(BoolQ(tuple(Clause(o, n) for o, n in clauses)), boost),
        st.lists(st.tuples(occurs, children), min_size=2, max_size=4),
        boosts,
    )
    single = st.builds(
        lambda occur, node, boost: _boosted(BoolQ((Clause(occur, node),)), boost),
        st.sampled_from([Occur.MUST, Occur.MUST_NOT]),
        children,
        boosts,
    )
    return st.one_of(or_chain, sequence, single)


asts = st.recursive(leaves, _bools, max_leaves=12)


@ASTS
@given(asts)
def test_str_parses_back_to_an_equal_ast(ast):
    text = str(ast)
    assert parse(text) == ast, text


@SOME
@given(asts)
def test_resolved_asts_round_trip_with_the_same_operator(ast):
    for op in ("or", "and"):
        resolved = resolve_default(ast, op)
        assert parse(str(resolved), default_operator=op) == resolved


def _compile(node: Node) -> plan.Node:
    try:
        return compile(
            node, analyzers=ANALYZERS, today=TODAY, expand_prefix=lambda p, f: [p, p + "s"]
        )
    except QuerySyntaxError:  # e.g. an empty relative range
        return plan.MatchNone()


@SOME
@given(asts, st.sampled_from(["or", "and"]))
def test_every_ast_compiles_to_a_plan(ast, op):
    result = compile(
        ast,
        analyzers=ANALYZERS,
        today=TODAY,
        default_operator=op,
        expand_prefix=lambda p, f: [p, p + "s"],
    )
    _check_plan(result, top=True)


def _check_plan(node: plan.Node, top: bool = False) -> None:
    """Plan invariants: filters only in filter/must_not, scoring nodes never there alone."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, plan.Bool):
            assert current.must or current.should or current.filter or current.must_not
            for child in current.must + current.should:
                assert not isinstance(child, (plan.Keyword, plan.DateRange, plan.MatchNone))
            stack.extend(current.must + current.should + current.filter + current.must_not)
        elif isinstance(current, plan.Phrase):
            assert current.offsets[0] == 0 and len(current.terms) == len(current.offsets) > 1
    if top:
        assert isinstance(node, (*plan.SCORING, plan.Bool, plan.MatchNone))


QUERY_PIECES = [
    '"',
    "(",
    ")",
    ":",
    "^",
    "~",
    "*",
    "-",
    "+",
    "\\",
    " ",
    " ",
    "a",
    "b",
    "x1",
    "AND",
    "OR",
    "NOT",
    "and",
    "title:",
    "section:",
    "date:",
    "source:",
    "foo:",
    "2016",
    "2016-11-09",
    "..",
    ">=",
    "<",
    "1",
    "2.5",
    ".",
    "é",
    "'",
    "\t",
]
query_like = st.lists(st.sampled_from(QUERY_PIECES), max_size=25).map("".join)
any_text = st.one_of(st.text(max_size=40), query_like, query_like)


def _only_syntax_errors(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(text)
        assert err.message and err.query == text
        err.caret()
    else:
        assert parse(str(node)) == node, str(node)
        _check_plan(_compile(node), top=True)


@MANY
@given(any_text)
def test_random_text_raises_only_query_syntax_errors(text):
    _only_syntax_errors(text)


@MANY
@given(query_like)
def test_query_alphabet_raises_only_query_syntax_errors(text):
    _only_syntax_errors(text)


@MANY
@given(any_text)
def test_lenient_and_plain_never_raise(text):
    node, warnings = parse_lenient(text)
    assert all(0 <= w.position <= len(text) for w in warnings)
    assert bool(warnings) or parse(text) == node
    _compile(node)
    str(node)
    words = plain_words(text)
    if words != BoolQ(()):
        assert parse(str(words)) == words
    _check_plan(_compile(words), top=True)
