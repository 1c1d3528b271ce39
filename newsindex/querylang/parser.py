"""The query parser: tokens to the schema-free AST (see docs/query-syntax.md for the grammar).

Recursive descent, depth-bounded: operator chains are parsed by loops, so only parentheses
recurse, and a ``(`` deeper than ``max_depth`` is an error (leniently: read as plain words
without recursing) before the recursion happens. The finished AST is held to the same limit
(chains nest groups without parentheses) because ``==``, ``str`` and compile walk it
recursively: with the limit (at most 100) nothing downstream gets near Python's recursion limit.
"""

from __future__ import annotations

import dataclasses as dc
import difflib
import math

from ..analysis.tokenizer import TOKEN_PATTERN, TOKENIZER, raw_tokens, tokens_with_offsets
from ..errors import ConfigError, QuerySyntaxError
from ..schema import DATE_FIELD, KEYWORD_FIELDS, QUERY_FIELDS, normalize_keyword
from . import dates
from .ast import (
    BoolQ,
    Clause,
    DateFilter,
    FieldFilter,
    Node,
    Occur,
    PhraseQ,
    RecencyQ,
    Word,
    is_filter,
)
from .lexer import (
    AND,
    BOOST,
    EOF,
    FIELD,
    LPAREN,
    MINUS,
    NOT,
    OR,
    PHRASE,
    PLUS,
    RPAREN,
    SLOP,
    WORD,
    Token,
    tokenize,
)
from .planner import MAX_BOOST, MAX_CLAUSES, RECENCY_FIELD, half_life_days

MAX_DEPTH = 64
#: Deeper limits are refused: walking the AST (==, str, compile) is recursive.
DEPTH_CEILING = 100
MAX_SLOP = 10_000

_PRIMARY = (WORD, PHRASE, FIELD, LPAREN)
_OPERAND = _PRIMARY + (PLUS, MINUS, NOT)

# (sign, node, position): sign is "+", "-" or "" for an operand not yet placed in a BoolQ.
_Unary = tuple[str, Node, int]


class _Parser:
    def __init__(self, text: str, *, lenient: bool, max_clauses: int, max_depth: int):
        self.text = text
        self.lenient = lenient
        self.max_clauses = max_clauses
        self.max_depth = max_depth
        self.warnings: list[QuerySyntaxError] = []
        self.leaves = 0
        self.tokens = tokenize(text, self.fail)
        self.i = 0
        self.prev_end = 0  # where the last consumed token ended: suffixes must touch it

    # -- plumbing
    def fail(self, message: str, position: int) -> None:
        """Raise (strict) or record a warning and let the caller recover (lenient)."""
        error = QuerySyntaxError(message, self.text, position)
        if not self.lenient:
            raise error
        self.warnings.append(error)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != EOF:
            self.i += 1
            self.prev_end = token.end
        return token

    # -- grammar
    def query(self) -> Node:
        node = self.sequence(0, None, None)
        if node is None:
            if not self.warnings:
                self.fail(
                    'empty query: expected a word, a "phrase" or a filter such as section:world', 0
                )
            return BoolQ(())
        deep = _too_deep(node, self.max_depth)
        if deep is not None:
            self.fail(_too_deep_message(self.max_depth), max(deep.pos, 0))
            node = _cap_depth(node, self.max_depth)
        return self.one_recency(node)

    def one_recency(self, node: Node) -> Node:
        """The query's ``recency:`` clauses checked: at most one, beside something to search
        (the parser has already refused them anywhere but at the top level)."""
        clauses = node.clauses if isinstance(node, BoolQ) else (Clause(Occur.DEFAULT, node),)
        switches = [c.node for c in clauses if isinstance(c.node, RecencyQ)]
        if not switches:
            return node
        for extra in switches[1:]:
            self.fail(f"{RECENCY_FIELD}: given twice: a query has one half-life", extra.pos)
        others = [c for c in clauses if not isinstance(c.node, RecencyQ)]
        if not others:
            self.fail(
                f"{RECENCY_FIELD}: only orders the results: add words or filters to search, "
                f"e.g. oil {RECENCY_FIELD}:30d",
                switches[0].pos,
            )
            return BoolQ(())  # lenient: nothing to search
        if len(switches) == 1:
            return node
        kept = [c for c in clauses if not isinstance(c.node, RecencyQ) or c.node is switches[0]]
        if isinstance(node, BoolQ):  # (several clauses: always)
            node = dc.replace(node, clauses=tuple(kept))  # lenient: the first one counts
        return node

    def sequence(self, depth: int, field: str | None, opener: Token | None) -> Node | None:
        """Operands joined by spaces, up to ``)`` (when ``opener`` is a ``(``) or the end."""
        elements: list[_Unary] = []
        while True:
            token = self.peek()
            if token.kind == EOF:
                if opener is not None:
                    self.fail("unbalanced parentheses: expected ')' to close this '('", opener.pos)
                break
            if token.kind == RPAREN:
                self.advance()
                if opener is not None:
                    break
                self.fail("unbalanced parentheses: this ')' has no matching '('", token.pos)
                continue
            if token.kind not in _OPERAND:
                self.advance()
                if token.kind in (AND, OR):
                    self.fail(f"expected a term before {token.kind}", token.pos)
                else:
                    self.fail(
                        f"unexpected {token.describe()}: a boost or slop must directly "
                        "follow the term it applies to",
                        token.pos,
                    )
                continue
            element = self.chain(depth, field, OR)
            if element is not None:
                elements.append(element)
        alternatives = field in KEYWORD_FIELDS or field == DATE_FIELD
        return _build_sequence(elements, alternatives)

    def chain(self, depth: int, field: str | None, op: str) -> _Unary | None:
        """``x OR y OR ...`` (op=OR, operands are AND chains) or ``x AND y ...`` (op=AND)."""
        items: list[_Unary] = []
        while True:
            item = self.chain(depth, field, AND) if op == OR else self.unary(depth, field)
            if item is not None:
                items.append(item)
            if self.peek().kind != op:
                break
            token = self.advance()
            if self.peek().kind not in _OPERAND:
                self.fail(f"expected a term after {op}", token.pos)
                break
        if len(items) > 1:
            for item in [i for i in items if isinstance(i[1], RecencyQ)]:
                self.fail(
                    f"{RECENCY_FIELD}: orders the whole query, so it cannot be an operand of "
                    f"{op}: put it beside the query (a OR b {RECENCY_FIELD}:30d)",
                    item[2],
                )
                items.remove(item)  # lenient: dropped
        return _build_chain(items, op)

    def unary(self, depth: int, field: str | None) -> _Unary | None:
        token = self.peek()
        sign = ""
        if token.kind in (PLUS, MINUS, NOT):
            self.advance()
            sign = "+" if token.kind == PLUS else "-"
            following = self.peek()
            adjacent = token.kind == NOT or following.pos == token.end
            if following.kind not in _PRIMARY or not adjacent:
                where = "after NOT" if token.kind == NOT else f"right after '{token.kind}'"
                self.fail(f"expected a term {where}, found {following.describe()}", token.pos)
                if following.kind not in _PRIMARY:
                    return None
                sign = ""  # lenient: "- x" reads as "x"
        node = self.primary(depth, field)
        if isinstance(node, RecencyQ) and sign:
            self.fail(
                f"{RECENCY_FIELD}: is not a condition, so it cannot be required or excluded: "
                f"write {RECENCY_FIELD}:{node.half_life} without '{token.kind}'",
                token.pos,
            )
            sign = ""  # lenient: what was meant
        return None if node is None else (sign, node, token.pos)

    def primary(self, depth: int, field: str | None) -> Node | None:
        token = self.advance()
        if token.kind == LPAREN:
            node = self.group(token, depth, field)
        elif token.kind == FIELD:
            return self.fielded(token, depth)
        else:
            node = self.leaf(token, field)
        return self.suffixes(node, token.kind == PHRASE)

    def fielded(self, token: Token, depth: int) -> Node | None:
        name = token.text
        if name == RECENCY_FIELD:
            return self.recency(token, depth)
        if name not in QUERY_FIELDS:
            near = difflib.get_close_matches(name.lower(), (*QUERY_FIELDS, RECENCY_FIELD), n=1)
            guess = f"did you mean '{near[0]}:'? " if near else ""
            self.fail(
                f"unknown field '{name}'; {guess}known fields: {', '.join(QUERY_FIELDS)}",
                token.pos,
            )
            return self.count(Word(name, pos=token.pos))  # lenient: the name is a plain word
        value = self.peek()
        if value.kind not in (WORD, PHRASE, LPAREN) or value.pos != token.end:
            self.fail(
                f"expected a value right after '{name}:' (a word, a \"phrase\" or "
                "(several values)), found " + value.describe(),
                token.end,
            )
            return self.count(Word(name, pos=token.pos))
        self.advance()
        if value.kind == LPAREN:
            return self.suffixes(self.group(value, depth, name), False)
        node = self.leaf(value, name)
        if node is not None:
            node = dc.replace(node, pos=token.pos)  # a fielded term starts at its field
        return self.suffixes(node, value.kind == PHRASE)

    def recency(self, token: Token, depth: int) -> Node | None:
        """``recency:30d``: the half-life the whole query is ranked with (docs/news.md)."""
        value = self.peek()
        if value.kind != WORD or value.pos != token.end or value.prefix or value.sign:
            self.fail(
                f"expected a half-life right after '{RECENCY_FIELD}:' (30d, 2w, 6m or 1y), "
                f"found {value.describe()}",
                token.end,
            )
            return None
        self.advance()
        try:
            half_life_days(value.text)
        except ConfigError:
            self.fail(
                f"bad half-life {value.text!r}: expected a positive number of days, weeks, "
                "months or years such as 30d, 2w, 6m or 1y",
                value.pos,
            )
            return None
        if depth > 0:
            self.fail(
                f"{RECENCY_FIELD}: orders the whole query, so it cannot go inside "
                f"parentheses: put it beside them ((a OR b) {RECENCY_FIELD}:30d)",
                token.pos,
            )
            return None
        return RecencyQ(value.text.lower(), pos=token.pos)

    def group(self, opener: Token, depth: int, field: str | None) -> Node | None:
        if depth >= self.max_depth:
            self.fail(_too_deep_message(self.max_depth), opener.pos)
            return self.skip_group()
        node = self.sequence(depth + 1, field, opener)
        if node is None:
            self.fail("empty parentheses: expected a term inside '( )'", opener.pos)
        return node

    def skip_group(self) -> Node | None:
        """Lenient recovery for a too deep ``(``: its words and phrases, as plain words.

        Reads up to the matching ``)`` without recursing, which is the point of the limit.
        """
        level, words = 1, []
        while level and self.peek().kind != EOF:
            token = self.advance()
            level += (token.kind == LPAREN) - (token.kind == RPAREN)
            if token.kind in (WORD, PHRASE) and token.text:
                words.append(self.count(Word(token.text, pos=token.pos)))
        return _build_sequence([("", w, w.pos) for w in words if w is not None], False)

    def suffixes(self, node: Node | None, is_phrase: bool) -> Node | None:
        """An optional ``~slop`` (phrases only), then an optional ``^boost``."""
        token = self.peek()
        if token.kind == SLOP and token.pos == self.prev_end:
            self.advance()
            digits = token.text.lstrip("0") or "0"
            if len(digits) > 5 or int(digits) > MAX_SLOP:
                self.fail(f"slop too large: at most {MAX_SLOP}", token.pos)
            elif is_phrase and isinstance(node, PhraseQ):
                node = dc.replace(node, slop=int(digits))
            elif node is not None:
                self.fail("'~' (slop) only applies to a \"phrase\" in a text field", token.pos)
            token = self.peek()
        if token.kind == BOOST and token.pos == self.prev_end:
            self.advance()
            boost = float(token.text)
            if not (math.isfinite(boost) and boost > 0):
                self.fail("a boost must be a positive number", token.pos)
            elif boost > MAX_BOOST:
                self.fail(f"boost too large: at most {MAX_BOOST:,.0f}", token.pos)
            elif node is not None and is_filter(node):
                self.fail(
                    "a filter or a negation does not score, so it cannot be boosted", token.pos
                )
            elif isinstance(node, (Word, PhraseQ, BoolQ)):  # the filters were refused above
                combined = node.boost * boost
                if combined > MAX_BOOST:
                    self.fail(f"boost too large: at most {MAX_BOOST:,.0f}", token.pos)
                elif combined == 0:
                    self.fail("boost too small: the boosts multiply to 0", token.pos)
                else:
                    node = dc.replace(node, boost=node.boost * boost)
        return node

    def leaf(self, token: Token, field: str | None) -> Node | None:
        text, pos = token.text, token.pos
        if not text:
            what = "a word before '*'" if token.prefix else f"a value after '{token.sign}'"
            if token.kind == PHRASE:
                what = "words between the quotes"
            self.fail(f"expected {what}", pos)
            return None
        if field in KEYWORD_FIELDS or field == DATE_FIELD:
            if token.prefix:
                self.fail(f"'*' (prefix) only works on text fields, not on '{field}:'", pos)
            node = self.date(field, token) if field == DATE_FIELD else self.keyword(field, token)
        elif token.prefix and len(raw_tokens(text)) != 1:
            self.fail("a prefix query (word*) needs exactly one word before '*'", pos)
            node = Word(text, field, pos=pos)
        elif token.kind == PHRASE:
            node = PhraseQ(text, field, pos=pos)
        else:
            node = Word(text, field, prefix=token.prefix, pos=pos)
        if token.sign and node is not None:
            self.fail(
                f"'{token.sign}' goes before the field: write {token.sign}{field}:{text}", pos
            )
            occur = Occur.MUST_NOT if token.sign == "-" else Occur.MUST
            node = BoolQ((Clause(occur, node),), pos=pos)  # lenient: what was meant
        return self.count(node)

    def keyword(self, field: str, token: Token) -> Node | None:
        if not normalize_keyword(token.text):
            self.fail(f"{field}: value {token.text!r} has no letters or digits to match", token.pos)
            return None
        return FieldFilter(field, token.text, pos=token.pos)

    def date(self, field: str, token: Token) -> Node | None:
        spec = "".join(token.text.split()).lower()
        # Offsets inside the value are exact unless whitespace had to be removed.
        base = token.pos + (1 if token.kind == PHRASE else 0)
        try:
            dates.parse_spec(spec)
        except dates.DateSpecError as exc:
            shift = exc.offset if spec == token.text.lower() else 0
            self.fail(f"bad date {token.text!r}: {exc.reason}", base + shift)
            return Word(token.text, pos=token.pos)  # lenient: a plain word
        return DateFilter(field, spec, pos=token.pos)

    def count(self, node: Node | None) -> Node | None:
        """Enforce ``max_clauses`` on words, phrases and filters."""
        if node is None:
            return None
        self.leaves += 1
        if self.leaves == self.max_clauses + 1:
            self.fail(
                f"too many clauses: a query may hold at most {self.max_clauses} words, "
                "phrases and filters",
                node.pos,
            )
        return None if self.leaves > self.max_clauses else node


def _too_deep_message(limit: int) -> str:
    return (
        f"too deeply nested: more than {limit} levels of groups (parentheses, and AND/OR "
        "chains inside them)"
    )


def _too_deep(node: Node, limit: int) -> BoolQ | None:
    """The first BoolQ nested deeper than ``limit`` (the root BoolQ is level 1), iteratively."""
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, BoolQ):
            if level > limit:
                return current
            stack.extend((c.node, level + 1) for c in reversed(current.clauses))
    return None


def _cap_depth(node: Node, limit: int, level: int = 1) -> Node:
    """Lenient recovery: groups nested deeper than ``limit`` are replaced by their words."""
    if not isinstance(node, BoolQ):
        return node
    clauses: list[Clause] = []
    for clause in node.clauses:
        if level < limit or not isinstance(clause.node, BoolQ):
            clauses.append(Clause(clause.occur, _cap_depth(clause.node, limit, level + 1)))
            continue
        stack: list[Node] = [clause.node]
        while stack:  # iterative: the subtree may be deeper than the recursion limit
            current = stack.pop()
            if isinstance(current, BoolQ):
                stack.extend(c.node for c in reversed(current.clauses))
            elif isinstance(current, (Word, PhraseQ)):
                clauses.append(Clause(Occur.DEFAULT, Word(current.text, pos=current.pos)))
    return dc.replace(node, clauses=tuple(clauses))


def _negated(sign: str, node: Node) -> Node:
    if sign != "-":
        return node
    return BoolQ((Clause(Occur.MUST_NOT, node),), pos=node.pos)


def _build_chain(items: list[_Unary], op: str) -> _Unary | None:
    if len(items) <= 1:
        return items[0] if items else None
    if op == AND:
        clauses = tuple(Clause(Occur.MUST_NOT if s == "-" else Occur.MUST, n) for s, n, _ in items)
    else:  # "+" means nothing among alternatives; "-x" is the alternative "not x"
        clauses = tuple(Clause(Occur.SHOULD, _negated(s, n)) for s, n, _ in items)
    return "", BoolQ(clauses, pos=items[0][2]), items[0][2]


def _build_sequence(elements: list[_Unary], alternatives: bool) -> Node | None:
    if not elements:
        return None
    if len(elements) == 1:
        sign, node, pos = elements[0]
        if not sign:
            return node
        return BoolQ((Clause(Occur.MUST if sign == "+" else Occur.MUST_NOT, node),), pos=pos)
    # Inside section:( ... ) or date:( ... ), values separated by spaces are alternatives.
    alternatives = alternatives and not any(s for s, _, _ in elements)
    occurs = {
        "+": Occur.MUST,
        "-": Occur.MUST_NOT,
        "": Occur.SHOULD if alternatives else Occur.DEFAULT,
    }
    return BoolQ(tuple(Clause(occurs[s], n) for s, n, _ in elements), pos=elements[0][2])


def plain_words(text: str, *, max_clauses: int = MAX_CLAUSES, tokenizer: int = TOKENIZER) -> Node:
    """Any string as plain words joined by the default operator: no syntax at all.

    Words are the tokenizer's tokens (``tokenizer``: its version; ``Russian-backed`` gives two
    words, ``U.S.`` one), so quotes, colons, parentheses and upper-case AND/OR/NOT mean
    nothing. Never raises; beyond ``max_clauses`` words the rest is ignored. No words gives
    the empty query ``BoolQ(())``.
    """
    if tokenizer == 1:
        spans = [m.span() for m in TOKEN_PATTERN.finditer(text)]
    else:
        spans = [(t.start, t.end) for t in tokens_with_offsets(text, tokenizer)]
    words = [Word(text[s:e], pos=s) for s, e in spans[:max_clauses]]
    if len(words) == 1:
        return words[0]
    return BoolQ(tuple(Clause(Occur.DEFAULT, w) for w in words), pos=0)
