"""The query language run by the engine: known answers, and a differential check of the
vectorized executor against a plain-Python evaluation over the stored articles."""

import datetime as dt
from pathlib import Path

import pytest
from conftest import load_sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import QuerySyntaxError
from newsindex.ingest import iter_records
from newsindex.schema import keyword_matches, normalize_keyword

SEED_FILE = Path(__file__).resolve().parents[1] / "seeds" / "000_bd656d18b2dd3dcd.txt"
TODAY = dt.date(2016, 11, 12)


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    index = newsindex.Index.create(tmp_path_factory.mktemp("q") / "idx")
    with index.writer() as w:
        for rec in iter_records([SEED_FILE]):
            w.add(rec.article)
        for d in load_sample(300):
            w.add(d)
    return index


def ids(ix, q, **kw):
    return {h.id for h in ix.search(q, limit=10_000, today=TODAY, **kw).hits}


@pytest.fixture(scope="module")
def seed_id(ix):
    hits = ix.search("title:aleppo").hits
    assert len(hits) == 1
    return hits[0].id


@pytest.mark.parametrize(
    "query",
    [
        "aleppo date:2016-11 section:world",
        '"1070 apartments"',
        "source:trtworld",
        'source:"TRT World" aleppo',
        "title:aleppo",
        'body:"1070 apartments"',
        "aleppo date:2016-11-01..2016-11-30",
        "aleppo date:>=2016-11-09",
        "aleppo date:..2016-11-09",
        "aleppo date:last-7d",
        'author:"staff reporter"',
        "author:staff",
        "aleppo AND (rebels OR regime) -sport",
        '"battle aleppo"~4',
        'title:"aleppo continues"',
        '"syrian regime forces are claiming"',
        "alepp*",
        "section:(world OR business)",
        "-section:sport aleppo",
    ],
)
def test_the_seed_matches(ix, seed_id, query):
    assert seed_id in ids(ix, query)


@pytest.mark.parametrize(
    "query",
    [
        "aleppo -section:world",
        "aleppo date:2017",
        "aleppo date:<2016-11-09",
        "aleppo date:last-1d",
        '"apartments 1070"',
        '"aleppo continues syrian regime"',  # title end + body start: phrases never cross fields
        "title:apartments",
        "source:reuters aleppo",
        "aleppo AND NOT rebels",
    ],
)
def test_the_seed_does_not_match(ix, seed_id, query):
    assert seed_id not in ids(ix, query)


def test_a_filter_alone_lists_newest_first(ix):
    res = ix.search("section:crude", limit=50)
    assert res.total > 3
    assert all(h.article.section == "crude" for h in res.hits)
    days = [h.date_day for h in res.hits]
    assert days == sorted(days, reverse=True)


def test_sections_match_whole_values_authors_match_words(ix):
    fx = ix.count("section:money-fx")
    assert fx > 0 and ix.count("section:moneyfx") == fx == ix.count("section:Money-FX")
    assert ix.count("section:money") == 0  # not "money-fx" nor "money-supply"
    assert all(
        h.article.section == "money-fx" for h in ix.search("section:money-fx", limit=100).hits
    )
    assert ix.count("author:reporter") == ix.count('author:"staff reporter"') >= 1


def test_negation_only_lists_everything_else(ix):
    assert ix.count("-section:earn") == ix.doc_count - ix.count("section:earn")


def test_filters_do_not_change_scores(ix):
    plain = {h.id: h.score for h in ix.search("oil prices", limit=1000).hits}
    filtered = ix.search("oil prices date:1987-03 section:crude", limit=1000).hits
    assert filtered
    for h in filtered:
        assert h.score == pytest.approx(plain[h.id], rel=1e-12)


def test_default_operator_and(ix):
    either = ids(ix, "oil opec")
    both = ids(ix, "oil opec", default_operator="and")
    assert both < either and both == ids(ix, "oil") & ids(ix, "opec")


def test_syntax_errors_have_positions(ix):
    with pytest.raises(QuerySyntaxError) as err:
        ix.search("aleppo AND")
    assert err.value.position >= 7
    with pytest.raises(QuerySyntaxError, match="unknown field"):
        ix.search("colour:red")
    with pytest.raises(QuerySyntaxError):
        ix.search("date:2016-13-40")


def test_plain_syntax_takes_anything(ix):
    res = ix.search('What did "OPEC" decide AND (why) -- section:???', syntax="plain")
    assert res.total > 0


# -- differential: the executor vs a plain-Python evaluation -------------------------------------
WORDS = [
    "oil",
    "bank",
    "rate",
    "trade",
    "price",
    "dollar",
    "share",
    "stock",
    "japan",
    "export",
    "profit",
    "zzzabsent",
]
SECTIONS = ["earn", "acq", "crude", "trade", "interest", "money-fx"]

leaf = st.one_of(
    st.sampled_from(WORDS).map(lambda w: ("word", w)),
    st.sampled_from(SECTIONS).map(lambda s: ("section", s)),
    st.sampled_from(
        ["1987-03", "1987-04", "1987-02-26..1987-03-15", ">=1987-06-01", "<1987-03-10"]
    ).map(lambda d: ("date", d)),
)
tree = st.recursive(
    leaf,
    lambda kids: st.one_of(
        st.tuples(st.just("AND"), kids, kids),
        st.tuples(st.just("OR"), kids, kids),
        st.tuples(st.just("NOT"), kids, kids),
    ),
    max_leaves=6,
)


def to_text(node):
    kind = node[0]
    if kind == "word":
        return node[1]
    if kind == "section":
        return f"section:{node[1]}"
    if kind == "date":
        return f"date:{node[1]}"
    left, right = to_text(node[1]), to_text(node[2])
    return f"({left} {kind} {right})"


def _date_ok(day, spec):
    if day is None:
        return False
    s = day.isoformat()
    if ".." in spec:
        a, b = spec.split("..")
        return a <= s <= b
    if spec.startswith(">="):
        return s >= spec[2:]
    if spec.startswith("<"):
        return s < spec[1:]
    return s.startswith(spec)


def evaluate(node, art, analyzer):
    kind = node[0]
    if kind == "word":
        terms = set(analyzer.terms(art.title)) | set(analyzer.terms(art.body))
        return analyzer.terms(node[1])[0] in terms
    if kind == "section":
        return art.section is not None and keyword_matches(
            art.section, normalize_keyword(node[1]), "section"
        )
    if kind == "date":
        return _date_ok(art.day, node[1])
    a, b = evaluate(node[1], art, analyzer), evaluate(node[2], art, analyzer)
    return {"AND": a and b, "OR": a or b, "NOT": a and not b}[kind]


@pytest.fixture(scope="module")
def stored(ix):
    arts = []
    for seg in ix._searcher.segments:
        arts.extend(seg.article(d) for d in range(seg.ndocs))
    return arts


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(node=tree)
def test_vectorized_results_equal_plain_evaluation(ix, stored, node):
    analyzer = ix.analyzer()
    query = to_text(node)
    expected = {a.id for a in stored if evaluate(node, a, analyzer)}
    got = ids(ix, query)
    # A query that is only a negation of filters/words is answered too (everything else).
    assert got == expected, query


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(
        st.sampled_from(WORDS + ["the", "of", "Bank", "Rate", "and", "1987"]), max_size=5
    ),
    filters=st.lists(
        st.sampled_from(
            [
                "section:crude",
                "section:money-fx",
                "section:Earn",
                "source:reuters",
                "source:trt-world",
                "author:staff",
                "section:nosuch",
                "date:1987-03",
                "date:1987-03-01..1987-04-15",
                "date:>=1987-06-01",
                "date:<1987-03-10",
                "date:..1987-03-05",
                "date:2016",
                "date:last-7d",
                "date:today",
            ]
        ),
        max_size=3,
    ),
    op=st.sampled_from(["or", "and"]),
    data=st.randoms(use_true_random=False),
)
def test_simple_query_fast_path_equals_the_parsed_plan(ix, words, filters, op, data):
    from newsindex import querylang

    tokens = words + filters
    data.shuffle(tokens)
    text = " ".join(tokens)
    if not text:
        return
    parsed = querylang.compile(
        querylang.parse(text, default_operator=op),
        analyzers=ix._analyzers,
        default_operator=op,
        today=TODAY,
    )
    fast = ix.search(text, default_operator=op, limit=500, today=TODAY)
    slow = ix.search(newsindex.Query(text, parsed, ix._analyzers), limit=500)
    assert [(h.id, h.score) for h in fast.hits] == [(h.id, h.score) for h in slow.hits]
    assert fast.total == slow.total


def test_slop_examples_of_the_query_syntax_document(tmp_path):
    """docs/query-syntax.md's slop examples, as written: each word may sit up to N places
    from where the phrase puts it, and moves are not added up across words."""
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add({"id": "fwd", "title": "battle for Aleppo"})
        w.add({"id": "abcd", "title": "alpha beta gamma delta"})

    def ids(q):
        return {h.id for h in ix.search(q).hits}

    assert ids('"battle aleppo"') == set() and ids('"battle aleppo"~1') == {"fwd"}
    assert ids('"aleppo battle"~2') == set() and ids('"aleppo battle"~3') == {"fwd"}
    assert ids('"alpha gamma delta"~1') == {"abcd"} and ids('"alpha gamma delta"') == set()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    clauses=st.lists(
        st.tuples(
            st.sampled_from(["oil", "gas", "price", '"oil price"', "opec*", "(oil gas)"]),
            st.sampled_from(["", "^0.5", "^2", "^0.25", "^4", "^1"]),
        ).map("".join),
        min_size=1,
        max_size=12,
    )
)
def test_normalizing_a_plan_twice_changes_nothing(ix, clauses):
    """Repeats merge into one clause with their boosts multiplied, until none repeats
    ("gas gas^0.5 gas^0.5": the merged gas^1 repeats gas): top_matches normalizes a plan and
    the evaluation it hands it to normalizes again, and both must read one plan."""
    from newsindex.handle import _plan
    from newsindex.search.searcher import _normalize

    snap = ix._current()
    once = _normalize(_plan(snap, " ".join(clauses), "query", "or", None, None, ix._limits()))
    assert _normalize(once) == once


def _reference_merge(should: tuple) -> tuple:
    """Repeats merged as the engine first did it (each round: a set of the scoring clauses,
    then a Counter, the first copy of each taking its count): the reference for the
    faster merge, which checks words first and counts once per round."""
    from collections import Counter

    from newsindex.querylang import plan as P

    scoring = [c for c in should if isinstance(c, P.SCORING)] if len(should) > 1 else ()
    while len(scoring) > 1 and len(set(scoring)) < len(scoring):
        counts = Counter(scoring)
        merged, seen = [], set()
        for c in should:
            if isinstance(c, P.SCORING):
                if c in seen:
                    continue
                seen.add(c)
                if counts[c] > 1:
                    c = type(c)(**{**c.__dict__, "boost": c.boost * counts[c]})
            merged.append(c)
        should = tuple(merged)
        scoring = [c for c in should if isinstance(c, P.SCORING)]
    return should


def _plan_clauses():
    from newsindex.querylang import plan as P

    boosts = st.sampled_from([1.0, 0.5, 2.0, 0.25, 4.0, 0.1, 3.0])
    words = st.sampled_from(["oil", "gas", "price", "opec"])
    fields = st.sampled_from([("title", "body"), ("title",), ("body",)])
    term = st.builds(P.Term, words, fields, boosts)
    phrase = st.builds(
        lambda a, b, f, x: P.Phrase((a, b), (0, 1), f, 0, x), words, words, fields, boosts
    )
    prefix = st.builds(lambda w, x: P.Prefix(w[:2], (w,), ("title", "body"), x), words, boosts)
    nested = st.builds(lambda t: P.Bool(should=(t, t)), term)
    other = st.sampled_from([P.MatchAll(), P.DateRange(1, 2), P.Keyword("source", frozenset("a"))])
    return st.lists(
        st.one_of(term, term, term, phrase, prefix, nested, other), min_size=0, max_size=14
    )


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(["oil", "gas", "price", "opec", "a"]), max_size=12))
def test_plain_words_plan_their_repeats_merged_as_the_executor_merges_them(words):
    """The planner counts a plain query's repeated words itself: its plan is what merging
    the repeats of one clause per word gives, boosts to the bit and in the same order, and
    the executor has nothing left to merge (it returns the same plan)."""
    from newsindex.querylang import plan as P
    from newsindex.querylang.planner import _words_plan
    from newsindex.search.searcher import _normalize

    if not words:
        assert _words_plan(words, "or") == P.MatchNone()
        return
    plan = _words_plan(words, "or")
    want = _normalize(P.Bool(should=tuple(P.Term(w) for w in words)))
    assert plan == want
    assert [c.boost for c in plan.should] == [c.boost for c in want.should]
    assert _normalize(plan) is plan
    # Under "and" every word stays a clause of its own (each must match).
    assert _words_plan(words, "and") == P.Bool(must=tuple(P.Term(w) for w in words))


@settings(max_examples=500, deadline=None)
@given(should=_plan_clauses(), terms_only=st.booleans())
def test_merging_repeats_matches_the_reference(should, terms_only):
    """The merge of repeated should-leaves gives what the reference gives, clause for clause,
    boosts to the bit and in the same order, whatever the mix of terms (same word with other
    fields or boosts), phrases, prefixes, groups and filters; and a plan without repeats comes
    back as the same object, so plans that need no change are not rebuilt."""
    from newsindex.querylang import plan as P
    from newsindex.search.searcher import _normalize

    if terms_only:
        should = [c for c in should if isinstance(c, P.Term)]
    node = P.Bool(should=tuple(should))
    want = _reference_merge(tuple(_normalize(c) for c in should))
    got = _normalize(node)
    assert got.should == want
    assert [c.boost for c in got.should if hasattr(c, "boost")] == [
        c.boost for c in want if hasattr(c, "boost")
    ]
    if want == node.should:
        assert got is node
    # Equal terms hash alike (the hash is the word's), unequal ones still differ.
    for a in should:
        for b in should:
            if a == b:
                assert hash(a) == hash(b)
