"""Compiling query ASTs to plan nodes with a real English analyzer, and date resolution."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsindex.analysis import Analyzer, AnalyzerSpec
from newsindex.errors import ConfigError, QuerySyntaxError
from newsindex.querylang import BoolQ, Clause, Occur, Word, compile, compile_query, parse
from newsindex.querylang.dates import resolve
from newsindex.querylang.plan import Bool, DateRange, Keyword, MatchNone, Phrase, Prefix, Term
from newsindex.schema import day_number

EN = Analyzer("english")
ANALYZERS = {"title": EN, "body": EN}
TODAY = dt.date(2016, 11, 9)
TB = ("title", "body")


def expand(prefix: str, fields: tuple[str, ...]) -> list[str]:
    vocabulary = ["aleppo", "alepp", "alert", "syria", "syrian"]
    return [t for t in vocabulary if t.startswith(prefix)]


def run(text: str, **options) -> object:
    options = {"analyzers": ANALYZERS, "today": TODAY, "expand_prefix": expand, **options}
    return compile(parse(text), query=text, **options)


def day(text: str) -> int:
    return day_number(dt.date.fromisoformat(text))


def K(field: str, *keys: str) -> Keyword:
    return Keyword(field, frozenset(keys))


CASES = [
    ("aleppo", Term("aleppo")),
    ("Aleppo's", Term("aleppo")),
    ("aleppo syria", Bool(should=(Term("aleppo"), Term("syria")))),
    ("aleppo aleppo syria", Bool(should=(Term("aleppo"), Term("aleppo"), Term("syria")))),
    ("aleppo AND syria", Bool(must=(Term("aleppo"), Term("syria")))),
    (
        "+aleppo -syria russia",
        Bool(must=(Term("aleppo"),), should=(Term("russia"),), must_not=(Term("syria"),)),
    ),
    ("title:aleppo", Term("aleppo", ("title",))),
    ("title:(syria russia)", Bool(should=(Term("syria", ("title",)), Term("russia", ("title",))))),
    (
        "title:(syria russia)^1.5",
        Bool(should=(Term("syria", ("title",)), Term("russia", ("title",))), boost=1.5),
    ),
    ("aleppo^2", Term("aleppo", TB, 2.0)),
    ("(aleppo)^2", Term("aleppo", TB, 2.0)),
    ("(aleppo^2 syria)^3", Bool(should=(Term("aleppo", TB, 2.0), Term("syria")), boost=3.0)),
    # phrases keep stop-word gaps relative to the first kept term
    ('"1070 apartments"', Phrase(("1070", "apart"), (0, 1))),
    ('body:"1070 apartments"', Phrase(("1070", "apart"), (0, 1), ("body",))),
    ('"the battle of aleppo"', Phrase(("battl", "aleppo"), (0, 2))),
    ('"battle for aleppo"~3^2', Phrase(("battl", "aleppo"), (0, 2), TB, 3, 2.0)),
    ('"aleppo"', Term("aleppo")),
    # a word that splits into several terms is a phrase
    ("russian-backed", Phrase(("russian", "back"), (0, 1))),
    ("title:russian-backed^2", Phrase(("russian", "back"), (0, 1), ("title",), 0, 2.0)),
    # stop words are dropped, also from MUST clauses
    ("the aleppo", Term("aleppo")),
    ("+the +aleppo", Term("aleppo")),
    ("the AND aleppo AND syria", Bool(must=(Term("aleppo"), Term("syria")))),
    ("aleppo -the", Term("aleppo")),
    ('"the of"', MatchNone()),
    ("the", MatchNone()),
    # prefixes
    ("alep*", Prefix("alep", ("aleppo", "alepp"))),
    ("syrian*", Prefix("syrian", ("syrian",))),
    ("title:syrian*^2", Prefix("syrian", ("syrian",), ("title",), 2.0)),
    ("zzz*", MatchNone()),
    ("aleppo zzz*", Term("aleppo")),
    ("aleppo +zzz*", MatchNone()),
    # alternatives that match no term leave nothing to match, not a bare negation
    ("zzz* -aleppo", MatchNone()),
    ("(zzz* OR yyy*) -aleppo", MatchNone()),
    ("the zzz* -aleppo", MatchNone()),
    # filters
    ("section:world", Bool(filter=(K("section", "world"),))),
    ('source:"TRT World"', Bool(filter=(K("source", "trtworld"),))),
    ("source:trt-world", Bool(filter=(K("source", "trtworld"),))),
    ("section:(world OR business)", Bool(filter=(K("section", "world", "business"),))),
    ("section:(world business)", Bool(filter=(K("section", "world", "business"),))),
    (
        "section:world OR author:smith",
        Bool(
            filter=(
                Bool(
                    should=(
                        Bool(filter=(K("section", "world"),)),
                        Bool(filter=(K("author", "smith"),)),
                    )
                ),
            )
        ),
    ),
    ("aleppo section:world", Bool(must=(Term("aleppo"),), filter=(K("section", "world"),))),
    (
        "aleppo syria section:world date:2016",
        Bool(
            must=(Bool(should=(Term("aleppo"), Term("syria"))),),
            filter=(K("section", "world"), DateRange(day("2016-01-01"), day("2016-12-31"))),
        ),
    ),
    (
        "+aleppo syria section:world",
        Bool(must=(Term("aleppo"),), should=(Term("syria"),), filter=(K("section", "world"),)),
    ),
    (
        "aleppo OR section:world",
        Bool(should=(Term("aleppo"), Bool(filter=(K("section", "world"),)))),
    ),
    ("the section:world", Bool(filter=(K("section", "world"),))),
    # negation
    ("-section:sport", Bool(must_not=(K("section", "sport"),))),
    ("-section:sport -section:opinion", Bool(must_not=(K("section", "sport", "opinion"),))),
    ("NOT aleppo", Bool(must_not=(Term("aleppo"),))),
    ("aleppo -section:sport", Bool(should=(Term("aleppo"),), must_not=(K("section", "sport"),))),
    ("-aleppo section:world", Bool(filter=(K("section", "world"),), must_not=(Term("aleppo"),))),
    ("syria OR -aleppo", Bool(should=(Term("syria"), Bool(must_not=(Term("aleppo"),))))),
    # dates
    ("date:2016-11-09", Bool(filter=(DateRange(day("2016-11-09"), day("2016-11-09")),))),
    ("date:2016-11", Bool(filter=(DateRange(day("2016-11-01"), day("2016-11-30")),))),
    (
        "date:2016-11-01..2016-11-30",
        Bool(filter=(DateRange(day("2016-11-01"), day("2016-11-30")),)),
    ),
    ("date:2016-01..2016-03", Bool(filter=(DateRange(day("2016-01-01"), day("2016-03-31")),))),
    ("date:>=2016-11-01", Bool(filter=(DateRange(day("2016-11-01"), None),))),
    ("date:>2016-11-01", Bool(filter=(DateRange(day("2016-11-02"), None),))),
    ("date:>2016-11", Bool(filter=(DateRange(day("2016-12-01"), None),))),
    ("date:<2017", Bool(filter=(DateRange(None, day("2016-12-31")),))),
    ("date:<=2016-11", Bool(filter=(DateRange(None, day("2016-11-30")),))),
    ("date:..2016-11-09", Bool(filter=(DateRange(None, day("2016-11-09")),))),
    ("date:2016-11-09..", Bool(filter=(DateRange(day("2016-11-09"), None),))),
    ("-date:2016", Bool(must_not=(DateRange(day("2016-01-01"), day("2016-12-31")),))),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0] for c in CASES])
def test_compiles_to_expected_plan(text, expected):
    assert run(text) == expected


def test_default_operator_and():
    assert run("aleppo syria", default_operator="and") == Bool(must=(Term("aleppo"), Term("syria")))
    assert run("aleppo the syria", default_operator="and") == Bool(
        must=(Term("aleppo"), Term("syria"))
    )
    assert run("aleppo OR syria", default_operator="and") == Bool(
        should=(Term("aleppo"), Term("syria"))
    )
    assert run("aleppo section:world", default_operator="and") == Bool(
        must=(Term("aleppo"),), filter=(K("section", "world"),)
    )
    assert run("aleppo zzz*", default_operator="and") == MatchNone()
    # resolving at parse time gives the same plan
    ast = parse("a1 b2 section:world", default_operator="and")
    assert compile(ast, analyzers=ANALYZERS) == run("a1 b2 section:world", default_operator="and")


@pytest.mark.parametrize(
    "spec, start, end",
    [
        ("today", "2016-11-09", "2016-11-09"),
        ("yesterday", "2016-11-08", "2016-11-08"),
        ("last-1d", "2016-11-09", "2016-11-09"),
        ("last-7d", "2016-11-03", "2016-11-09"),
        ("last-2w", "2016-10-27", "2016-11-09"),
        ("last-1m", "2016-10-10", "2016-11-09"),
        ("last-3m", "2016-08-10", "2016-11-09"),
        ("last-1y", "2015-11-10", "2016-11-09"),
        ("last-7d..yesterday", "2016-11-03", "2016-11-08"),
        (">=yesterday", "2016-11-08", None),
        (">today", "2016-11-10", None),
        ("<today", None, "2016-11-08"),
    ],
)
def test_relative_dates_use_the_injected_today(spec, start, end):
    expected = DateRange(start and day(start), end and day(end))
    assert run(f"date:{spec}") == Bool(filter=(expected,))


def test_relative_months_clamp_to_month_end():
    assert resolve("last-1m", dt.date(2016, 3, 31)) == (day("2016-03-01"), day("2016-03-31"))
    assert resolve("last-1y", dt.date(2016, 2, 29)) == (day("2015-03-01"), day("2016-02-29"))
    assert resolve("last-999999y", TODAY) == (None, day("2016-11-09"))


def test_today_defaults_to_the_system_date():
    before = day_number(dt.date.today())
    plan = compile(parse("date:today"), analyzers=ANALYZERS)
    after = day_number(dt.date.today())
    (date_range,) = plan.filter
    assert date_range.start == date_range.end and before <= date_range.start <= after


def test_empty_relative_range_is_an_error_at_compile_time():
    with pytest.raises(QuerySyntaxError, match="empty date range") as info:
        run("aleppo date:today..yesterday")
    assert info.value.position == 7


def test_prefix_errors():
    with pytest.raises(QuerySyntaxError, match="matches too many terms") as info:
        run("aleppo al*", prefix_limit=2)
    assert info.value.position == 7
    assert "al*" in info.value.message
    run("aleppo alep*", prefix_limit=2)
    with pytest.raises(QuerySyntaxError, match="need an index"):
        compile(parse("alep*"), analyzers=ANALYZERS)
    seen = []
    compile(
        parse("title:Äle*"),
        analyzers=ANALYZERS,
        expand_prefix=lambda p, f: seen.append((p, f)) or [],
    )
    assert seen == [("ale", ("title",))]
    with pytest.raises(QuerySyntaxError, match="exactly one word"):
        compile(Word("oil-price", prefix=True), analyzers=ANALYZERS, expand_prefix=expand)
    # "U.S." is one word since tokenizer version 2 (its prefix is "us"), two before.
    seen.clear()
    compile(
        Word("U.S", prefix=True),
        analyzers=ANALYZERS,
        expand_prefix=lambda p, f: seen.append(p) or [],
    )
    assert seen == ["us"]
    old = {
        "title": Analyzer(AnalyzerSpec(tokenizer=1)),
        "body": Analyzer(AnalyzerSpec(tokenizer=1)),
    }
    with pytest.raises(QuerySyntaxError, match="exactly one word"):
        compile(Word("u.s", prefix=True), analyzers=old, expand_prefix=expand)


def test_hand_built_ast_and_options():
    ast = BoolQ((Clause(Occur.MUST, Word("aleppo")), Clause(Occur.SHOULD, Word("syria"))))
    assert compile(ast, analyzers=ANALYZERS) == Bool(
        must=(Term("aleppo"),), should=(Term("syria"),)
    )
    assert compile(BoolQ(()), analyzers=ANALYZERS) == MatchNone()
    with pytest.raises(ConfigError):
        compile(ast, analyzers=ANALYZERS, default_operator="xor")
    with pytest.raises(ConfigError):
        compile(ast, analyzers={"title": EN})


def test_per_field_analyzers():
    simple = Analyzer("simple")
    plan = compile(
        parse("title:running body:running running"), analyzers={"title": simple, "body": EN}
    )
    assert plan == Bool(should=(Term("running", ("title",)), Term("run", ("body",)), Term("run")))


def test_compile_query_is_parse_then_compile():
    text = 'title:aleppo "1070 apartments" section:world date:last-7d'
    assert compile_query(text, analyzers=ANALYZERS, today=TODAY) == run(text)
    question = 'What did Russia say about "Aleppo" AND the U.S.?'
    plain = compile_query(question, syntax="plain", analyzers=ANALYZERS)
    assert plain == Bool(
        should=tuple(Term(t) for t in ["what", "did", "russia", "say", "about", "aleppo", "us"])
    )
    # Tokenizer version 1 gives "U.S." as the one-letter terms u and s, which english drops.
    old = {
        "title": Analyzer(AnalyzerSpec(tokenizer=1)),
        "body": Analyzer(AnalyzerSpec(tokenizer=1)),
    }
    assert compile_query(question, syntax="plain", analyzers=old) == Bool(
        should=tuple(Term(t) for t in ["what", "did", "russia", "say", "about", "aleppo"])
    )
    with pytest.raises(QuerySyntaxError):
        compile_query("aleppo AND", analyzers=ANALYZERS)
    assert compile_query("aleppo AND", lenient=True, analyzers=ANALYZERS) == Term("aleppo")


_digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=5)
_day_like = st.one_of(
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(lambda d: d.isoformat()),
    st.builds(lambda y, m, d: f"{y}-{m}-{d}", _digits, _digits, _digits),
    st.sampled_from(["", "2016", "2016-02", "today", "1987-02-29", "0000-01-01", "１９８７-01-01"]),
)
_range_like = st.one_of(
    st.builds(lambda a, b: f"{a}..{b}", _day_like, _day_like),
    _day_like,
    st.builds(lambda op, a: op + a, st.sampled_from([">", ">=", "<", "<=", "..."]), _day_like),
)


@settings(max_examples=500, deadline=None)
@given(spec=_range_like, today=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
def test_resolve_equals_the_parsed_spec(spec, today):
    """``resolve`` reads plain day ranges without the DateSpec parser: same days, same errors."""
    from newsindex.querylang.dates import DateSpecError, parse_spec

    try:
        expected = parse_spec(spec).resolve(today)
    except DateSpecError:
        with pytest.raises(DateSpecError):
            resolve(spec, today)
    else:
        assert resolve(spec, today) == expected
