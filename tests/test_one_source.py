"""One source for each fact: the fields come from the schema; sorts, syntaxes, operators,
limits and defaults are defined once. The command line's choices, the shell's completions and
the values the API accepts are the same constants, so they cannot drift apart."""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import newsindex
from newsindex import cli, schema
from newsindex.analysis import PRESETS
from newsindex.article import ARTICLE_FIELDS, Article
from newsindex.errors import ConfigError, QuerySyntaxError
from newsindex.ingest.walk import ON_ERROR
from newsindex.querylang import planner
from newsindex.shell import repl, session

PACKAGE = Path(newsindex.__file__).parent

#: Each fact, its value and the one module that may spell it out.
FACTS = {
    "TEXT_FIELDS": (schema.TEXT_FIELDS, "schema.py"),
    "KEYWORD_FIELDS": (schema.KEYWORD_FIELDS, "schema.py"),
    "SORTS": (newsindex.SORTS, "search/topk.py"),
    "SYNTAXES": (planner.SYNTAXES, "querylang/planner.py"),
    "DEFAULT_OPERATORS": (planner.DEFAULT_OPERATORS, "querylang/planner.py"),
    "OPERATORS": (planner.OPERATORS, "querylang/planner.py"),
    "ON_ERROR": (ON_ERROR, "ingest/walk.py"),
    "SWITCHES": (session.SWITCHES, "shell/session.py"),
}
#: Literal copies that must stay, with the test that holds each equal to its source.
ALLOWED_COPIES = {
    # The command line would load all of ingest (YAML, CSV, mail dates) for every command,
    # a search too, to import the name: test_cli_choices_are_the_api_values checks it.
    ("cli.py", "ON_ERROR"),
}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def test_no_module_defines_a_constant_another_one_defines():
    """A module-level constant spelled out (a literal) in two modules is one fact in two
    places, bound to disagree one day (KEYWORD_FIELDS did: article.py lacked "author")."""
    where: dict[str, list[str]] = {}
    for name, tree in _modules():
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            for target in targets:
                if not (isinstance(target, ast.Name) and target.id.lstrip("_").isupper()):
                    continue
                try:
                    ast.literal_eval(node.value)
                except ValueError:
                    continue  # computed from other names: not a second definition
                where.setdefault(target.id.lstrip("_"), []).append(name)
    repeated = {k: v for k, v in where.items() if len(v) > 1}
    assert repeated == {}


def test_each_fact_is_spelled_out_in_one_module():
    """No tuple, list or set of string literals anywhere equals one of the facts, except
    where the fact is defined (whatever the order of its items)."""
    by_value = {frozenset(value): fact for fact, (value, _home) in FACTS.items()}
    found = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Tuple, ast.List, ast.Set)) or len(node.elts) < 2:
                continue
            if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                continue
            fact = by_value.get(frozenset(e.value for e in node.elts))
            if fact and name != FACTS[fact][1] and (name, fact) not in ALLOWED_COPIES:
                found.append(f"{name}:{node.lineno} spells out {fact}")
    assert found == []


def test_the_article_has_exactly_the_schemas_fields():
    """Every article field has one role in the schema: the id, a text, keyword, date or
    stored-only field; none is missing and none has two."""
    roles = [
        ("id",),
        schema.TEXT_FIELDS,
        schema.KEYWORD_FIELDS,
        (schema.DATE_FIELD,),
        schema.STORED_ONLY,
    ]
    named = [f for role in roles for f in role]
    assert len(named) == len(set(named))
    assert set(named) == set(ARTICLE_FIELDS) == {f.name for f in dataclasses.fields(Article)}
    assert set(schema.QUERY_FIELDS) == set(schema.TEXT_FIELDS + schema.KEYWORD_FIELDS) | {
        schema.DATE_FIELD
    }


def _choices(parser: argparse.ArgumentParser, command: str, dest: str) -> tuple[str, ...]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if a.dest == dest)
    assert action.choices is not None
    return tuple(action.choices)


def test_cli_choices_are_the_api_values():
    parser = cli._parser()
    assert _choices(parser, "search", "sort") == newsindex.SORTS
    assert _choices(parser, "index", "on_error") == ON_ERROR


def test_shell_completes_what_the_api_accepts():
    assert tuple(repl.ARGUMENTS["sort"]) == newsindex.SORTS
    assert tuple(repl.ARGUMENTS["facets"]) == session.SWITCHES
    completer = repl.Completer(lambda field: [])
    assert completer.candidates("", 0, "") == [f"{f}:" for f in newsindex.QUERY_FIELDS]
    assert completer.candidates(":sort ", 6, "") == list(newsindex.SORTS)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    ix = newsindex.Index.create(tmp_path_factory.mktemp("one-source") / "idx")
    with ix.writer() as w:
        w.add(
            {"id": "1", "title": "Oil prices", "body": "OPEC cut oil output.", "date": "1987-03-02"}
        )
        w.add({"id": "2", "title": "Wheat", "body": "Oil and wheat.", "source": "Reuters"})
    return ix


def test_the_api_accepts_every_listed_value(index):
    for sort in newsindex.SORTS:
        assert index.search("oil", sort=sort).total == 2
    for syntax in planner.SYNTAXES:
        for operator in planner.DEFAULT_OPERATORS:
            index.search("oil wheat", syntax=syntax, default_operator=operator)
    for field in newsindex.QUERY_FIELDS:
        value = "1987" if field == schema.DATE_FIELD else "oil"
        index.search(f"{field}:{value}")  # a known field: no error
    assert set(newsindex.Scoring().weights) == set(newsindex.TEXT_FIELDS)


@given(value=st.text(max_size=12))
def test_the_api_refuses_any_other_value(index, value):
    """Whatever is not listed is refused with a ConfigError naming the choices: the lists are
    what the API checks against, not a description of it."""
    if value not in newsindex.SORTS:
        with pytest.raises(ConfigError, match="sort must be one of"):
            index.search("oil", sort=value)
    if value not in planner.SYNTAXES:
        with pytest.raises(ConfigError, match="syntax must be one of"):
            index.search("oil", syntax=value)
    if value not in planner.DEFAULT_OPERATORS:
        with pytest.raises(ConfigError, match="default_operator must be one of"):
            index.search("oil", default_operator=value)
    name = "f" + "".join(c for c in value if c.isascii() and c.isalnum())
    if name not in newsindex.QUERY_FIELDS:
        with pytest.raises(QuerySyntaxError, match="unknown field"):
            index.search(f"{name}:x")


def _documented_settings(path: Path) -> tuple[dict, list[str]]:
    """The settings example in ``path`` (its ``analyzer:`` and ``scoring: ... # the defaults``
    lines, as YAML) and the presets its comment lists, if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    analyzer = next(line for line in lines if line.strip().startswith("analyzer:"))
    scoring = next(
        line for line in lines if line.strip().startswith("scoring:") and "the defaults" in line
    )
    settings = yaml.safe_load("\n".join(line.split("#")[0].strip() for line in (analyzer, scoring)))
    _, _, listed = analyzer.partition("presets:")
    return settings, [name.strip() for name in listed.split(",") if name.strip()]


@pytest.mark.parametrize("doc", ["README.md", "newsindex/config.py"])
def test_documented_default_settings_are_the_codes(doc):
    """The settings example that says "the defaults" is the defaults, and the presets it
    lists are the presets there are."""
    settings, presets = _documented_settings(PACKAGE.parent / doc)
    assert newsindex.IndexSettings.from_dict(settings) == newsindex.IndexSettings()
    if presets:
        assert presets == list(PRESETS)


def test_analyzers_are_looked_up_by_schema_names():
    """Which analyzer reads unfielded words is schema.UNFIELDED_ANALYZER, a text field; no
    module looks an analyzer up by a field name spelled out."""
    assert schema.UNFIELDED_ANALYZER in schema.TEXT_FIELDS
    found = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
                and "analyzers" in ast.unparse(node.value)
            ):
                found.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert found == []
