"""Every example in docs/query-syntax.md, run on a small corpus with its documented outcome.

The examples are read from the document itself: the queries of the summary block, the rows
of the dates table and every `code` span of the user-facing sections. Each must be checked
below (or listed as a name that is not an example), so an example added to the document
without a test, or a test of an example the document no longer gives, fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import querylang
from newsindex.errors import QuerySyntaxError
from newsindex.querylang import plan as P
from newsindex.schema import day_number

DOC = Path(__file__).resolve().parents[1] / "docs" / "query-syntax.md"
TODAY = dt.date(2016, 11, 9)

STORIES = [
    {
        "id": "battle",
        "title": "Battle for strategic district in Aleppo continues",
        "body": "Syrian regime forces attacked the 1070 Apartments district. The battle for "
        "Aleppo goes on; Aleppo's people wait.",
        "date": "2016-11-09",
        "source": "TRT World",
        "section": "World",
        "author": "John Smith",
    },
    {
        "id": "siege",
        "title": "Aleppo siege tightens",
        "body": "Syria and Russia pressed the siege of Aleppo.",
        "date": "2016-11-20",
        "source": "Reuters",
        "section": "world",
        "author": "Jane Doe",
    },
    {
        "id": "talks",
        "title": "Syria talks",
        "body": "Peace talks in Geneva; Russia attends.",
        "date": "2016-10-05",
        "source": "BBC",
        "section": "Business",
    },
    {
        "id": "economy",
        "title": "Russia economy",
        "body": "Russia's economy grew.",
        "date": "2016-12-01",
        "source": "Reuters",
        "section": "Business",
    },
    {
        "id": "football",
        "title": "Football",
        "body": "The Aleppo football club won; Aleppan fans cheered.",
        "date": "2016-11-05",
        "source": "trt-world",
        "section": "Sport",
    },
    {
        "id": "gas",
        "title": "Gas prices",
        "body": "Natural gas prices rose. Aleppo battle reports at 10:30 GMT.",
        "date": "2015-06-01",
        "source": "Reuters",
        "section": "nat-gas",
    },
    {
        "id": "alpha",
        "title": "Letters",
        "body": "alpha beta gamma delta. U.S. officials, an F-16 and e-mail at AT&T.",
        "source": "BBC",
        "section": "sport",
    },
    {
        "id": "late",
        "title": "Late report",
        "body": "Night news from İstanbul, a café.",
        "date": "2016-11-09T23:30:00-05:00",
    },
]
ALL = {s["id"] for s in STORIES}
ALEPPO = {"battle", "siege", "football", "gas"}


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    index = newsindex.Index.create(tmp_path_factory.mktemp("docs") / "idx")
    with index.writer() as w:
        for s in STORIES:
            w.add(s)
    return index


def ids(ix, query, **options):
    return {h.id for h in ix.search(query, limit=100, today=TODAY, **options).hits}


def plan(ix, query, **options):
    return querylang.compile_query(
        query,
        analyzers={f: ix.analyzer(f) for f in ("title", "body")},
        expand_prefix=ix.expand_prefix,
        today=TODAY,
        **options,
    )


# -- the summary block: query -> the articles it finds ----------------------------------------
FINDS = {
    "aleppo": ALEPPO,
    '"1070 apartments"': {"battle"},
    '"battle for aleppo"~3': {"battle", "gas"},
    "aleppo AND syria": {"siege"},
    "aleppo OR syria": ALEPPO | {"talks"},
    "aleppo NOT russia": {"battle", "football", "gas"},
    "aleppo -russia": {"battle", "football", "gas"},
    "+aleppo syria": ALEPPO,
    "title:aleppo": {"battle", "siege"},
    'body:"1070 apartments"': {"battle"},
    "title:(syria russia)": {"talks", "economy"},
    "section:world": {"battle", "siege"},
    'source:"TRT World"': {"battle", "football"},
    "section:(world OR business)": {"battle", "siege", "talks", "economy"},
    "-section:sport": ALL - {"football", "alpha"},
    "date:2016-11": {"battle", "siege", "football", "late"},
    "date:2016-11-01..2016-11-30": {"battle", "siege", "football", "late"},
    "date:>=2016-11-01": {"battle", "siege", "football", "late", "economy"},
    "date:last-7d": {"battle", "football", "late"},
    "aleppo^2": ALEPPO,
    "title:(syria russia)^1.5": {"talks", "economy"},
    "alep*": ALEPPO,
    "aleppo recency:30d": ALEPPO,
}


def summary_block_queries() -> list[str]:
    block = DOC.read_text(encoding="utf-8").split("```text", 1)[1].split("```", 1)[0]
    queries = []
    for line in block.strip().splitlines():
        pieces = re.split(r"\s{2,}", line.strip())
        if len(pieces) > 1 and pieces[-1] not in FINDS:
            pieces = pieces[:-1]  # the description
        queries += pieces
    return queries


def test_the_summary_block_is_all_checked():
    assert sorted(summary_block_queries()) == sorted(FINDS)


@pytest.mark.parametrize("query", sorted(FINDS))
def test_summary_example_finds_what_it_says(ix, query):
    assert ids(ix, query) == FINDS[query]


def test_summary_claims_about_ranking(ix):
    # "+aleppo syria": must have aleppo, syria ranks higher.
    assert ix.search("+aleppo syria", today=TODAY).hits[0].id == "siege"
    # Boosts multiply the score; filters never change it.
    plain = {h.id: h.score for h in ix.search("aleppo").hits}
    boosted = {h.id: h.score for h in ix.search("aleppo^2").hits}
    assert boosted == pytest.approx({k: 2 * v for k, v in plain.items()})
    title = {h.id: h.score for h in ix.search("title:(syria russia)").hits}
    assert {h.id: h.score for h in ix.search("title:(syria russia)^1.5").hits} == pytest.approx(
        {k: 1.5 * v for k, v in title.items()}
    )
    filtered = {h.id: h.score for h in ix.search("aleppo section:world").hits}
    assert filtered == pytest.approx({k: plain[k] for k in ("battle", "siege")})


# -- the dates table: value -> (first day, last day), today being 2016-11-09 --------------------
D = dt.date
DAYS = {
    "date:2016": (D(2016, 1, 1), D(2016, 12, 31)),
    "date:2016-11": (D(2016, 11, 1), D(2016, 11, 30)),
    "date:2016-11-09": (D(2016, 11, 9), D(2016, 11, 9)),
    "date:2016-11-01..2016-11-30": (D(2016, 11, 1), D(2016, 11, 30)),
    "date:2016-01..2016-03": (D(2016, 1, 1), D(2016, 3, 31)),
    "date:2016-11-09..": (D(2016, 11, 9), None),
    "date:..2016-11-09": (None, D(2016, 11, 9)),
    "date:>=2016-11-01": (D(2016, 11, 1), None),
    "date:>2016-11": (D(2016, 12, 1), None),
    "date:<2017": (None, D(2016, 12, 31)),
    "date:<=2016-11": (None, D(2016, 11, 30)),
    "date:today": (TODAY, TODAY),
    "date:yesterday": (D(2016, 11, 8), D(2016, 11, 8)),
    "date:last-7d": (D(2016, 11, 3), TODAY),
    "date:last-2w": (D(2016, 10, 27), TODAY),
    "date:last-3m": (D(2016, 8, 10), TODAY),
    "date:last-1y": (D(2015, 11, 10), TODAY),
}


def dates_table() -> dict[str, str]:
    section = DOC.read_text(encoding="utf-8").split("### Dates", 1)[1].split("Dates are", 1)[0]
    rows = re.findall(r"^\| `([^`]+)`(?:, `([^`]+)`)? *\| (.*?) *\|$", section, re.M)
    out = {}
    for first, second, meaning in rows:
        for value in filter(None, (first, second)):
            out[value] = meaning
    return out


def test_the_dates_table_is_all_checked():
    assert sorted(dates_table()) == sorted(DAYS)


@pytest.mark.parametrize("value", sorted(DAYS))
def test_dates_table_row(ix, value):
    start, end = DAYS[value]
    got = plan(ix, value)
    assert isinstance(got, P.Bool) and len(got.filter) == 1
    assert got.filter[0] == P.DateRange(
        None if start is None else day_number(start), None if end is None else day_number(end)
    )
    # Where the table spells the days out, they are these.
    meaning = dates_table()[value]
    spelled = re.findall(r"\d{4}-\d\d-\d\d", meaning)
    if ".." in meaning and len(spelled) == 2:
        assert [start.isoformat(), end.isoformat()] == spelled
    elif meaning.startswith("from ") and spelled:
        assert start.isoformat() == spelled[0] and end is None
    elif meaning.startswith("up to ") and spelled:
        assert end.isoformat() == spelled[0] and start is None


day_strings = st.dates(D(2015, 1, 1), D(2017, 12, 31)).map(dt.date.isoformat) | st.sampled_from(
    ["2016", "2016-11", "2015-06", "today", "last-7d"]
)
date_specs = st.one_of(
    day_strings,
    st.tuples(st.sampled_from([">", ">=", "<", "<="]), day_strings).map("".join),
    st.tuples(day_strings, st.just("..")).map("".join),
    st.tuples(st.just(".."), day_strings).map("".join),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(date_specs)
def test_a_date_filter_and_its_negation_split_the_index(ix, spec):
    """Undated articles match no date filter, open or closed; the negation is the rest."""
    try:
        inside = ids(ix, f"date:{spec}")
    except QuerySyntaxError:
        return  # an empty range, reported as such
    assert "alpha" not in inside
    assert ids(ix, f"-date:{spec}") == ALL - inside
    dated = {s["id"] for s in STORIES if s.get("date")}
    assert ids(ix, f"date:{spec} OR -date:{spec}") == ALL and inside <= dated


# -- every other example of the user-facing sections ------------------------------------------
def same(ix, a, b, **options):
    assert plan(ix, a, **options) == plan(ix, b, **options), (a, b)


def fails(ix, query, message):
    with pytest.raises(QuerySyntaxError) as info:
        plan(ix, query)
    assert message in str(info.value), query


def term(t):
    return P.Term(t, ("title", "body"))


def phrase(*terms):
    return P.Phrase(terms, tuple(range(len(terms))), ("title", "body"))


def check_words(ix):
    assert plan(ix, "aleppo") == term("aleppo")
    assert plan(ix, "russian-backed") == phrase("russian", "back")
    assert plan(ix, "10:30") == phrase("10", "30")
    assert plan(ix, "o'brien") == term("o'brien")
    same(ix, "Aleppo's", "aleppo")
    same(ix, "the", "of")
    assert plan(ix, "the") == P.MatchNone() and plan(ix, "the aleppo") == term("aleppo")
    assert ids(ix, "the") == set() and ix.search("the").warnings
    assert ids(ix, "U S") == set() and ix.search("U S").warnings


def check_acronyms(ix):
    for query, terms in [
        ("U.S.", ("us",)),
        ("US", ("us",)),
        ("U.K.", ("uk",)),
        ("I.B.M.", ("ibm",)),
        ("F-16", ("f16",)),
        ("F16", ("f16",)),
        ("e-mail", ("email",)),
        ("X-ray", ("xray",)),
        ("AT&T", ("att",)),
        ("S&P", ("sp",)),
        ("İstanbul", ("istanbul",)),
        ("café", ("cafe",)),
        ("Russian-backed", ("russian", "back")),
        ("COVID-19", ("covid", "19")),
        ("U.S.-led", ("us", "led")),
    ]:
        assert plan(ix, query) == (term(terms[0]) if len(terms) == 1 else phrase(*terms)), query
    for query in ("U.S.", "US", "F-16", "F16", "e-mail", "AT&T"):
        assert ids(ix, query) == {"alpha"}, query
    assert ids(ix, "istanbul") == ids(ix, "café") == {"late"}
    # Under tokenizer version 1 (older indexes), U.S. and F-16 lose their letters.
    old = {f: newsindex.Analyzer(newsindex.AnalyzerSpec(tokenizer=1)) for f in ("title", "body")}
    assert querylang.compile_query("U.S.", analyzers=old) == P.MatchNone()
    assert querylang.compile_query("F-16", analyzers=old) == term("16")


def check_phrases(ix):
    assert ids(ix, '"battle of aleppo"') == {"battle"}  # "battle for Aleppo", not "Aleppo battle"
    assert "battle" in ids(ix, '"battle aleppo"~1')
    assert "battle" in ids(ix, '"aleppo battle"~3')
    assert ids(ix, '"alpha gamma delta"~1') == {"alpha"}
    assert ids(ix, '"alpha gamma delta"') == set()
    # Each word of a phrase needs a position of its own: "battle" has Aleppo twice, 3 apart.
    assert ids(ix, '"aleppo aleppo"~1') == set()
    assert ids(ix, '"aleppo aleppo"~2') == {"battle"}
    for slop in ("~0", "~10000"):
        querylang.parse(f'"a b"{slop}')
    fails(ix, '"a b"~10001', "slop too large")


def check_escapes(ix):
    for text, word in [(r"\AND", "AND"), (r"10\:30", "10:30"), (r"\-5", "-5"), (r"a\ b", "a b")]:
        assert querylang.parse(text) == querylang.Word(word), text
    assert querylang.parse(r'"say \"no\" \\ now"') == querylang.PhraseQ('say "no" \\ now')
    assert querylang.parse("aleppo and syria").clauses[1].node == querylang.Word("and")
    same(ix, "aleppo and syria", "aleppo syria")


def check_operators(ix):
    same(ix, "a b OR c AND d", "a (b OR (c AND d))")
    same(ix, "-a AND b", "(NOT a) AND b")
    assert querylang.parse("-syria") != querylang.parse("syria")
    fails(ix, "- syria", "expected a term right after '-'")
    assert ids(ix, "aleppo OR -syria") == ALEPPO | (ALL - {"siege", "talks"})
    assert ids(ix, "aleppo syria", default_operator="and") == {"siege"}
    assert ids(ix, "aleppo OR syria", default_operator="and") == ALEPPO | {"talks"}
    same(ix, "aleppo syria", "aleppo OR syria")
    same(ix, "aleppo syria", "aleppo AND syria", default_operator="and")
    assert ids(ix, "a") == set()  # a stop word: matches nothing, with a warning


def check_fields(ix):
    assert ids(ix, "title:aleppo") == {"battle", "siege"}
    fails(ix, "title: aleppo", "expected a value right after 'title:'")
    fails(ix, "foo:bar", "unknown field 'foo'")
    assert plan(ix, r"foo\:bar") == phrase("foo", "bar")
    same(ix, "title:(syria russia)", "title:syria title:russia")
    same(ix, "title:(syria body:russia)", "title:syria body:russia")
    same(ix, "TITLE:aleppo", "title:aleppo")


def check_filters(ix):
    assert ids(ix, "author:smith") == {"battle"}  # "John Smith"
    for value in ('"TRT World"', "trt-world", "trtworld"):
        assert ids(ix, f"source:{value}") == {"battle", "football"}, value
    assert ids(ix, "section:gas") == set() and ids(ix, "section:nat-gas") == {"gas"}
    same(ix, "section:(world business)", "section:(world OR business)")
    same(ix, "-section:sport", "NOT section:sport")
    fails(ix, "section:-sport", "'-' goes before the field")
    assert ids(ix, "aleppo syria section:world") == {"battle", "siege"}
    assert ids(ix, "aleppo OR section:world") == ALEPPO
    assert ids(ix, "section:world date:2016-11") == {"battle", "siege"}
    # Facets count by the filters' keys: "World" and "world" are one section.
    facets = ix.search("aleppo OR syria", facets=True).facets
    (shown, count), *_ = [(v, c) for v, c in facets.sections if v.lower() == "world"]
    assert count == 2 == ix.count(f'(aleppo OR syria) section:"{shown}"')
    assert ids(ix, 'section:"World"') == {"battle", "siege"}
    fails(ix, "section:world^2", "cannot be boosted")
    fails(ix, "section:wor*", "only works on text fields")
    fails(ix, "section:world~2", "only applies to a")


def check_dates(ix):
    assert plan(ix, "date:last-7d..yesterday") == P.Bool(
        filter=(P.DateRange(day_number(D(2016, 11, 3)), day_number(D(2016, 11, 8))),)
    )
    fails(ix, "date:2016-13-40", "bad date '2016-13-40': month must be in 1..12")
    fails(ix, "date:2016-11-30..2016-11-01", "empty date range: the end is before the start")
    same(ix, 'date:"2016-11-01 .. 2016-11-30"', "date:2016-11-01..2016-11-30")
    same(ix, "DATE:2016-11", "date:2016-11")


def check_days_and_undated(ix):
    # The day of 2016-11-09T23:30:00-05:00 is the 9th, as written (the 10th in UTC).
    assert "late" in ids(ix, "date:2016-11-09") and "late" not in ids(ix, "date:2016-11-10")
    assert ix.get("late").date.utcoffset() == dt.timedelta(hours=-5)
    # Undated articles match no date filter; a negated one keeps them.
    assert "alpha" not in ids(ix, "date:<2017") | ids(ix, "date:2016..") | ids(ix, "date:>=2017")
    assert "alpha" in ids(ix, "-date:<2017")
    for value in ("date:<2017", "date:2016..", "date:>=2017", "date:2016-11-09"):
        assert ix.count(value, today=TODAY) + ix.count(f"-{value}", today=TODAY) == len(ALL)
    facets = ix.search("-section:business", facets=True).facets
    assert facets.undated == 1
    # Relevance ties: newest first; an undated article is older than every dated one.
    ties = [h.id for h in ix.search("section:world OR section:sport").hits]
    assert ties == ["siege", "battle", "football", "alpha"]
    assert [h.id for h in ix.search("-section:business", sort="date", limit=100).hits][-1] == (
        "alpha"
    )
    assert ix.search("-section:business", sort="oldest").hits[0].id == "alpha"


def check_boosts_and_prefixes(ix):
    for query, boost in [
        ("aleppo^2", 2),
        ('"a phrase"^3', 3),
        ("title:aleppo^0.5", 0.5),
    ]:
        assert plan(ix, query).boost == boost, query
    assert plan(ix, "(syria russia)^1.5") == P.Bool(
        should=(term("syria"), term("russia")), boost=1.5
    )
    assert plan(ix, "title:(syria russia)^1.5").boost == 1.5
    same(ix, "(aleppo^2)^3", "aleppo^6")
    prefix = plan(ix, "alep*")
    assert isinstance(prefix, P.Prefix) and prefix.terms == ("aleppan", "aleppo")
    assert {h.score for h in ix.search("alep*").hits} == {1.0}  # a constant score
    assert {h.score for h in ix.search("alep*^2").hits} == {2.0}
    # A prefix matching no term matches nothing, beside a negation too, as an unknown word.
    assert ids(ix, "-oil") and ids(ix, "zz* -oil") == ids(ix, "qwzx -oil") == set()
    fails(ix, "aleppo^10001", "10,000")
    same(ix, "co* co* co*", "co*^3")
    why = str(ix.explain("co*", "battle"))
    assert re.search(r"prefix 'co\*' \(\d+ terms?\): a constant score, its boost", why)
    fails(ix, "oil-price*", "exactly one word")


def check_plain_words(ix):
    query = 'What did Russia say about "Aleppo" AND/OR the U.S.?'
    res = ix.search(query, syntax="plain")
    assert {h.id for h in res.hits} == ALEPPO | {"siege", "talks", "economy", "alpha"}
    assert ix.search("russian-backed", syntax="plain").total == 0  # two words: russian, back
    assert ix.search("", syntax="plain").warnings


def check_errors(ix):
    with pytest.raises(QuerySyntaxError) as info:
        plan(ix, "aleppo AND")
    assert info.value.caret() == "aleppo AND\n       ^ expected a term after AND"
    fails(ix, "OR x", "expected a term before OR")
    with pytest.raises(QuerySyntaxError, match="empty query"):
        ix.search("")
    with pytest.raises(QuerySyntaxError, match="too long"):
        ix.search("a" * 10_001)
    with pytest.raises(QuerySyntaxError):
        ix.search(" ".join(["x"] * 1025))
    with pytest.raises(QuerySyntaxError):
        ix.search("(" * 65 + "x" + ")" * 65)
    node, warnings = querylang.parse_lenient('aleppo "unclosed')
    assert warnings and node is not None


def check_did_you_mean(ix):
    import contextlib
    import io

    from newsindex.cli import main

    res = ix.search("aleppo seige date:2016 -section:sport")
    assert res.suggestion == "aleppo siege date:2016 -section:sport"
    assert [h.id for h in res.hits] == [
        h.id for h in ix.search("aleppo date:2016 -section:sport").hits
    ]
    assert ix.search("aleppo siege").suggestion is None
    kept = "seige section:wrld source:reuters author:smth date:2016 alep* -opec*"
    assert ix.search(kept).suggestion == kept.replace("seige", "siege", 1)
    assert ix.search("Seige").suggestion == "Siege"
    assert ix.search("Istanbol").suggestion == "Istanbul"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["search", str(ix.path), "aleppo seige"]) == 0
    assert "newsindex: did you mean: aleppo siege?" in err.getvalue()


def check_recency_clause(ix):
    for half_life in ("30d", "2w", "6m", "1y", "1.5w"):
        typed = ix.search(f"aleppo siege recency:{half_life}", today=TODAY)
        asked = ix.search("aleppo siege", recency=half_life, today=TODAY)
        assert [(h.id, h.score) for h in typed.hits] == [(h.id, h.score) for h in asked.hits]
    assert ix.count("aleppo recency:30d") == ix.count("aleppo")
    for bad in (
        "(aleppo recency:30d)",
        "title:(aleppo recency:30d)",
        "aleppo OR recency:30d",
        "-recency:30d",
        "+recency:30d",
        "NOT recency:30d",
        "aleppo recency:30d recency:1y",
        "recency:3x",
        "recency:0d",
        "recency:",
    ):
        with pytest.raises(QuerySyntaxError):
            ix.search(bad if bad.startswith(("(", "aleppo", "title")) else f"aleppo {bad}")
    with pytest.raises(QuerySyntaxError):
        ix.search("recency:30d")
    ix.search("aleppo recency:30d", recency="30d")  # the same half-life: accepted
    with pytest.raises(newsindex.ConfigError, match="recency is given twice"):
        ix.search("aleppo recency:30d", recency="1y")
    node, warnings = querylang.parse_lenient("(aleppo recency:30d)")
    assert warnings and "recency" not in str(node)


CHECKS = {
    "recency clause": check_recency_clause,
    "did you mean": check_did_you_mean,
    "words": check_words,
    "acronyms": check_acronyms,
    "phrases": check_phrases,
    "escapes": check_escapes,
    "operators": check_operators,
    "fields": check_fields,
    "filters": check_filters,
    "dates": check_dates,
    "days": check_days_and_undated,
    "boosts": check_boosts_and_prefixes,
    "plain": check_plain_words,
    "errors": check_errors,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_prose_examples(ix, name):
    CHECKS[name](ix)


# Code spans of the user-facing sections that are names, not examples to run.
NAMES = """title body source section author date AND OR NOT and or not ~0 ~10000 \\" \\\\
    ( ) + - today yesterday last-N d w m y YYYY YYYY-MM YYYY-MM-DD us uk ibm f16 email xray att sp
    istanbul cafe tokenizer syntax="plain" syntax="query" default_operator="or" "and"
    default_operator="and" newsindex.errors.QuerySyntaxError message query position
    err.caret() parse_lenient parse(text, lenient=True) Results.warnings "..."~N ^~*+- "or"
    word^2 "a phrase"^3 a b a OR b a AND b NOT a -a +a ( ... ) field:( ... ) a (b OR (c AND d))
    (NOT a) AND b alep aleppo's sort= "relevance" "date" "oldest" undated 1 2
    2016-11-09T23:30:00-05:00 date:X -date:X""".split()
NAMES += ["a b", "a OR b", "a AND b", "NOT a", "( ... )", "field:( ... )", "a (b OR (c AND d))"]
NAMES += ["(NOT a) AND b", "U S", "a OR -b", "- syria", "-syria", "10\\:30", "a\\ b", "\\AND"]
NAMES += ["author:", "search(..., facets=True)", "co...", "explain"]
NAMES += ["prefix 'co*' (N terms): a constant score, its boost", "co*"]
NAMES += ["(co* x) (co* y) ...", "Index.expansion_limit", "Index.prefix_limit"]
NAMES += ["QuerySyntaxError", "QueryTooExpensiveError"]
NAMES += ['"', "ValueError", "^", "~", "name:", "parse", "parse(text, lenient=True)", "u", "s"]
NAMES += ["Results.suggestion", "suggestion", "None", '"suggestion"', "--json"]
NAMES += ["section:", "source:", "date:", "opec*"]  # kept as typed: see check_did_you_mean
NAMES += ["goverment", "government", "governent"]  # test_suggest.test_spellings_of_one_term
NAMES += ["recency:", "30d", "2w", "6m", "1y", "1.5w", "0.5 ** (age / half-life)", "count"]
NAMES += ['search(..., recency="30d")', 'search("aleppo siege", recency="2w")', "ConfigError"]
NAMES += ["aleppo siege recency:2w", "recency=", "--recency", ":recency", "AND", "OR"]


def doc_spans() -> list[str]:
    text = DOC.read_text(encoding="utf-8").split("## Python API", 1)[0]
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"`([^`\n]+)`", text)


def covered() -> set[str]:
    import inspect

    source = inspect.getsource(inspect.getmodule(covered))
    return set(re.findall(r"'([^'\n]+)'", source)) | set(re.findall(r'"([^"\n]+)"', source))


def test_every_code_span_of_the_document_is_checked_or_a_name():
    known = covered() | set(NAMES) | set(FINDS) | set(DAYS)
    missing = sorted({s for s in doc_spans() if s not in known and s.strip("`") not in known})
    assert missing == []
