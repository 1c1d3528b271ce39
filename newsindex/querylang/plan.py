"""The query plan: what the executor runs. Built by the query compiler or by free text.

Nodes are small frozen dataclasses holding *analyzed* terms. Scoring nodes (:class:`Term`,
:class:`Phrase`) contribute BM25F scores, :class:`Prefix` a constant score; filter nodes
(:class:`DateRange`, :class:`Keyword`, :class:`MatchAll`) only restrict. :class:`Bool` combines them with Lucene's semantics:

- ``must``: every clause matches, scores add up;
- ``should``: scores add up; when there is no ``must`` and no ``filter``, at least one
  ``should`` clause must match;
- ``filter``: every clause matches, no score;
- ``must_not``: no clause matches.

A Bool with no ``must`` and no ``should`` clause matches every live document its filters
allow and its ``must_not`` clauses do not exclude, with score 0 (so ``-section:sport`` alone
lists everything but sport); a Bool with no clause at all matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..schema import TEXT_FIELDS


@dataclass(frozen=True)
class Term:
    """An analyzed term scored with BM25F over ``fields`` (both text fields by default)."""

    term: str
    fields: tuple[str, ...] = TEXT_FIELDS
    boost: float = 1.0

    def __hash__(self) -> int:
        # Equal terms have equal words, so the word's hash (kept by the str) will do: a
        # query hashes each of its terms several times (merging repeats, its leaves, the
        # disjunction cache), and the generated hash of all three fields builds a tuple.
        return hash(self.term)


@dataclass(frozen=True)
class Phrase:
    """Analyzed terms at relative ``offsets`` (stop-word gaps kept), within ``slop`` moves."""

    terms: tuple[str, ...]
    offsets: tuple[int, ...]
    fields: tuple[str, ...] = TEXT_FIELDS
    slop: int = 0
    boost: float = 1.0


@dataclass(frozen=True)
class Prefix:
    """Any of ``terms``, the index terms that start with ``prefix``, in ``fields``; every
    match scores ``boost``: a constant, as Lucene scores a multi-term query by default, so
    a prefix neither sums its expansions' scores nor depends on which terms it found."""

    prefix: str
    terms: tuple[str, ...]
    fields: tuple[str, ...] = TEXT_FIELDS
    boost: float = 1.0


@dataclass(frozen=True)
class DateRange:
    """Articles whose day number (see :func:`newsindex.schema.day_number`) is in [start, end]."""

    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Keyword:
    """Articles whose keyword ``field`` matches one of ``keys`` (normalized keyword keys)."""

    field: str
    keys: frozenset[str]


@dataclass(frozen=True)
class MatchAll:
    """Every live article (the base of filter-only queries)."""


@dataclass(frozen=True)
class MatchNone:
    """No article (e.g. a term that analyzes to nothing inside a must clause)."""


@dataclass(frozen=True)
class Bool:
    must: tuple = ()
    should: tuple = ()
    filter: tuple = ()
    must_not: tuple = ()
    boost: float = 1.0


@dataclass(frozen=True)
class Recency:
    """A query asking to be ranked fresher first (its ``recency:`` clause): ``node`` with
    every score times ``0.5 ** (age / half_life)``, the age in days before ``today`` (None:
    the search's). Only ever the root of a plan; the Index unwraps it before execution, so
    the engine never meets it."""

    node: Node
    half_life: float
    today: date | None = None


Node = Term | Phrase | Prefix | DateRange | Keyword | MatchAll | MatchNone | Bool | Recency
SCORING = (Term, Phrase, Prefix)
