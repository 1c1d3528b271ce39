"""The newsindex query language: text -> schema-free AST -> plan (docs/query-syntax.md).

    >>> ast = parse('title:aleppo "1070 apartments" section:world date:last-7d')
    >>> plan = compile(ast, analyzers={"title": a, "body": a}, today=datetime.date(2016, 11, 9))

``syntax="plain"`` (on :func:`parse` and :func:`compile_query`) reads any text as plain words,
for natural-language questions and test-collection topics.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..errors import QuerySyntaxError

if TYPE_CHECKING:
    from .api import SYNTAXES, compile_lenient, compile_query, parse, parse_lenient
    from .ast import (
        BoolQ,
        Clause,
        DateFilter,
        FieldFilter,
        Node,
        Occur,
        PhraseQ,
        Word,
        is_filter,
        resolve_default,
        to_query,
    )
    from .compiler import ExpandPrefix, compile
    from .parser import DEPTH_CEILING, MAX_DEPTH, plain_words
    from .planner import (
        DEFAULT_EXPANSION_LIMIT,
        DEFAULT_PREFIX_LIMIT,
        MAX_CLAUSES,
        MAX_QUERY_LENGTH,
    )

# The parser and compiler load on first use: plain-word queries are planned without them
# (querylang.planner), so importing newsindex does not pay for them.
_LAZY = {
    "BoolQ": "ast",
    "Clause": "ast",
    "DateFilter": "ast",
    "FieldFilter": "ast",
    "Node": "ast",
    "Occur": "ast",
    "PhraseQ": "ast",
    "Word": "ast",
    "is_filter": "ast",
    "resolve_default": "ast",
    "to_query": "ast",
    "DEFAULT_EXPANSION_LIMIT": "planner",
    "DEFAULT_PREFIX_LIMIT": "planner",
    "ExpandPrefix": "compiler",
    "compile": "compiler",
    "DEPTH_CEILING": "parser",
    "MAX_CLAUSES": "planner",
    "MAX_DEPTH": "parser",
    "MAX_QUERY_LENGTH": "planner",
    "plain_words": "parser",
    "SYNTAXES": "api",
    "compile_lenient": "api",
    "compile_query": "api",
    "parse": "api",
    "parse_lenient": "api",
}

__all__ = [
    "BoolQ",
    "Clause",
    "DEFAULT_EXPANSION_LIMIT",
    "DEFAULT_PREFIX_LIMIT",
    "DEPTH_CEILING",
    "DateFilter",
    "ExpandPrefix",
    "FieldFilter",
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "Node",
    "Occur",
    "PhraseQ",
    "QuerySyntaxError",
    "SYNTAXES",
    "Word",
    "compile",
    "compile_lenient",
    "compile_query",
    "is_filter",
    "parse",
    "parse_lenient",
    "plain_words",
    "resolve_default",
    "to_query",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
