"""The query AST: what the user typed, as frozen dataclasses, before analysis or configuration.

The AST is schema-free and configuration-free: words are not analyzed, keyword values are not
normalized, relative dates are not resolved and clauses joined by a plain space keep
:attr:`Occur.DEFAULT` (the default operator decides at compile time). ``str(node)`` writes
query text that :func:`newsindex.querylang.parse` turns back into an equal node.

Every node carries ``pos``, the 0-based offset of its first character in the parsed text, for
error messages; it is excluded from ``==`` and ``hash`` so that equal queries compare equal
wherever they were typed.
"""

from __future__ import annotations

import dataclasses as dc
import enum
import math
from typing import cast

from .lexer import MINUS, PLUS
from .planner import MAX_BOOST, OPERATORS, RECENCY_FIELD


class Occur(enum.Enum):
    """How a clause of a :class:`BoolQ` takes part in matching."""

    #: Joined by a plain space: the default operator decides ("or": optional, "and": required).
    #: Filters (``section:world``) joined by a space always restrict, whatever the operator.
    DEFAULT = "default"
    MUST = "must"  # ``+x`` or an operand of AND
    SHOULD = "should"  # an operand of OR
    MUST_NOT = "must_not"  # ``-x``, ``NOT x``


class _Node:
    """Mixin: ``str(node)`` is query text that parses back to the node."""

    def __str__(self) -> str:
        return to_query(cast("Node", self))  # every subclass is one of Node's members


def _check_boost(boost: float) -> None:
    if not (isinstance(boost, (int, float)) and math.isfinite(boost) and 0 < boost <= MAX_BOOST):
        raise ValueError(f"boost must be a number in (0, {MAX_BOOST:,.0f}], got {boost!r}")


def _check_text(name: str, text: str) -> None:
    if not isinstance(text, str) or not text:
        raise ValueError(f"{name} must be a non-empty string, got {text!r}")


@dc.dataclass(frozen=True)
class Word(_Node):
    """A bare word (``aleppo``, ``title:aleppo``, ``alep*``); ``field`` None means all text."""

    text: str
    field: str | None = None
    boost: float = 1.0
    prefix: bool = False
    pos: int = dc.field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_text("Word.text", self.text)
        _check_boost(self.boost)


@dc.dataclass(frozen=True)
class PhraseQ(_Node):
    """A quoted phrase (``"1070 apartments"~2^3``); ``slop`` is the allowed position moves."""

    text: str
    field: str | None = None
    slop: int = 0
    boost: float = 1.0
    pos: int = dc.field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_text("PhraseQ.text", self.text)
        _check_boost(self.boost)
        if not isinstance(self.slop, int) or self.slop < 0:
            raise ValueError(f"slop must be an int >= 0, got {self.slop!r}")


@dc.dataclass(frozen=True)
class FieldFilter(_Node):
    """A keyword filter (``section:world``, ``source:"TRT World"``): restricts, never scores."""

    field: str
    value: str
    pos: int = dc.field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_text("FieldFilter.value", self.value)


@dc.dataclass(frozen=True)
class DateFilter(_Node):
    """A date filter; ``spec`` is the value as typed, lowercased (``2016-11``, ``last-7d``).

    Relative specs stay symbolic here and are resolved against ``today`` by the compiler.
    """

    field: str
    spec: str
    pos: int = dc.field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_text("DateFilter.spec", self.spec)


@dc.dataclass(frozen=True)
class RecencyQ(_Node):
    """``recency:30d``: rank the whole query fresher first (a half-life as typed, lowercased).

    Not a condition: it matches nothing and filters nothing, so it only stands at the top
    level of a query, beside its other clauses (never negated, required, in a group or an
    AND/OR chain), at most once.
    """

    half_life: str
    pos: int = dc.field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_text("RecencyQ.half_life", self.half_life)


@dc.dataclass(frozen=True)
class Clause:
    """One operand of a :class:`BoolQ` with how it takes part."""

    occur: Occur
    node: Node


@dc.dataclass(frozen=True)
class BoolQ(_Node):
    """Clauses combined with :class:`Occur` semantics; from operators, spaces and parentheses.

    Shapes produced by the parser: an OR chain has only SHOULD clauses (two or more); every
    other BoolQ has no SHOULD clause. ``BoolQ(())`` is the empty query (lenient mode only).
    """

    clauses: tuple[Clause, ...]
    boost: float = 1.0
    pos: int = dc.field(default=-1, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.clauses, tuple) or not all(
            isinstance(c, Clause) for c in self.clauses
        ):
            raise ValueError("BoolQ.clauses must be a tuple of Clause")
        _check_boost(self.boost)


Node = Word | PhraseQ | FieldFilter | DateFilter | RecencyQ | BoolQ
LEAVES = (Word, PhraseQ, FieldFilter, DateFilter, RecencyQ)


def is_filter(node: Node) -> bool:
    """Whether ``node`` only restricts (filters, negations, and combinations of them)."""
    if isinstance(node, (FieldFilter, DateFilter)):
        return True
    if isinstance(node, BoolQ):
        return all(is_filter(c.node) for c in node.clauses if c.occur is not Occur.MUST_NOT)
    return False


def resolve_default(node: Node, default_operator: str) -> Node:
    """``node`` with every :attr:`Occur.DEFAULT` replaced as the operator says (filters: MUST)."""
    if not isinstance(node, BoolQ):
        return node
    clauses = []
    for clause in node.clauses:
        occur = clause.occur
        if occur is Occur.DEFAULT and isinstance(clause.node, RecencyQ):
            clauses.append(clause)  # a switch, not a condition: no operator applies
            continue
        if occur is Occur.DEFAULT:
            must = default_operator == "and" or is_filter(clause.node)
            occur = Occur.MUST if must else Occur.SHOULD
        clauses.append(Clause(occur, resolve_default(clause.node, default_operator)))
    return dc.replace(node, clauses=tuple(clauses))


# ----------------------------------------------------------------------------- printing
_WORD_SPECIALS = frozenset('\\()"^~*:')
_PREFIX = {Occur.MUST: "+", Occur.MUST_NOT: "-", Occur.SHOULD: "", Occur.DEFAULT: ""}


def escape_word(text: str) -> str:
    """``text`` as one bare word: specials backslash-escaped, operators and signs defused."""
    out = ["\\" + ch if ch in _WORD_SPECIALS or ch.isspace() else ch for ch in text]
    if text in OPERATORS or text[:1] in (PLUS, MINUS):
        out[0] = "\\" + out[0]
    return "".join(out)


def quote(text: str) -> str:
    """``text`` as a quoted phrase."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _boost(boost: float) -> str:
    return "" if boost == 1 else "^" + format_number(boost)


def _leaf(node: Node) -> str:
    if isinstance(node, Word):
        head = f"{node.field}:" if node.field else ""
        return head + escape_word(node.text) + ("*" if node.prefix else "") + _boost(node.boost)
    if isinstance(node, PhraseQ):
        head = f"{node.field}:" if node.field else ""
        slop = f"~{node.slop}" if node.slop else ""
        return head + quote(node.text) + slop + _boost(node.boost)
    if isinstance(node, FieldFilter):
        value = node.value
        spaced = any(c.isspace() for c in value)
        return f"{node.field}:" + (quote(value) if spaced else escape_word(value))
    if isinstance(node, DateFilter):
        return f"{node.field}:{node.spec}"
    if isinstance(node, RecencyQ):
        return f"{RECENCY_FIELD}:{node.half_life}"
    raise TypeError(f"not a query node: {node!r}")


# Printing follows the parser's precedence (NOT/+/- > AND > OR > space) and only adds the
# parentheses it needs: the text of a parsed query never nests deeper than the original, so
# it stays within the depth limit when parsed back.
def _shape(node: Node) -> str:
    """'or' for an OR chain (2+ SHOULD), 'and' for an AND chain (2+ MUST/MUST_NOT), else ''."""
    if not isinstance(node, BoolQ) or len(node.clauses) < 2:
        return ""
    occurs = {c.occur for c in node.clauses}
    if occurs == {Occur.SHOULD}:
        return "or"
    return "and" if occurs <= {Occur.MUST, Occur.MUST_NOT} else ""


def _chain(node: Node) -> str:
    """The shape of ``node`` when it can print as a chain without parentheses (no boost)."""
    return _shape(node) if getattr(node, "boost", 1) == 1 else ""


def _operand(node: Node) -> str:
    """``node`` as one operand: a leaf, or a parenthesized group with its boost."""
    if isinstance(node, BoolQ):
        return f"({_body(node)})" + _boost(node.boost)
    return _leaf(node)


def _and_chain(node: BoolQ) -> str:
    return " AND ".join(
        ("-" if c.occur is Occur.MUST_NOT else "") + _operand(c.node) for c in node.clauses
    )


def _in_or(node: Node) -> str:
    if isinstance(node, BoolQ) and _chain(node) == "and":
        return _and_chain(node)
    if (
        isinstance(node, BoolQ)
        and node.boost == 1
        and len(node.clauses) == 1
        and node.clauses[0].occur is Occur.MUST_NOT
    ):
        return "-" + _operand(node.clauses[0].node)  # "a OR -b" parses to this shape
    return _operand(node)


def _in_sequence(node: Node) -> str:
    if isinstance(node, BoolQ):  # only a group is a chain
        chain = _chain(node)
        if chain == "or":
            return " OR ".join(_in_or(c.node) for c in node.clauses)
        if chain == "and":
            return _and_chain(node)
    return _operand(node)


def _body(node: BoolQ) -> str:
    if _shape(node) == "or":
        return " OR ".join(_in_or(c.node) for c in node.clauses)
    parts = []
    for c in node.clauses:
        if c.occur in (Occur.DEFAULT, Occur.SHOULD):
            parts.append(_in_sequence(c.node))
        else:
            parts.append(_PREFIX[c.occur] + _operand(c.node))
    return " ".join(parts)


def to_query(node: Node) -> str:
    """Query text for ``node`` that parses back to an equal node (see the module docstring)."""
    if isinstance(node, BoolQ) and node.boost == 1:
        return _body(node)
    return _operand(node)
