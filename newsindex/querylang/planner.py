"""From what a caller passes to ``search()`` to a plan node."""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from functools import cache, lru_cache, partial
from itertools import islice

from ..analysis import Analyzer
from ..analysis.tokenizer import iter_tokens
from ..errors import ConfigError, check_choice
from ..schema import TEXT_FIELDS, UNFIELDED_ANALYZER, normalize_keyword
from . import plan as P

# The query language's vocabulary and limits, defined here (the module every query goes
# through, and the only one loaded with newsindex) for the rest of querylang to import.
SYNTAXES = ("query", "plain")
#: How words without an operator between them combine.
DEFAULT_OPERATORS = ("or", "and")
OPERATORS = ("AND", "OR", "NOT")
#: Longest query text, in characters.
MAX_QUERY_LENGTH = 10_000
#: Most words, phrases and filters in one query; plain text keeps its first this-many terms,
#: so no input makes a query unbounded.
MAX_CLAUSES = 1_024
#: Most terms one prefix (``word*``) may expand to.
DEFAULT_PREFIX_LIMIT = 1000
#: Largest boost of one word, phrase or group. Boosts multiply along a path, and the parser's
#: depth limit bounds the path, so every score stays finite.
MAX_BOOST = 10_000.0
#: Most terms all the prefixes of one query may expand to together, each occurrence counted
#: (identical repeated clauses holding a prefix are merged first, so they count once). Like
#: Lucene's limit on a query's clauses, it bounds the work and memory of any query text.
DEFAULT_EXPANSION_LIMIT = 4096

# Queries made only of plain words and simple filters (the shape of most searches) need no
# parser: they are planned directly, with the same semantics as the compiled language (a
# differential test holds the two together).
_PLAIN_WORD = re.compile(r"[^\W_]+")
_SIMPLE_FILTER = re.compile(r"(source|section|author):([^\W_][\w.-]*)|date:([\w.<>=-]+)")
_OPERATORS = frozenset(OPERATORS)
# A quoted run of plain words (no escapes, slop, boost or field): the lexer reads it as one
# phrase token whose text is what is between the quotes, so it too needs no parser.
_PLAIN_PHRASE = re.compile(r'"([^\W_]+(?:\s+[^\W_]+)*)"')


#: Days per unit of a half-life (``m``: a 30-day month, ``y``: a 365-day year).
UNITS = {"d": 1, "w": 7, "m": 30, "y": 365}
_HALF_LIFE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dwmy])\s*", re.IGNORECASE)
RECENCY_HELP = 'a half-life such as "30d", "2w", "6m" or "1y" (or a timedelta, or days > 0)'


def half_life_days(value: object) -> float:
    """Days in ``value``: ``"30d"``, ``"2w"``, ``"6m"``, ``"1y"``, a ``timedelta`` or a
    number of days; ConfigError unless it is finite and > 0."""
    days: float
    if isinstance(value, str):
        m = _HALF_LIFE.fullmatch(value)
        if m is None:
            raise ConfigError(f"recency must be {RECENCY_HELP}, got {value!r}")
        days = float(m.group(1)) * UNITS[m.group(2).lower()]
    elif isinstance(value, _dt.timedelta):
        days = value.total_seconds() / 86400.0
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        days = float(value)
    else:
        raise ConfigError(f"recency must be {RECENCY_HELP}, got {type(value).__name__}")
    if not (math.isfinite(days) and days > 0):
        raise ConfigError(f"recency must be {RECENCY_HELP}, got {value!r}")
    return days


#: The clause that asks for recency in the query language (``oil recency:30d``).
RECENCY_FIELD = "recency"


def check_default_operator(value: object) -> None:
    check_choice("default_operator", value, DEFAULT_OPERATORS)


def _capped_terms(text: str, analyzer: Analyzer) -> list[str]:
    """The first MAX_CLAUSES terms of plain text (as querylang.plain_words keeps its first
    words): the rest of a pasted article is ignored."""
    if len(text) <= 20 * MAX_CLAUSES:
        return analyzer.terms(text)[:MAX_CLAUSES]
    tokens = iter_tokens(text, analyzer.spec.tokenizer)
    return list(islice(filter(None, map(analyzer.normalize, tokens)), MAX_CLAUSES))


# Plan nodes are immutable, so queries share them: a cache hit is cheaper than building one.
_term_node = lru_cache(maxsize=4096)(partial(P.Term, fields=TEXT_FIELDS))


_phrase_node = lru_cache(maxsize=4096)(partial(P.Phrase, fields=TEXT_FIELDS))


def _phrase_plan(text: str, analyzer: Analyzer) -> P.Node:
    """The plan of ``"text"``, as the compiler makes it: stop-word gaps kept in the offsets,
    a single term as a term, nothing left as no match."""
    pairs = analyzer.terms_with_positions(text)
    if not pairs:
        return P.MatchNone()
    if len(pairs) == 1:
        return _term_node(pairs[0][0])
    first = pairs[0][1]
    return _phrase_node(tuple(t for t, _ in pairs), tuple(p - first for _, p in pairs))


def _words_plan(terms: list[str], default_operator: str) -> P.Node:
    if not terms:
        return P.MatchNone()
    if default_operator == "and":
        return P.Bool(must=tuple(map(_term_node, terms)))
    if len(set(terms)) == len(terms):  # (a set is cheaper than counting: most have no repeat)
        return P.Bool(should=tuple(map(_term_node, terms)))
    counts = Counter(terms)
    # A repeated word is one clause boosted by its count, as the executor merges repeated
    # optional clauses (searcher._normalize): counted here on the words' strings, which
    # is cheaper than merging the plan's nodes, and the plan then needs no change.
    return P.Bool(
        should=tuple(
            _term_node(t) if n == 1 else P.Term(t, TEXT_FIELDS, float(n)) for t, n in counts.items()
        )
    )


def _simple_plan(
    query: str, analyzer: Analyzer, default_operator: str, today: _dt.date | None
) -> P.Node | None:
    """The plan of ``words... field:value...`` queries, or None for anything else."""
    words: list[str] = []
    filters: list[P.Node] = []
    for token in query.split():
        if _PLAIN_WORD.fullmatch(token):
            if token in _OPERATORS:
                return None
            words.append(token)
            continue
        m = _SIMPLE_FILTER.fullmatch(token)
        if m is None:
            return None
        if m.group(1):
            key = normalize_keyword(m.group(2))
            if not key:
                return None
            filters.append(P.Keyword(m.group(1), frozenset((key,))))
        else:
            try:
                start, end = _date_resolver()(m.group(3).lower(), today)
            except ValueError:
                return None  # the parser reports it, with its position
            filters.append(P.DateRange(start, end))
    terms = [t for w in words for t in analyzer.terms(w)]
    if not filters:
        return _words_plan(terms, default_operator)
    if not terms:
        return P.Bool(filter=tuple(filters)) if not words else None
    if len(terms) == 1:
        return P.Bool(must=(_term_node(terms[0]),), filter=tuple(filters))
    return P.Bool(must=(_words_plan(terms, default_operator),), filter=tuple(filters))


_SYNTAX_WORDS = re.compile(r"\b(?:title|body|source|section|author|date):|\b(?:AND|OR|NOT)\b", re.I)


def no_words_warning(query: str, node: P.Node, analyzer: Analyzer) -> str | None:
    """The warning for a query that matches nothing because none of its words is searchable
    (stop words, single letters, punctuation), or None. A query whose words match no
    indexed term (``xyzzy``, ``xyz*``) is an ordinary empty result, not a warning."""
    if not isinstance(node, P.MatchNone):
        return None
    if analyzer.terms(_SYNTAX_WORDS.sub(" ", query)):
        return None
    words = " ".join(query.split())
    if not words:
        return "the query is empty: nothing was searched"
    return (
        f"no searchable word in {words!r}: stop words (the, of, and ...), single letters and "
        "punctuation are not indexed, so nothing was searched"
    )


# The query language is imported on first use, not with newsindex; a cached call is cheaper
# than an import statement run on every query.
@cache
def _date_resolver():
    from .dates import resolve

    return resolve


def to_plan(
    query: str | P.Node,
    *,
    syntax: str,
    analyzers: Mapping[str, Analyzer],
    default_operator: str = "or",
    expand_prefix: Callable[[str, tuple[str, ...]], list[str]] | None = None,
    today: _dt.date | None = None,
    prefix_limit: int = DEFAULT_PREFIX_LIMIT,
    expansion_limit: int = DEFAULT_EXPANSION_LIMIT,
) -> P.Node:
    """A plan node for ``query``: query-language text, plain words, or a plan node already
    (``prefix_limit``, ``expansion_limit``: see :func:`~newsindex.querylang.compile`)."""
    if not isinstance(query, str):
        return query
    if syntax not in SYNTAXES:
        raise ConfigError(f"syntax must be one of {', '.join(SYNTAXES)}, got {syntax!r}")
    check_default_operator(default_operator)
    if syntax == "plain":
        return _words_plan(_capped_terms(query, analyzers[UNFIELDED_ANALYZER]), default_operator)
    # Over the limits, the parser (below) refuses the query with the documented error; so it
    # does an empty one (docs/query-syntax.md, "Errors and limits").
    if len(query) <= MAX_QUERY_LENGTH and len(query.split()) <= MAX_CLAUSES and query.strip():
        if query[:1] == '"':
            m = _PLAIN_PHRASE.fullmatch(query)
            if m is not None:
                return _phrase_plan(m.group(1), analyzers[UNFIELDED_ANALYZER])
        simple = _simple_plan(query, analyzers[UNFIELDED_ANALYZER], default_operator, today)
        if simple is not None:
            return simple
    from .api import compile, parse

    ast = parse(query, default_operator=default_operator)
    return compile(
        ast,
        analyzers=analyzers,
        default_operator=default_operator,
        expand_prefix=expand_prefix,
        prefix_limit=prefix_limit,
        today=today,
        query=query,
        expansion_limit=expansion_limit,
    )
