"""The query language parser: every construct to its AST, errors with positions, lenient mode."""

from __future__ import annotations

import pytest

from newsindex.errors import ConfigError, QuerySyntaxError
from newsindex.querylang import (
    BoolQ,
    Clause,
    DateFilter,
    FieldFilter,
    Occur,
    PhraseQ,
    Word,
    parse,
    parse_lenient,
    plain_words,
)

D, M, S, N = Occur.DEFAULT, Occur.MUST, Occur.SHOULD, Occur.MUST_NOT


def B(*clauses: tuple[Occur, object], boost: float = 1.0) -> BoolQ:
    return BoolQ(tuple(Clause(o, n) for o, n in clauses), boost=boost)


W = Word

CASES = [
    # words, operators
    ("aleppo", W("aleppo")),
    ("aleppo syria", B((D, W("aleppo")), (D, W("syria")))),
    ("aleppo AND syria", B((M, W("aleppo")), (M, W("syria")))),
    ("aleppo OR syria", B((S, W("aleppo")), (S, W("syria")))),
    ("aleppo AND NOT syria", B((M, W("aleppo")), (N, W("syria")))),
    (
        "NOT syria",
        B(
            (N, W("syria")),
        ),
    ),
    ("+aleppo -syria russia", B((M, W("aleppo")), (N, W("syria")), (D, W("russia")))),
    ("aleppo NOT syria", B((D, W("aleppo")), (N, W("syria")))),
    (
        "aleppo and syria or not",
        B((D, W("aleppo")), (D, W("and")), (D, W("syria")), (D, W("or")), (D, W("not"))),
    ),
    # precedence: NOT/+/- > AND > OR > space
    ("a b OR c AND d", B((D, W("a")), (D, B((S, W("b")), (S, B((M, W("c")), (M, W("d")))))))),
    (
        "a OR -b",
        B(
            (S, W("a")),
            (
                S,
                B(
                    (N, W("b")),
                ),
            ),
        ),
    ),
    ("-a AND b", B((N, W("a")), (M, W("b")))),
    ("+(a OR b) c", B((M, B((S, W("a")), (S, W("b")))), (D, W("c")))),
    ("(a b) c", B((D, B((D, W("a")), (D, W("b")))), (D, W("c")))),
    ("((a))", W("a")),
    (
        "a (-b)",
        B(
            (D, W("a")),
            (
                D,
                B(
                    (N, W("b")),
                ),
            ),
        ),
    ),
    # phrases, slop, boosts, prefix
    ('"1070 apartments"', PhraseQ("1070 apartments")),
    ('"battle for aleppo"~3', PhraseQ("battle for aleppo", slop=3)),
    ('"battle for aleppo"~3^2', PhraseQ("battle for aleppo", slop=3, boost=2.0)),
    ('"say \\"no\\""', PhraseQ('say "no"')),
    ("aleppo^2", W("aleppo", boost=2.0)),
    ("aleppo^0.5", W("aleppo", boost=0.5)),
    ("(a b)^2", B((D, W("a")), (D, W("b")), boost=2.0)),
    ("(a^2)^3", W("a", boost=6.0)),
    ("alep*", W("alep", prefix=True)),
    ("alep*^2", W("alep", boost=2.0, prefix=True)),
    ("a*b", W("a*b")),
    # fields
    ("title:aleppo", W("aleppo", "title")),
    ("Title:aleppo", W("aleppo", "title")),
    ('body:"1070 apartments"', PhraseQ("1070 apartments", "body")),
    ("title:(syria russia)", B((D, W("syria", "title")), (D, W("russia", "title")))),
    ("title:(syria russia)^1.5", B((D, W("syria", "title")), (D, W("russia", "title")), boost=1.5)),
    ("title:(syria body:russia)", B((D, W("syria", "title")), (D, W("russia", "body")))),
    ("title:alep*", W("alep", "title", prefix=True)),
    ("title:10:30", W("10:30", "title")),
    ("10:30", W("10:30")),
    ("russian-backed", W("russian-backed")),
    # keyword filters
    ("section:world", FieldFilter("section", "world")),
    ('source:"TRT World"', FieldFilter("source", "TRT World")),
    ("author:o'brien", FieldFilter("author", "o'brien")),
    (
        "section:(world OR business)",
        B((S, FieldFilter("section", "world")), (S, FieldFilter("section", "business"))),
    ),
    (
        "section:(world business)",  # values separated by spaces are alternatives too
        B((S, FieldFilter("section", "world")), (S, FieldFilter("section", "business"))),
    ),
    (
        "section:(world -business)",
        B((D, FieldFilter("section", "world")), (N, FieldFilter("section", "business"))),
    ),
    (
        "-section:sport",
        B(
            (N, FieldFilter("section", "sport")),
        ),
    ),
    ("aleppo section:world", B((D, W("aleppo")), (D, FieldFilter("section", "world")))),
    # dates
    ("date:2016", DateFilter("date", "2016")),
    ("date:2016-11", DateFilter("date", "2016-11")),
    ("date:2016-11-09", DateFilter("date", "2016-11-09")),
    ("date:2016-11-01..2016-11-30", DateFilter("date", "2016-11-01..2016-11-30")),
    ("date:2016-01..2016-03", DateFilter("date", "2016-01..2016-03")),
    ("date:>=2016-11-01", DateFilter("date", ">=2016-11-01")),
    ("date:>2016-11-01", DateFilter("date", ">2016-11-01")),
    ("date:<2017", DateFilter("date", "<2017")),
    ("date:<=2016-11", DateFilter("date", "<=2016-11")),
    ("date:..2016-11-09", DateFilter("date", "..2016-11-09")),
    ("date:2016-11-09..", DateFilter("date", "2016-11-09..")),
    ("date:today", DateFilter("date", "today")),
    ("date:YESTERDAY", DateFilter("date", "yesterday")),
    ("date:last-7d", DateFilter("date", "last-7d")),
    ("date:last-3m", DateFilter("date", "last-3m")),
    ("date:last-1y", DateFilter("date", "last-1y")),
    ('date:"2016-11-01 .. 2016-11-30"', DateFilter("date", "2016-11-01..2016-11-30")),
    ("date:(2016 OR 2018)", B((S, DateFilter("date", "2016")), (S, DateFilter("date", "2018")))),
    # escapes
    ("\\AND", W("AND")),
    ("foo\\:bar", W("foo:bar")),
    ("\\-x", W("-x")),
    ("a\\ b", W("a b")),
    ("a\\*", W("a*")),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0] for c in CASES])
def test_parses_to_expected_ast(text, expected):
    node = parse(text)
    assert node == expected
    assert parse(str(node)) == node


def test_positions_are_recorded_but_not_compared():
    node = parse('aleppo  title:"x y"')
    assert [c.node.pos for c in node.clauses] == [0, 8]
    assert node == B((D, W("aleppo")), (D, PhraseQ("x y", "title")))


def test_str_writes_canonical_text():
    assert str(parse("a   b")) == "a b"
    assert str(parse("a AND b")) == "+a +b"
    assert str(parse("title:(a b)^2")) == "(title:a title:b)^2"
    assert str(parse("section:(world business)")) == "section:world OR section:business"
    assert str(W("AND")) == "\\AND"
    assert str(W("x:y z")) == "x\\:y\\ z"
    assert str(FieldFilter("source", "TRT World")) == 'source:"TRT World"'


def test_default_operator_resolution_at_parse_time():
    assert parse("a b section:world", default_operator="or") == B(
        (S, W("a")), (S, W("b")), (M, FieldFilter("section", "world"))
    )
    assert parse("a b", default_operator="and") == B((M, W("a")), (M, W("b")))
    node = parse("+a b", default_operator="or")
    assert parse(str(node), default_operator="or") == node
    with pytest.raises(ConfigError):
        parse("a", default_operator="xor")


ERRORS = [
    # (query, position, words the message must contain)
    ("aleppo AND", 7, ["expected a term after AND"]),
    ("aleppo OR", 7, ["expected a term after OR"]),
    ("OR x", 0, ["expected a term before OR"]),
    ("a AND OR b", 2, ["expected a term after AND"]),
    ("NOT", 0, ["expected a term after NOT"]),
    ("a -", 2, ["expected a term right after '-'"]),
    ("- a", 0, ["expected a term right after '-'"]),
    ('"unclosed', 0, ["unbalanced quotes", "closing"]),
    ('a "b c', 2, ["unbalanced quotes"]),
    ("(a b", 0, ["unbalanced parentheses", "expected ')'"]),
    ("a b)", 3, ["unbalanced parentheses", "no matching '('"]),
    ("()", 0, ["empty parentheses"]),
    ("", 0, ["empty query"]),
    ("   ", 0, ["empty query"]),
    ("foo:bar", 0, ["unknown field 'foo'", "title, body, source, section, author, date"]),
    ("a http://x", 2, ["unknown field 'http'"]),
    ("title: aleppo", 6, ["expected a value right after 'title:'"]),
    ("title:", 6, ["expected a value"]),
    ("date:2016-13-40", 5, ["bad date '2016-13-40'", "month must be in 1..12"]),
    ("date:2016-02-30", 5, ["bad date", "day is out of range for month"]),
    ("date:0000", 5, ["bad date", "year"]),
    ("date:16", 5, ["bad date '16'", "expected a date such as"]),
    ("date:2016-11-01..2016-13-01", 17, ["month must be in 1..12"]),
    ("date:2016-11-30..2016-11-01", 5, ["empty date range", "end is before the start"]),
    ("date:2017..2016", 5, ["empty date range"]),
    ("date:..", 5, ["expected a date before or after '..'"]),
    ("date:last-0d", 5, ["at least 1"]),
    ("date:2016*", 5, ["only works on text fields"]),
    ("section:wor*", 8, ["only works on text fields"]),
    ("section:world^2", 13, ["cannot be boosted"]),
    ("-aleppo^2 x", 7, []),  # boosting a negated word is fine: ^ binds to the word
    ("(-aleppo)^2", 9, ["cannot be boosted"]),
    ("section:-sport", 8, ["goes before the field", "-section:sport"]),
    ('section:"!!"', 8, ["no letters or digits"]),
    ("a^", 1, ["expected a number after '^'"]),
    ("a^0", 1, ["positive"]),
    ("a ^2", 2, ["boost or slop must directly follow"]),
    ("a~2", 1, ["slop", "phrase"]),
    ('"a b"~', 5, ["expected a whole number after '~'"]),
    ('"a b"~999999', 5, ["slop too large"]),
    ('""', 0, ["expected words between the quotes"]),
    ("*", 0, ["expected a word before '*'"]),
    ("oil-price*", 0, ["exactly one word"]),
    ("x\\", 1, ["after '\\'"]),
]


@pytest.mark.parametrize("text, position, words", ERRORS, ids=[e[0] or "empty" for e in ERRORS])
def test_errors_have_position_and_say_what_was_expected(text, position, words):
    if not words:
        parse(text)
        return
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    err = info.value
    assert err.position == position, err.message
    assert err.query == text
    for word in words:
        assert word in err.message
    caret = err.caret().splitlines()
    assert caret[-1].index("^") == position


def test_error_is_a_value_error_with_position_in_str():
    with pytest.raises(ValueError, match=r"at position 7"):
        parse("aleppo AND")


def test_limits():
    with pytest.raises(QuerySyntaxError, match="too long") as info:
        parse("a" * 10_001)
    assert info.value.position == 10_000
    parse("a" * 10_000)
    with pytest.raises(QuerySyntaxError, match="too long"):
        parse("abc", max_length=2)
    with pytest.raises(QuerySyntaxError, match="too many clauses") as info:
        parse("a " * 1025)
    assert info.value.position == 2048
    parse("a " * 1024)
    with pytest.raises(QuerySyntaxError, match="at most 3"):
        parse("a b c d", max_clauses=3)
    deep = "(" * 64 + "a b" + ")" * 64
    parse(deep)
    with pytest.raises(QuerySyntaxError, match="too deeply nested") as info:
        parse("(" + deep + ")")
    assert info.value.position == 64
    with pytest.raises(QuerySyntaxError, match="too deeply nested"):
        parse("(a (b (c d)))", max_depth=2)
    # operator chains nest too: each level here is three groups deep
    with pytest.raises(QuerySyntaxError, match="too deeply nested"):
        parse("(x y OR z AND -" * 30 + "w" + ")" * 30)
    with pytest.raises(ConfigError):
        parse("a", max_depth=10_000)


def test_deepest_accepted_query_can_be_walked():
    from newsindex.analysis import Analyzer
    from newsindex.querylang import compile

    text = "(x OR y AND -" * 33 + "w" + ")" * 33  # 99 nested groups
    node = parse(text, max_depth=100)
    assert parse(str(node), max_depth=100) == node
    assert hash(node) == hash(parse(text, max_depth=100))
    plan = compile(node, analyzers={"body": Analyzer("english")})
    assert plan == compile(node, analyzers={"body": Analyzer("english")})
    repr(node), repr(plan)


def test_very_deep_input_never_hits_recursion_error():
    for text in [
        "(" * 100_000,
        "(" * 5000 + "a" + ")" * 5000,
        "-(" * 3000,
        "NOT " * 3000 + "a",
        "a AND " * 2000 + "b",
        '"' * 9999,
    ]:
        with pytest.raises(QuerySyntaxError):
            parse(text, max_length=1_000_000)
        node, warnings = parse_lenient(text, max_length=1_000_000)
        assert warnings
        str(node)


LENIENT = [
    ("aleppo AND", W("aleppo"), 1),
    ("OR aleppo", W("aleppo"), 1),
    ('"unclosed phrase', B((D, W("unclosed")), (D, W("phrase"))), 1),
    ("(a b", B((D, W("a")), (D, W("b"))), 1),
    ("a b)", B((D, W("a")), (D, W("b"))), 1),
    ("foo:bar", B((D, W("foo")), (D, W("bar"))), 1),
    ("date:2016-13-40", W("2016-13-40"), 1),
    ("section:world^2", FieldFilter("section", "world"), 1),
    (
        "section:-sport",
        B(
            (N, FieldFilter("section", "sport")),
        ),
        1,
    ),
    ("a^ b", B((D, W("a")), (D, W("b"))), 1),
    ("- a", W("a"), 1),
    ("", BoolQ(()), 1),
    ("aleppo", W("aleppo"), 0),
]


@pytest.mark.parametrize("text, expected, n_warnings", LENIENT, ids=[c[0] for c in LENIENT])
def test_lenient_mode_recovers(text, expected, n_warnings):
    node, warnings = parse_lenient(text)
    assert node == expected
    assert len(warnings) == n_warnings
    assert all(isinstance(w, QuerySyntaxError) for w in warnings)
    assert parse(text, lenient=True) == expected


def test_lenient_keeps_position_of_each_warning():
    _, warnings = parse_lenient('a OR "b AND')
    assert sorted(w.position for w in warnings) == [5, 8]


def test_lenient_cuts_long_and_deep_queries():
    node, warnings = parse_lenient("a " * 6000)
    assert "too long" in warnings[0].message
    assert "too many clauses" in warnings[1].message
    assert len(node.clauses) == 1024
    node, warnings = parse_lenient("(" * 70 + "a b" + ")" * 70)
    assert "too deeply nested" in warnings[0].message
    assert node == B((D, W("a")), (D, W("b")))


def test_plain_words():
    text = 'What did "Russia" say (about) Aleppo? AND/OR NOT title:x -- russian-backed ^~*'
    node = plain_words(text)
    words = [c.node.text for c in node.clauses]
    assert words == [
        "What",
        "did",
        "Russia",
        "say",
        "about",
        "Aleppo",
        "AND",
        "OR",
        "NOT",
        "title",
        "x",
        "russian",
        "backed",
    ]
    assert all(c.occur is Occur.DEFAULT for c in node.clauses)
    assert parse(text, syntax="plain") == node
    assert parse(str(node)) == node
    assert plain_words("aleppo") == W("aleppo")
    assert plain_words("?!") == BoolQ(())
    assert len(plain_words("a " * 2000).clauses) == 1024
    with pytest.raises(ConfigError):
        parse("x", syntax="natural")
