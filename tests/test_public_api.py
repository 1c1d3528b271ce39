"""``newsindex.__all__`` is the documented public API: no more, no less, and all of it works.

The rule for "nothing public by accident": every attribute of the ``newsindex`` module whose
name does not start with ``_`` is either listed in ``__all__`` or a module (subpackages are
importable, but internal: README.md says so, and the front ends may not use them, which
tests/test_architecture.py checks).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import newsindex

ROOT = Path(__file__).resolve().parents[1]


def documented_names() -> list[str]:
    """The names listed in README.md's "Public API" section, one ``- `name` — ...`` a line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Public API\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, 'README.md has no "## Public API" section'
    return re.findall(r"^- `([^`]+)` — ", section.group(1), re.M)


def test_all_is_exactly_what_the_readme_documents():
    names = documented_names()
    assert len(names) == len(set(names)), "a name is documented twice"
    assert len(newsindex.__all__) == len(set(newsindex.__all__)), "__all__ repeats a name"
    assert set(newsindex.__all__) == set(names)


def test_every_name_in_all_exists():
    for name in newsindex.__all__:
        assert getattr(newsindex, name) is not None, name


def test_nothing_else_is_public_by_accident():
    for name in newsindex.__all__:
        getattr(newsindex, name)  # lazily loaded names too
    extra = {
        name
        for name in dir(newsindex)
        if not name.startswith("_")
        and name not in newsindex.__all__
        and not isinstance(getattr(newsindex, name), types.ModuleType)
    }
    assert extra == set()
    with pytest.raises(AttributeError, match="no attribute 'to_plan'"):
        newsindex.to_plan  # noqa: B018 - internal names stay out of reach
    with pytest.raises(ImportError):
        exec("from newsindex import Segment", {})


def test_reading_files_is_loaded_only_when_asked_for():
    """``iter_records`` and its kin load on first use: a search process never imports YAML."""
    code = (
        "import sys, newsindex; before = 'newsindex.ingest' in sys.modules; "
        "newsindex.iter_records; print(before, 'newsindex.ingest' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# -- the public API the front ends use, on a real index ------------------------------------------
@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    data = Path(newsindex.__file__).parent / "data"
    index = newsindex.Index.create(tmp_path_factory.mktemp("api") / "idx")
    with index.writer() as w:
        for item in newsindex.iter_records(
            [data / "seed-article.txt", data / "reuters-sample.jsonl.gz"]
        ):
            assert isinstance(item, newsindex.Record)
            w.add(item.article)
    yield index
    index.close()


QUERIES = [
    "oil prices",
    "opec date:1987-03",
    '"1070 apartments"',
    "title:gold -section:gold",
    "coff* section:coffee",
    "bank AND (rate OR rates)",
    "section:crude",
]


@pytest.mark.parametrize("text", QUERIES)
def test_a_parsed_query_answers_as_its_text(ix, text):
    """search, count and explain give the same answers for ``ix.parse(text)`` as for text."""
    query = ix.parse(text)
    assert query.text == text and query.warnings == ()
    for sort in ("relevance", "date"):
        by_text = ix.search(text, limit=50, sort=sort)
        by_query = ix.search(query, limit=50, sort=sort)
        assert [(h.id, h.score) for h in by_query.hits] == [(h.id, h.score) for h in by_text.hits]
        assert by_query.total == by_text.total == ix.count(query) == ix.count(text)
    for hit in ix.search(text, limit=3).hits:
        assert ix.explain(query, hit.id).value == pytest.approx(hit.score, rel=1e-9)
        assert str(query.snippet(hit)) == str(hit.snippet())


@pytest.mark.parametrize(
    "text, problem",
    [('aleppo "battle for', "quote"), ("nope:aleppo", "field"), ("oil AND", "")],
)
def test_a_lenient_parse_keeps_its_warnings_and_runs(ix, text, problem):
    with pytest.raises(newsindex.QuerySyntaxError):
        ix.parse(text)
    query = ix.parse(text, lenient=True)
    assert query.warnings and all(isinstance(w, newsindex.QuerySyntaxError) for w in query.warnings)
    assert problem in " ".join(w.message for w in query.warnings)
    assert ix.search(query).total == ix.count(query) >= 1


def test_query_options_belong_to_parse(ix):
    query = ix.parse("oil", default_operator="and", today=dt.date(1987, 4, 1))
    for options in ({"syntax": "plain"}, {"default_operator": "and"}, {"today": dt.date.today()}):
        with pytest.raises(newsindex.ConfigError, match="Query"):
            ix.search(query, **options)
    with pytest.raises(newsindex.ConfigError, match="text or a Query"):
        ix.search(object())


def test_a_query_marks_its_words_in_any_text(ix):
    query = ix.parse("fight apartments")
    seed = ix.search('"1070 apartments"').hits[0].article
    assert query.highlight(seed).text == seed.title
    snip = query.snippet(seed, max_chars=120)
    assert isinstance(snip, newsindex.Snippet)
    assert snip.marked and {m.lower() for m in snip.marked} <= {"fight", "fighting", "apartments"}
    assert query.highlight("They were fighting on.", field="body").marked == ["fighting"]


def test_facets_of_the_whole_index_count_every_article(ix):
    """Differential: each count equals what a filter query for that value counts."""
    facets = ix.facets(date_bucket="year")
    assert isinstance(facets, newsindex.Facets)
    assert sum(c for _, c in facets.dates) + facets.undated == ix.doc_count
    for field, counts in (("section", facets.sections), ("source", facets.sources)):
        for value, count in counts[:5]:
            assert ix.count(f'{field}:"{value}"') == count, (field, value)
    for year, count in facets.dates:
        assert ix.count(f"date:{year}") == count


def test_check_index_verifies_a_folder(ix, tmp_path):
    assert newsindex.check_index(ix.path) == [] == ix.check()
    problems = newsindex.check_index(tmp_path)
    assert len(problems) == 1 and str(tmp_path) in problems[0]


def test_the_field_names_are_the_schemas():
    assert newsindex.TEXT_FIELDS == ("title", "body")
    assert set(newsindex.QUERY_FIELDS) == {
        *newsindex.TEXT_FIELDS,
        *newsindex.KEYWORD_FIELDS,
        "date",
    }
    assert set(newsindex.Scoring().weights) == set(newsindex.TEXT_FIELDS)
