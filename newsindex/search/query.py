"""From what a caller passes to ``search()`` to a plan node."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Callable, Mapping

from ..analysis import Analyzer
from ..errors import ConfigError
from ..schema import TEXT_FIELDS
from . import plan as P

SYNTAXES = ("query", "plain")
# Queries made only of plain words need no parser: the language reads them as OR-ed words.
_PLAIN_WORDS = re.compile(r"\s*[^\W_]+(?:\s+[^\W_]+)*\s*")
_OPERATORS = {"AND", "OR", "NOT"}


def plain_plan(text: str, analyzer: Analyzer) -> P.Node:
    """Every word of ``text`` OR-ed and ranked; a repeated word counts each time."""
    terms = analyzer.terms(text)
    if not terms:
        return P.MatchNone()
    return P.Bool(should=tuple(P.Term(t, TEXT_FIELDS) for t in terms))


def to_plan(
    query,
    *,
    syntax: str,
    analyzers: Mapping[str, Analyzer],
    default_operator: str = "or",
    expand_prefix: Callable[[str, tuple[str, ...]], list[str]] | None = None,
    today: _dt.date | None = None,
) -> P.Node:
    """A plan node for ``query``: query-language text, plain words, or a plan node already."""
    if not isinstance(query, str):
        return query
    if syntax not in SYNTAXES:
        raise ConfigError(f"syntax must be one of {', '.join(SYNTAXES)}, got {syntax!r}")
    if default_operator not in ("or", "and"):
        raise ConfigError(f"default_operator must be 'or' or 'and', got {default_operator!r}")
    if syntax == "plain" or (
        _PLAIN_WORDS.fullmatch(query) and _OPERATORS.isdisjoint(query.split())
    ):
        node = plain_plan(query, analyzers["body"])
        if default_operator == "and" and isinstance(node, P.Bool):
            node = P.Bool(must=node.should)
        return node
    from .. import querylang

    ast = querylang.parse(query, default_operator=default_operator)
    return querylang.compile(
        ast,
        analyzers=analyzers,
        default_operator=default_operator,
        expand_prefix=expand_prefix,
        today=today,
        query=query,
    )
