"""Parsing and compiling entry points: text -> AST (strict or lenient) -> plan."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping

from ..analysis.analyzer import Analyzer
from ..errors import ConfigError, QuerySyntaxError
from ..schema import UNFIELDED_ANALYZER
from . import plan
from .ast import Node, resolve_default
from .compiler import ExpandPrefix, compile
from .parser import DEPTH_CEILING, MAX_DEPTH, _Parser, plain_words
from .planner import (
    DEFAULT_EXPANSION_LIMIT,
    DEFAULT_PREFIX_LIMIT,
    MAX_CLAUSES,
    MAX_QUERY_LENGTH,
    SYNTAXES,
    check_default_operator,
)


def _check_options(default_operator: str | None, max_depth: int) -> None:
    if default_operator is not None:
        check_default_operator(default_operator)
    if not 1 <= max_depth <= DEPTH_CEILING:
        raise ConfigError(f"max_depth must be in 1..{DEPTH_CEILING}, got {max_depth!r}")


def parse_lenient(
    text: str,
    *,
    default_operator: str | None = None,
    max_length: int = MAX_QUERY_LENGTH,
    max_clauses: int = MAX_CLAUSES,
    max_depth: int = MAX_DEPTH,
) -> tuple[Node, list[QuerySyntaxError]]:
    """Parse without ever raising for syntax: the AST and the problems met, as warnings.

    What cannot be read as written becomes plain words or is dropped: an unclosed quote is
    ignored, an unknown field's name becomes a word, a bad date a plain word, a dangling
    operator is dropped, missing ``)`` are implied, a query too long is cut. For the shell.
    """
    _check_options(default_operator, max_depth)
    warnings: list[QuerySyntaxError] = []
    if len(text) > max_length:
        warnings.append(
            QuerySyntaxError(
                f"query too long: {len(text)} characters, the limit is {max_length}; the rest "
                "was ignored",
                text,
                max_length,
            )
        )
        text = text[:max_length]
    parser = _Parser(text, lenient=True, max_clauses=max_clauses, max_depth=max_depth)
    try:
        node = parser.query()
    except QuerySyntaxError as exc:  # a recovery path missed: never let it escape
        parser.warnings.append(exc)
        node = plain_words(text, max_clauses=max_clauses)
    if default_operator is not None:
        node = resolve_default(node, default_operator)
    return node, warnings + parser.warnings


def parse(
    text: str,
    *,
    syntax: str = "query",
    lenient: bool = False,
    default_operator: str | None = None,
    max_length: int = MAX_QUERY_LENGTH,
    max_clauses: int = MAX_CLAUSES,
    max_depth: int = MAX_DEPTH,
) -> Node:
    """Parse query text into a schema-free AST.

    ``syntax="query"`` reads the query language; ``syntax="plain"`` reads any text as plain
    words (see :func:`plain_words`; never raises). ``lenient=True`` never raises for syntax
    (see :func:`parse_lenient`, which also returns the warnings).

    ``default_operator`` None keeps words joined by spaces as :attr:`Occur.DEFAULT`, decided
    by :func:`compile`; "or"/"and" decides them now. ``parse(str(ast)) == ast`` holds for the
    ASTs parse returns with ``default_operator=None`` (and with "or", when parsed back with "or").

    Raises :class:`QuerySyntaxError` with a 0-based ``position`` and a message naming what
    was expected; also when the text is longer than ``max_length`` characters, holds more
    than ``max_clauses`` words, phrases and filters, or nests more than ``max_depth``
    parentheses.
    """
    if syntax not in SYNTAXES:
        raise ConfigError(f"syntax must be one of {', '.join(SYNTAXES)}, got {syntax!r}")
    _check_options(default_operator, max_depth)
    if syntax == "plain":
        node = plain_words(text, max_clauses=max_clauses)
    elif lenient:
        node, _ = parse_lenient(
            text, max_length=max_length, max_clauses=max_clauses, max_depth=max_depth
        )
    else:
        if len(text) > max_length:
            raise QuerySyntaxError(
                f"query too long: {len(text)} characters, the limit is {max_length}",
                text,
                max_length,
            )
        parser = _Parser(text, lenient=False, max_clauses=max_clauses, max_depth=max_depth)
        node = parser.query()
    return node if default_operator is None else resolve_default(node, default_operator)


def compile_query(
    text: str,
    *,
    analyzers: Mapping[str, Analyzer],
    syntax: str = "query",
    lenient: bool = False,
    default_operator: str = "or",
    expand_prefix: ExpandPrefix | None = None,
    prefix_limit: int = DEFAULT_PREFIX_LIMIT,
    today: _dt.date | None = None,
    expansion_limit: int = DEFAULT_EXPANSION_LIMIT,
) -> plan.Node:
    """:func:`parse` then :func:`compile`, in one call: what ``index.search`` needs (plain
    words are cut by the tokenizer version of the ``body`` analyzer, as its text was)."""
    if syntax == "plain" and UNFIELDED_ANALYZER in analyzers:
        ast = plain_words(text, tokenizer=analyzers[UNFIELDED_ANALYZER].spec.tokenizer)
    else:
        ast = parse(text, syntax=syntax, lenient=lenient)
    return compile(
        ast,
        analyzers=analyzers,
        default_operator=default_operator,
        expand_prefix=expand_prefix,
        prefix_limit=prefix_limit,
        today=today,
        query=text,
        expansion_limit=expansion_limit,
    )


def compile_lenient(
    text: str,
    *,
    analyzers: Mapping[str, Analyzer],
    default_operator: str = "or",
    expand_prefix: ExpandPrefix | None = None,
    prefix_limit: int = DEFAULT_PREFIX_LIMIT,
    today: _dt.date | None = None,
    expansion_limit: int = DEFAULT_EXPANSION_LIMIT,
) -> tuple[plan.Node, list[QuerySyntaxError]]:
    """:func:`parse_lenient` then :func:`compile`: the plan and the problems worked around.

    Still raises :class:`QuerySyntaxError` for what no reading can run (a prefix matching
    too many terms, a relative date range that resolves to nothing).
    """
    ast, warnings = parse_lenient(text)
    node = compile(
        ast,
        analyzers=analyzers,
        default_operator=default_operator,
        expand_prefix=expand_prefix,
        prefix_limit=prefix_limit,
        today=today,
        query=text,
        expansion_limit=expansion_limit,
    )
    return node, warnings
