"""AST to plan: analysis, prefix expansion, keyword keys, date ranges and occur placement.

The rules (docs/query-syntax.md, "How a query runs", is the user-facing version):

- a word is analyzed with its field's analyzer (unfielded: "body", searching both text
  fields); nothing left (a stop word) drops the word, also from a MUST clause; several terms
  ("russian-backed") become a :class:`Phrase`; a phrase keeps stop-word gaps in its offsets;
- filters (keyword, date, and combinations of them) go to ``Bool.filter`` / ``must_not`` and
  never score; joined by a space they always restrict, even under the "or" operator;
- a filter-only query is ``Bool(filter=...)`` and a negation-only one ``Bool(must_not=...)``
  (plus filters), which the engine reads as "every article passing them"; ``MatchAll`` is
  never emitted; a query left with nothing to run is :class:`MatchNone`.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as _dt
from collections.abc import Callable, Mapping
from itertools import repeat

from ..analysis.analyzer import Analyzer
from ..errors import ConfigError, QuerySyntaxError, QueryTooExpensiveError
from ..schema import TEXT_FIELDS, UNFIELDED_ANALYZER, normalize_keyword
from . import dates, plan
from .ast import BoolQ, Clause, DateFilter, FieldFilter, Node, Occur, PhraseQ, RecencyQ, Word
from .planner import (
    DEFAULT_EXPANSION_LIMIT,
    DEFAULT_PREFIX_LIMIT,
    check_default_operator,
    half_life_days,
)

ExpandPrefix = Callable[[str, tuple[str, ...]], list[str]]


def compile(
    ast: Node,
    *,
    analyzers: Mapping[str, Analyzer],
    default_operator: str = "or",
    expand_prefix: ExpandPrefix | None = None,
    prefix_limit: int = DEFAULT_PREFIX_LIMIT,
    today: _dt.date | None = None,
    query: str = "",
    expansion_limit: int = DEFAULT_EXPANSION_LIMIT,
) -> plan.Node:
    """Compile a query AST to a plan node the engine executes.

    ``analyzers`` maps text field names to their analyzers ("body" is required; it serves
    unfielded words). ``default_operator`` ("or" or "and") decides :attr:`Occur.DEFAULT`
    clauses. ``expand_prefix(prefix, fields)`` lists the index terms starting with a prefix;
    more than ``prefix_limit`` of them, or more than ``expansion_limit`` for all the
    prefixes of the query together, is an error. Identical clauses of a group that hold a
    prefix are merged into one whose boost is multiplied by their count (the same scores,
    the work of one). ``today`` anchors relative dates (default: the system date).
    ``query`` is the parsed text, only used in error messages.

    Raises :class:`QueryTooExpensiveError` for prefixes that match too many terms,
    :class:`QuerySyntaxError` for a prefix that cannot be expanded and for a relative date
    range that resolves to nothing.
    """
    check_default_operator(default_operator)
    if UNFIELDED_ANALYZER not in analyzers:
        raise ConfigError(
            f"analyzers must include {UNFIELDED_ANALYZER!r} (used for unfielded words)"
        )
    compiler = _Compiler(
        analyzers, default_operator, expand_prefix, (prefix_limit, expansion_limit), today, query
    )
    compiler.merge_repeats = _has_prefix(ast)  # (else there is nothing worth merging)
    node = compiler.node(ast)
    if node is None:
        return plan.MatchNone()
    if (
        _filterish(node)
        and not isinstance(node, plan.MatchNone)
        and not (isinstance(node, plan.Bool) and not node.must and not node.should)
    ):
        node = plan.Bool(filter=(node,))  # one shape for "filters only" at the top
    if compiler.recency is not None:
        return plan.Recency(node, half_life_days(compiler.recency.half_life), today)
    return node


def _filterish(node: plan.Node) -> bool:
    """Whether ``node`` never scores (it only says which articles pass)."""
    if isinstance(node, plan.Bool):
        return all(_filterish(n) for n in node.must + node.should)
    return not isinstance(node, plan.SCORING)


def _boosted(node: plan.Node, boost: float) -> plan.Node:
    if boost == 1 or not isinstance(node, (*plan.SCORING, plan.Bool)) or _filterish(node):
        return node
    return dc.replace(node, boost=node.boost * boost)


def _merge_keywords(nodes: list[plan.Node]) -> list[plan.Node]:
    """Keyword filters on one field merged: alternatives (should) or exclusions (must_not)."""
    merged: list[plan.Node] = []
    where: dict[str, tuple[int, plan.Keyword]] = {}  # field -> its filter and where it is
    for node in nodes:
        if isinstance(node, plan.Keyword):
            found = where.get(node.field)
            if found is not None:
                i, prev = found
                merged[i] = joined = plan.Keyword(node.field, prev.keys | node.keys)
                where[node.field] = (i, joined)
                continue
            where[node.field] = (len(merged), node)
        merged.append(node)
    return merged


def _as_should(node: plan.Node) -> plan.Node:
    """A bare filter as an alternative: wrapped, so that filters only ever sit in filter."""
    if isinstance(node, plan.Bool) or not _filterish(node):
        return node
    return plan.Bool(filter=(node,))


def _has_prefix(node: Node) -> bool:
    if isinstance(node, Word):
        return node.prefix
    if isinstance(node, BoolQ):
        return any(_has_prefix(c.node) for c in node.clauses)
    return False


def _merged_repeats(clauses: tuple[Clause, ...]) -> list[tuple[Clause, int]]:
    """Each clause with how often it occurs, in first-occurrence order: identical clauses that
    hold a prefix are merged (expanding them is the expensive part); any other keeps its
    own place (repeated plain words score as they always have)."""
    out: list[tuple[Clause, int]] = []
    seen: dict[Clause, int] = {}
    for clause in clauses:
        if _has_prefix(clause.node):
            i = seen.get(clause)  # AST equality ignores positions
            if i is not None:
                out[i] = (clause, out[i][1] + 1)
                continue
            seen[clause] = len(out)
        out.append((clause, 1))
    return out


class _Compiler:
    def __init__(self, analyzers, default_operator, expand_prefix, limits, today, query):
        self.analyzers = analyzers
        self.op = default_operator
        self.expand_prefix = expand_prefix
        self.prefix_limit, self.expansion_limit = limits
        self.today = today
        self.query = query
        self.expanded = 0  # terms the query's prefixes expanded to so far
        self.merge_repeats = True
        self._expansions: dict[tuple, tuple[str, ...]] = {}
        self.recency: RecencyQ | None = None  # the query's recency: clause (top level only)

    def error(self, message: str, node: Node) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, max(node.pos, 0))

    def node(self, node: Node) -> plan.Node | None:
        """The plan for ``node``; None when nothing is left of it (stop words only)."""
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, PhraseQ):
            fields, analyzer = self.target(node.field)
            return self.terms(
                analyzer.terms_with_positions(node.text), fields, node.slop, node.boost
            )
        if isinstance(node, FieldFilter):
            key = normalize_keyword(node.value)
            return plan.Keyword(node.field, frozenset({key})) if key else plan.MatchNone()
        if isinstance(node, DateFilter):
            return self.date(node)
        if isinstance(node, BoolQ):
            return self.bool(node)
        if isinstance(node, RecencyQ):
            self.recency = self.recency or node  # how the query ranks, not what it matches
            return None
        raise TypeError(f"not a query node: {node!r}")

    def target(self, field: str | None) -> tuple[tuple[str, ...], Analyzer]:
        if field is None:
            return TEXT_FIELDS, self.analyzers[UNFIELDED_ANALYZER]
        return (field,), self.analyzers.get(field) or self.analyzers[UNFIELDED_ANALYZER]

    @staticmethod
    def terms(
        pairs: list[tuple[str, int]], fields: tuple[str, ...], slop: int, boost: float
    ) -> plan.Node | None:
        if not pairs:
            return None
        if len(pairs) == 1:
            return plan.Term(pairs[0][0], fields, boost)
        first = pairs[0][1]
        return plan.Phrase(
            tuple(t for t, _ in pairs), tuple(p - first for _, p in pairs), fields, slop, boost
        )

    def word(self, word: Word) -> plan.Node | None:
        fields, analyzer = self.target(word.field)
        if not word.prefix:
            return self.terms(analyzer.terms_with_positions(word.text), fields, 0, word.boost)
        prefix = analyzer.prefix(word.text)
        if prefix is None:
            raise self.error("a prefix query (word*) needs exactly one word before '*'", word)
        if self.expand_prefix is None:
            raise self.error(f"prefix queries ({word.text}*) need an index to expand them", word)
        expanded = self._expansions.get((prefix, fields))
        if expanded is None:
            expanded = self._expansions[prefix, fields] = tuple(self.expand_prefix(prefix, fields))
        if len(expanded) > self.prefix_limit:
            raise QueryTooExpensiveError(
                f"the prefix '{word.text}*' matches too many terms (more than "
                f"{self.prefix_limit}); type more letters before '*'",
                self.query,
                max(word.pos, 0),
            )
        self.expanded += len(expanded)
        if self.expanded > self.expansion_limit:
            raise QueryTooExpensiveError(
                f"the query's prefixes match too many terms together (more than "
                f"{self.expansion_limit}, counting each prefix each time it occurs); use fewer "
                "prefixes or more letters before '*'",
                self.query,
                max(word.pos, 0),
            )
        if not expanded:
            return plan.MatchNone()
        return plan.Prefix(prefix, expanded, fields, word.boost)

    def date(self, node: DateFilter) -> plan.Node:
        try:
            spec = dates.parse_spec(node.spec)
            start, end = spec.resolve(self.today or _dt.date.today())
        except dates.DateSpecError as exc:
            raise self.error(f"bad date {node.spec!r}: {exc.reason}", node) from None
        return plan.DateRange(start, end)

    def bool(self, query: BoolQ) -> plan.Node | None:
        must: list[plan.Node] = []
        should: list[plan.Node] = []
        filters: list[plan.Node] = []
        must_not: list[plan.Node] = []
        clauses = query.clauses
        merged = _merged_repeats(clauses) if self.merge_repeats else zip(clauses, repeat(1))
        dropped = False  # an alternative matching no term, left out (see the end)
        for clause, repeats in merged:
            node = self.node(clause.node)
            if node is None:
                continue  # nothing left to match (stop words): dropped, never "match nothing"
            if repeats > 1 and clause.occur is not Occur.MUST_NOT:
                node = _boosted(node, repeats)  # k equal clauses add k equal scores
            nothing = isinstance(node, plan.MatchNone)
            occur = clause.occur
            if occur is Occur.DEFAULT:
                # Filters joined by a space restrict; a word matching no term (MatchNone) is a
                # word like any other and follows the operator.
                required = self.op == "and" or (_filterish(node) and not nothing)
                occur = Occur.MUST if required else Occur.SHOULD
            if occur is Occur.MUST_NOT:
                if not nothing:
                    must_not.append(node)
            elif occur is Occur.MUST:
                if nothing:
                    return plan.MatchNone()
                (filters if _filterish(node) else must).append(node)
            elif not nothing:
                should.append(node)
            else:
                dropped = True
        should = _merge_keywords(should)
        must_not = _merge_keywords(must_not)
        if should and filters and not must:
            # Lucene would make alternatives optional next to a filter; here "aleppo syria
            # section:world" must still match aleppo or syria.
            either = (
                should[0]
                if len(should) == 1
                else plan.Bool(should=tuple(_as_should(n) for n in should))
            )
            (filters if _filterish(either) else must).append(either)
            should = []
        if not (must or should or filters):
            if dropped:
                # Its only alternatives match no term, so it matches nothing: not every
                # article but the negated ones. (Else "zz* -oil" would match all but oil,
                # while "oi* -oil", whose prefix names only deleted articles' words, would
                # match nothing: an answer that changed once a merge dropped them.)
                return plan.MatchNone()
            if not must_not:
                return None
        only = must + should + filters
        if len(only) == 1 and not must_not:
            return _boosted(only[0], query.boost)
        result = plan.Bool(
            tuple(must), tuple(_as_should(n) for n in should), tuple(filters), tuple(must_not)
        )
        return _boosted(result, query.boost)
