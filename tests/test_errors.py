"""One error tree: the public API answers bad arguments and bad state with a NewsIndexError.

Every parameter of the public API (Index, its writer, search and its options, count, explain,
get, snippets, facets, Scoring, IndexSettings, AnalyzerSpec) is driven with generated values
of the wrong type and of the right type but a wrong value. Each must raise a NewsIndexError
that is also the matching builtin (TypeError for a wrong type, ValueError for a wrong value)
and whose message names the parameter; any other exception fails the test.
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import (
    AnalyzerSpec,
    Index,
    IndexSettings,
    LockError,
    NewsIndexError,
    Scoring,
    WriterClosedError,
)
from newsindex.handle import MAX_RESULTS

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Values of every common type; each parameter's strategy keeps those of a wrong type.
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=6),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.text(max_size=4)),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    st.dates(),
    st.builds(object),
    st.builds(Path, st.just("x")),
    st.complex_numbers(max_magnitude=10),
)


def wrong_type(*ok_types: type, bool_ok: bool = False) -> st.SearchStrategy:
    """Values not of ``ok_types`` (a bool is not an int here unless ``bool_ok``)."""

    def wrong(value: object) -> bool:
        if isinstance(value, bool) and not bool_ok:
            return bool not in ok_types
        return not isinstance(value, ok_types)

    return ANY_VALUE.filter(wrong)


def not_in(choices) -> st.SearchStrategy:
    return st.text(max_size=12).filter(lambda s: s not in choices) | st.sampled_from(
        [c.upper() for c in choices] + [f" {c}" for c in choices]
    ).filter(lambda s: s not in choices)


NEGATIVE = st.integers(max_value=-1)
HUGE = st.integers(min_value=10**400, max_value=10**401)  # too large for a float
NOT_POSITIVE = st.integers(max_value=0)
BAD_FLOAT = st.floats(max_value=-1e-9) | st.just(math.nan)

# parameter -> (strategy of wrong types, strategy of wrong values or None)
SEARCH_OPTIONS: dict[str, tuple[st.SearchStrategy, st.SearchStrategy | None]] = {
    "limit": (wrong_type(int), NEGATIVE | st.integers(min_value=MAX_RESULTS + 1)),
    "offset": (wrong_type(int), NEGATIVE | st.integers(min_value=MAX_RESULTS + 1)),
    "sort": (wrong_type(str), not_in(("relevance", "date", "oldest"))),
    "syntax": (wrong_type(str), not_in(("query", "plain"))),
    "default_operator": (wrong_type(str), not_in(("or", "and"))),
    "scoring": (wrong_type(Scoring, type(None)), None),
    "today": (wrong_type(dt.date, type(None)), None),
    "facets": (wrong_type(bool, bool_ok=True), None),
    "date_bucket": (wrong_type(str, type(None)), not_in(("day", "month", "year"))),
    "feedback": (wrong_type(bool, type(None), bool_ok=True), None),
    "collapse": (
        wrong_type(bool, int, float, bool_ok=True),
        st.floats(max_value=0.4999)
        | st.floats(min_value=1.0001)
        | st.integers(min_value=2)
        | st.integers(max_value=0)
        | st.just(math.nan),
    ),
}
EXPLAIN_OPTIONS = ("syntax", "default_operator", "scoring", "today", "feedback", "collapse")
COUNT_OPTIONS = ("syntax", "default_operator", "today")

WRITER_OPTIONS = {
    "timeout": (wrong_type(int, float), BAD_FLOAT | HUGE.map(lambda n: -n)),
    "buffer_docs": (wrong_type(int), NOT_POSITIVE),
    "buffer_chars": (wrong_type(int), NOT_POSITIVE),
    "workers": (wrong_type(int), NOT_POSITIVE),
    "memory_budget": (wrong_type(int), NOT_POSITIVE),
}

SNIPPET_OPTIONS = {
    "field": (wrong_type(str), not_in(("title", "body"))),
    "max_chars": (wrong_type(int), NOT_POSITIVE),
    "passages": (wrong_type(int), NOT_POSITIVE),
    "formatter": (
        ANY_VALUE.filter(lambda v: not isinstance(v, str) and not callable(v)),
        not_in(("plain", "brackets", "ansi", "html", "rich")),
    ),
}

SCORING_OPTIONS = {
    "k1": (
        wrong_type(int, float),
        st.floats(max_value=-1e-9) | st.floats(min_value=100.001) | HUGE,
    ),
    "b": (wrong_type(int, float), st.floats(max_value=-1e-9) | st.floats(min_value=1.001)),
    "weights": (wrong_type(dict), None),
    "field_b": (wrong_type(dict), None),
    "proximity": (
        wrong_type(int, float),
        st.floats(max_value=-1e-9) | st.floats(min_value=1000.001) | st.just(math.nan),
    ),
    "rescore_window": (wrong_type(int), NOT_POSITIVE | st.integers(min_value=10_001)),
    "feedback": (wrong_type(bool, bool_ok=True), None),
    "fb_docs": (wrong_type(int), NOT_POSITIVE | st.integers(min_value=1001)),
    "fb_terms": (wrong_type(int), NOT_POSITIVE | st.integers(min_value=1001)),
    "fb_original_weight": (
        wrong_type(int, float),
        st.floats(max_value=-1e-9) | st.floats(min_value=1.001) | st.just(math.nan),
    ),
}
SCORING_OPTIONS["k1"] = (SCORING_OPTIONS["k1"][0], SCORING_OPTIONS["k1"][1] | st.just(math.nan))
SCORING_OPTIONS["b"] = (SCORING_OPTIONS["b"][0], SCORING_OPTIONS["b"][1] | st.just(math.nan))

ANALYZER_OPTIONS = {
    "fold": (wrong_type(bool, bool_ok=True), None),
    "stop_words": (wrong_type(str), not_in(("english", "none"))),
    "stemmer": (wrong_type(str), not_in(("snowball", "porter", "none"))),
    "min_length": (wrong_type(int), NOT_POSITIVE | st.integers(min_value=11)),
}


def bad(options: dict, name: str) -> st.SearchStrategy:
    """``(builtin, value)`` pairs: a wrong type (TypeError) or a wrong value (ValueError)."""
    types, values = options[name]
    out = types.map(lambda v: (TypeError, v))
    if values is not None:
        out |= values.map(lambda v: (ValueError, v))
    return out


@contextmanager
def expect(builtin: type, *names: str):
    """The block must raise a NewsIndexError that is also ``builtin`` and whose message names
    one of ``names``; anything else (a RecursionError, an AttributeError...) fails the test."""
    with pytest.raises(NewsIndexError) as info:
        yield info
    err = info.value
    assert isinstance(err, builtin), f"{type(err).__name__} is not a {builtin.__name__}"
    assert any(n in str(err) for n in names), f"{str(err)!r} names none of {names}"


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Index:
    """A small writable index (writers are always rolled back, so it stays as built)."""
    ix = Index.create(tmp_path_factory.mktemp("errors") / "idx")
    from conftest import load_sample

    with ix.writer() as w:
        for d in load_sample(60):
            w.add(d)
    return ix


# -- search, count, explain ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SEARCH_OPTIONS))
@SETTINGS
@given(data=st.data())
def test_search_option(ix, name, data):
    builtin, value = data.draw(bad(SEARCH_OPTIONS, name))
    extra = {"facets": True} if name == "date_bucket" else {}
    with expect(builtin, name):
        ix.search("oil", **extra, **{name: value})


@pytest.mark.parametrize("name", EXPLAIN_OPTIONS)
@SETTINGS
@given(data=st.data())
def test_explain_option(ix, name, data):
    builtin, value = data.draw(bad(SEARCH_OPTIONS, name))
    with expect(builtin, name):
        ix.explain("oil", ix.search("oil").hits[0].id, **{name: value})


@pytest.mark.parametrize("name", COUNT_OPTIONS)
@SETTINGS
@given(data=st.data())
def test_count_option(ix, name, data):
    builtin, value = data.draw(bad(SEARCH_OPTIONS, name))
    with expect(builtin, name):
        ix.count("oil", **{name: value})


@SETTINGS
@given(data=st.data())
def test_duplicates_threshold(ix, data):
    builtin, value = data.draw(
        st.one_of(
            wrong_type(int, float).map(lambda v: (TypeError, v)),
            st.floats(max_value=0.4999).map(lambda v: (ValueError, v)),
            st.floats(min_value=1.0001).map(lambda v: (ValueError, v)),
        )
    )
    with expect(builtin, "threshold"):
        ix.duplicates(threshold=value)


@pytest.mark.parametrize("syntax", ["query", "plain"])
@SETTINGS
@given(query=wrong_type(str))
def test_query_of_wrong_type(ix, syntax, query):
    for call in (ix.search, ix.count):
        with expect(TypeError, "query"):
            call(query, syntax=syntax)
    with expect(TypeError, "query"):
        ix.explain(query, "1", syntax=syntax)


def test_options_checked_for_a_parsed_query_too(ix):
    """A Query from Index.parse (no text left to parse) still has its options checked."""
    query = ix.parse("oil")
    assert ix.search(query).total == ix.count(query) > 0
    with expect(ValueError, "syntax"):
        ix.search(query, syntax="lucene")
    with expect(ValueError, "default_operator"):
        ix.count(query, default_operator="xor")
    with expect(ValueError, "syntax"):  # a valid option, but a Query was parsed with its own
        ix.search(query, syntax="plain")


@pytest.mark.parametrize("name", ["syntax", "default_operator", "today"])
@SETTINGS
@given(data=st.data())
def test_parse_option(ix, name, data):
    builtin, value = data.draw(bad(SEARCH_OPTIONS, name))
    for lenient in (False, True):
        with expect(builtin, name):
            ix.parse("oil", lenient=lenient, **{name: value})


@SETTINGS
@given(data=st.data())
def test_parse_text_and_lenient(ix, data):
    with expect(TypeError, "text"):
        ix.parse(data.draw(wrong_type(str)))
    with expect(TypeError, "lenient"):
        ix.parse("oil", lenient=data.draw(wrong_type(bool, bool_ok=True)))


@SETTINGS
@given(text=st.text(max_size=60))
def test_any_query_text_runs_or_raises_a_syntax_error(ix, text):
    """Generated query text either runs or raises QuerySyntaxError: nothing else escapes."""
    try:
        res = ix.search(text, facets=True)
    except newsindex.QuerySyntaxError as err:
        assert isinstance(err, ValueError)
    else:
        assert res.total == ix.count(text)


@SETTINGS
@given(article_id=wrong_type(str))
def test_article_id_of_wrong_type(ix, article_id):
    with expect(TypeError, "article_id"):
        ix.get(article_id)
    with expect(TypeError, "article_id"):
        ix.explain("oil", article_id)
    with expect(TypeError, "article_id"):
        article_id in ix  # noqa: B015 - the lookup is what is checked


def test_explain_and_get_of_a_missing_id_are_answers_not_errors(ix):
    assert ix.get("no such id") is None
    assert "no such id" not in ix
    assert ix.explain("oil", "no such id").value == 0.0


@SETTINGS
@given(data=st.data())
def test_analyzer_and_expand_prefix_fields(ix, data):
    field = data.draw(not_in(("title", "body")))
    with expect(ValueError, "field"):
        ix.analyzer(field)
    with expect(ValueError, "fields"):
        ix.expand_prefix("oi", (field,))
    with expect(TypeError, "field"):
        ix.analyzer(data.draw(wrong_type(str)))
    with expect(TypeError, "prefix"):
        ix.expand_prefix(data.draw(wrong_type(str)))


# -- hits, snippets, facets ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SNIPPET_OPTIONS))
@SETTINGS
@given(data=st.data())
def test_snippet_option(ix, name, data):
    hit = ix.search("oil prices").hits[0]
    builtin, value = data.draw(bad(SNIPPET_OPTIONS, name))
    with expect(builtin, name):
        hit.snippet(**{name: value})


def test_snippet_of_every_field_and_formatter(ix):
    from newsindex.results.snippets import Snippet

    hit = ix.search("oil prices").hits[0]
    for field in ("title", "body"):
        for formatter in ("plain", "brackets", "ansi", "html", "rich"):
            snip = hit.snippet(field=field, formatter=formatter)
            assert isinstance(snip, Snippet)
            assert not snip.fallback and {m.lower() for m in snip.marked} & {"oil", "prices"}


@SETTINGS
@given(data=st.data())
def test_index_facets_date_bucket(ix, data):
    builtin, value = data.draw(bad(SEARCH_OPTIONS, "date_bucket"))
    with expect(builtin, "date_bucket"):
        ix.facets(date_bucket=value)


@pytest.mark.parametrize("name", sorted(SNIPPET_OPTIONS))
@SETTINGS
@given(data=st.data())
def test_query_snippet_option(ix, name, data):
    """Query.snippet and Query.highlight take the options Hit.snippet does."""
    query, article = ix.parse("oil prices"), ix.search("oil prices").hits[0].article
    builtin, value = data.draw(bad(SNIPPET_OPTIONS, name))
    with expect(builtin, name):
        query.snippet(article, **{name: value})
    if name in ("field", "formatter"):
        with expect(builtin, name):
            query.highlight(article, **{name: value})


def test_facets_are_typed_and_absent_unless_asked(ix):
    from newsindex.results.facets import Facets

    assert ix.search("oil").facets is None
    facets = ix.search("oil", facets=True, date_bucket="year").facets
    assert isinstance(facets, Facets) and facets.date_bucket == "year"
    assert sum(n for _, n in facets.dates) + facets.undated == ix.count("oil")


# -- the writer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(WRITER_OPTIONS))
@SETTINGS
@given(data=st.data())
def test_writer_option(ix, name, data):
    builtin, value = data.draw(bad(WRITER_OPTIONS, name))
    with expect(builtin, name):
        ix.writer(**{name: value})
    ix.writer().rollback()  # the failed call left no lock behind
    if name == "timeout":
        with expect(builtin, name):
            ix.optimize(timeout=value)


@SETTINGS
@given(article_id=wrong_type(str))
def test_writer_delete_of_wrong_type(ix, article_id):
    with ix.writer() as w:
        with expect(TypeError, "article_id"):
            w.delete(article_id)
        w.rollback()


@SETTINGS
@given(other=ANY_VALUE)
def test_writer_share_vocabulary_of_a_non_writer(ix, other):
    with ix.writer() as w:
        with expect(TypeError, "other"):
            w.share_vocabulary(other)
        w.rollback()


@SETTINGS
@given(article=ANY_VALUE.filter(lambda v: not isinstance(v, dict)))
def test_writer_add_of_a_non_article(ix, article):
    with ix.writer() as w:
        with expect(ValueError, "article"):
            w.add(article)
        w.rollback()


def test_writer_state_errors(ix):
    w = ix.writer()
    with expect(TimeoutError, "lock"):
        ix.writer()
    with expect(TimeoutError, "lock"):
        ix.writer(timeout=0.05)
    w.rollback()
    for call in (w.commit, w.flush, w.optimize, lambda: w.add({"id": "x"}), lambda: w.delete("x")):
        with expect(RuntimeError, "writer"):
            call()
    assert isinstance(LockError("x"), TimeoutError)
    assert isinstance(WriterClosedError("x"), RuntimeError)


def test_closed_index_refuses_to_read(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        w.add({"id": "1", "title": "oil"})
    ix.close()
    for call in (
        lambda: ix.search("oil"),
        lambda: ix.count("oil"),
        lambda: ix.explain("oil", "1"),
        lambda: ix.get("1"),
        lambda: ix.parse("oil"),
        lambda: ix.facets(),
        lambda: ix.refresh(),
        lambda: ix.writer(),
    ):
        with expect(ValueError, "closed"):  # as for a closed file
            call()
    assert repr(ix).endswith("closed)")
    assert Index.open(tmp_path / "idx").search("oil").total == 1


# -- creating and opening -----------------------------------------------------------------------
@SETTINGS
@given(path=wrong_type(str, Path))
def test_create_and_open_path_of_wrong_type(path):
    with expect(TypeError, "path"):
        Index.create(path)
    with expect(TypeError, "path"):
        Index.open(path)


@SETTINGS
@given(data=st.data())
def test_create_settings_and_exist_ok(tmp_path, data):
    value = data.draw(wrong_type(str, Path, dict, IndexSettings, type(None)))
    with expect(TypeError, "settings"):
        Index.create(tmp_path / "a", value)
    with expect(TypeError, "exist_ok"):
        Index.create(tmp_path / "b", exist_ok=data.draw(wrong_type(bool, bool_ok=True)))
    with expect(ValueError, "settings"):
        Index.create(
            tmp_path / "c",
            {data.draw(not_in(("analyzer", "analyzers", "scoring", "store_body"))): 1},
        )


def test_create_and_open_missing_things(tmp_path):
    with expect(FileNotFoundError, "nowhere"):
        Index.open(tmp_path / "nowhere")
    with expect(FileNotFoundError, "nowhere"):
        Index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with expect(FileNotFoundError, "empty"):
        Index.open(tmp_path / "empty")
    with expect(ValueError, "settings.yaml"):
        Index.create(tmp_path / "x", tmp_path / "settings.yaml")


# -- settings -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SCORING_OPTIONS))
@SETTINGS
@given(data=st.data())
def test_scoring_option(name, data):
    builtin, value = data.draw(bad(SCORING_OPTIONS, name))
    with expect(builtin, name):
        Scoring(**{name: value})
    with expect(builtin, name):
        Scoring().with_(**{name: value})
    with expect(builtin, name):
        Scoring.from_dict({name: value})


@pytest.mark.parametrize("name", ["weights", "field_b"])
@SETTINGS
@given(data=st.data())
def test_scoring_per_field_values(name, data):
    field = data.draw(not_in(("title", "body")))
    with expect(ValueError, name):
        Scoring(**{name: {field: 1.0}})
    number = st.floats(max_value=-1e-9) | st.just(math.nan) | st.just(math.inf)
    if name == "field_b":
        number |= st.floats(min_value=1.001)
    with expect(ValueError, name):
        Scoring(**{name: {"body": data.draw(number)}})
    with expect(TypeError, name):
        Scoring(**{name: {"title": data.draw(wrong_type(int, float))}})


def test_scoring_unknown_options():
    with expect(TypeError, "bm25"):
        Scoring().with_(bm25=True)
    with expect(ValueError, "bm25"):
        Scoring.from_dict({"bm25": True})
    with expect(TypeError, "scoring"):
        Scoring.from_dict(["k1"])


@pytest.mark.parametrize("name", sorted(ANALYZER_OPTIONS))
@SETTINGS
@given(data=st.data())
def test_analyzer_spec_option(name, data):
    builtin, value = data.draw(bad(ANALYZER_OPTIONS, name))
    with expect(builtin, name):
        AnalyzerSpec(**{name: value})
    with expect(builtin, name):
        IndexSettings.from_dict({"analyzer": {name: value}})


@SETTINGS
@given(data=st.data())
def test_index_settings_values(data):
    with expect(TypeError, "analyzers"):
        IndexSettings(analyzers=data.draw(wrong_type(dict)))
    with expect(ValueError, "analyzers"):
        IndexSettings(analyzers={data.draw(not_in(("title", "body"))): AnalyzerSpec()})
    with expect(TypeError, "analyzers"):
        IndexSettings(analyzers={"body": data.draw(wrong_type(AnalyzerSpec))})
    with expect(TypeError, "scoring"):
        IndexSettings(scoring=data.draw(wrong_type(Scoring)))
    with expect(TypeError, "settings"):
        IndexSettings.from_dict(data.draw(wrong_type(dict)))
    with expect(ValueError, "analyzer"):
        IndexSettings.from_dict({"analyzer": data.draw(not_in(("english", "simple")))})
    with expect(TypeError, "analyzer"):
        IndexSettings.from_dict({"analyzer": data.draw(wrong_type(str, dict))})
    with expect(TypeError, "store_body"):
        IndexSettings(store_body=data.draw(wrong_type(bool)))
    with expect(TypeError, "store_body"):
        IndexSettings.from_dict({"store_body": data.draw(wrong_type(bool))})


def test_index_settings_fill_missing_fields_with_the_default():
    only_body = IndexSettings(analyzers={"body": AnalyzerSpec(stemmer="none")})
    assert only_body.analyzers["title"] == IndexSettings().analyzers["title"]
    assert IndexSettings.from_dict(only_body.to_dict()) == only_body


# -- errors outside the public API's front door ---------------------------------------------------
def test_every_error_class_is_in_the_tree():
    """Public error classes defined anywhere in the package derive from NewsIndexError and
    from a builtin (so ``except ValueError`` and friends keep working)."""
    import importlib
    import pkgutil

    found = []
    for mod in pkgutil.walk_packages(newsindex.__path__, "newsindex."):
        if mod.name == "newsindex.__main__":  # runs the command line when imported
            continue
        module = importlib.import_module(mod.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not obj.__name__.startswith("_")  # private control flow, caught inside
            ):
                found.append(obj)
    assert len(found) >= 10
    outside = [f"{c.__module__}.{c.__name__}" for c in found if not issubclass(c, NewsIndexError)]
    assert outside == []
    builtins = (ValueError, TypeError, OSError, RuntimeError)
    loose = [c.__name__ for c in found if c is not NewsIndexError and not issubclass(c, builtins)]
    assert loose == []
