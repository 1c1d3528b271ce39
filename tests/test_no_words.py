"""A query with no searchable word says so (Results.warnings, the CLI, the shell) instead of
answering a silent empty list; an empty query in the query language is an error."""

import io
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

import newsindex
from newsindex.analysis import ENGLISH_STOP_WORDS
from newsindex.errors import QuerySyntaxError
from newsindex.shell.commands import Shell
from newsindex.shell.session import Session

STORIES = [
    {"id": "1", "title": "The U.S. and the U.K.", "body": "Trade talks between the U.S. and U.K."},
    {"id": "2", "title": "Oil prices", "body": "Crude oil rose, a trader said."},
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nowords") / "idx"
    ix = newsindex.Index.create(folder)
    with ix.writer() as w:
        for s in STORIES:
            w.add(s)
    return ix


nothing_searchable = st.lists(
    st.sampled_from(sorted(ENGLISH_STOP_WORDS) + list("abcxyzIAB") + [",", ".", "!", "?", "'"]),
    min_size=1,
    max_size=6,
).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(nothing_searchable, st.sampled_from(["query", "plain"]))
def test_a_query_of_stop_words_and_letters_warns(index, query, syntax):
    if syntax == "query" and not query.strip(" ,.!?'"):
        return  # punctuation alone may be query syntax; covered below
    try:
        res = index.search(query, syntax=syntax)
    except QuerySyntaxError:
        return  # e.g. a dangling "!" is a syntax error, reported as such
    assert res.total == 0
    assert len(res.warnings) == 1 and "no searchable word" in res.warnings[0]


@pytest.mark.parametrize(
    "query", ["oil", "U.S.", "xyzzy", "xyz*", "the oil", "section:nothing", "oil -crude"]
)
def test_a_query_with_a_word_does_not_warn(index, query):
    assert index.search(query).warnings == []


def test_an_empty_query_is_an_error_in_the_language_and_a_warning_as_plain_words(index):
    for query in ("", "   "):
        with pytest.raises(QuerySyntaxError, match="empty query"):
            index.search(query)
        res = index.search(query, syntax="plain")
        assert res.total == 0 and res.warnings == ["the query is empty: nothing was searched"]


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)], capture_output=True, text=True
    )


def test_the_cli_shows_the_warning_and_refuses_an_empty_query(index):
    proc = _cli("search", index.path, "the of")
    assert proc.returncode == 0
    assert "0 matching articles" in proc.stdout
    assert "newsindex: warning: no searchable word in 'the of'" in proc.stderr
    proc = _cli("search", index.path, "")
    assert proc.returncode == 2 and "empty query" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_shell_shows_the_warning(index):
    session = Session(newsindex.Index.open(index.path))
    console = Console(file=io.StringIO(), width=120, color_system=None)
    Shell(session, console).handle("the a")
    assert "warning: no searchable word in 'the a'" in console.file.getvalue()
    assert len(session.current.results.warnings) == 1
    Shell(session, console).handle("U.S.")
    assert session.current.results.total == 1 and session.current.results.warnings == []
