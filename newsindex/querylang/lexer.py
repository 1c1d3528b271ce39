"""The query lexer: text to tokens with 0-based positions, escapes resolved.

Problems are handed to a ``report(message, position)`` callback: the strict parser raises from
it, the lenient one records a warning and the lexer recovers (an unclosed quote is dropped, a
``^`` without a number is ignored, ...), so a lenient lex never fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .planner import OPERATORS

WORD, PHRASE, FIELD = "word", "phrase", "field"
LPAREN, RPAREN = "(", ")"
AND, OR, NOT = OPERATORS
PLUS, MINUS = "+", "-"
BOOST, SLOP, EOF = "^", "~", "end of query"

#: A field reference: a name (letter or underscore first) directly followed by a colon.
_FIELD = re.compile(r"[^\W\d]\w*:")
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_INT = re.compile(r"\d+")
#: Characters that end a bare word (besides whitespace). ':' is not one: "10:30" is a word.
_WORD_END = frozenset('()"^~')
# The common case: a run of word characters with no escapes, matched in one regex call.
_PLAIN_RUN = re.compile(r'[^\s()"^~\\]+')

Report = Callable[[str, int], None]


@dataclass(frozen=True)
class Token:
    """One token: ``text`` is unescaped (word, phrase), lowercased (field) or a number."""

    kind: str
    text: str
    pos: int
    end: int
    #: WORD: ended with an unescaped ``*`` (removed from ``text``).
    prefix: bool = False
    #: WORD right after ``field:``: an unescaped leading ``+``/``-`` (removed from ``text``).
    sign: str = ""

    def describe(self) -> str:
        """How the token is named in messages."""
        if self.kind == EOF:
            return "the end of the query"
        if self.kind in (WORD, PHRASE):
            return repr(self.text)
        if self.kind == FIELD:
            return f"'{self.text}:'"
        if self.kind in (BOOST, SLOP):
            return f"'{self.kind}{self.text}'"
        return f"'{self.kind}'"


def tokenize(text: str, report: Report) -> list[Token]:
    """The tokens of ``text``, ending with an EOF token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    value_mode = False  # right after "field:": no operators, signs or nested fields
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            value_mode = False
            continue
        if ch in "()":
            tokens.append(Token(ch, ch, i, i + 1))
            i += 1
            value_mode = False
            continue
        if ch == '"':
            i = _phrase(text, i, tokens, report)
            value_mode = False
            continue
        if ch in "^~":
            pattern = _NUMBER if ch == "^" else _INT
            m = pattern.match(text, i + 1)
            if m is None:
                what = (
                    "a number after '^' (a boost such as ^2)"
                    if ch == "^"
                    else ("a whole number after '~' (a slop such as ~2)")
                )
                report(f"expected {what}", i)
                i += 1
                continue
            tokens.append(Token(ch, m.group(), i, m.end()))
            i = m.end()
            value_mode = False
            continue
        if not value_mode:
            if ch in "+-":
                tokens.append(Token(ch, ch, i, i + 1))
                i += 1
                continue
            m = _FIELD.match(text, i)
            if m is not None:
                tokens.append(Token(FIELD, m.group()[:-1].lower(), i, m.end()))
                i = m.end()
                value_mode = True
                continue
        i = _word(text, i, value_mode, tokens, report)
        value_mode = False
    tokens.append(Token(EOF, "", n, n))
    return tokens


def _phrase(text: str, start: int, tokens: list[Token], report: Report) -> int:
    buf: list[str] = []
    j, n = start + 1, len(text)
    while j < n and text[j] != '"':
        if text[j] == "\\" and j + 1 < n:
            buf.append(text[j + 1])
            j += 2
        else:
            buf.append(text[j])
            j += 1
    if j >= n:
        report("unbalanced quotes: expected a closing '\"' for the phrase that starts here", start)
        return start + 1  # lenient: the stray quote is ignored, the rest is read as usual
    tokens.append(Token(PHRASE, "".join(buf), start, j + 1))
    return j + 1


def _word(text: str, start: int, value_mode: bool, tokens: list[Token], report: Report) -> int:
    m = _PLAIN_RUN.match(text, start)
    if m is not None and (m.end() == len(text) or text[m.end()] != "\\"):
        return _plain_word(m.group(), start, m.end(), value_mode, tokens)
    chars: list[str] = []
    escaped: list[bool] = []
    i, n = start, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in _WORD_END:
            break
        if ch == "\\":
            if i + 1 >= n:
                report("expected a character after '\\' (the escape character)", i)
                i += 1
                break
            chars.append(text[i + 1])
            escaped.append(True)
            i += 2
            continue
        chars.append(ch)
        escaped.append(False)
        i += 1
    prefix = bool(chars) and chars[-1] == "*" and not escaped[-1]
    if prefix:
        chars.pop()
        escaped.pop()
    sign = ""
    if value_mode and chars and chars[0] in "+-" and not escaped[0]:
        sign = chars.pop(0)
        escaped.pop(0)
    word = "".join(chars)
    if not word and not prefix and not sign:
        return i  # a lone trailing backslash, already reported
    kind = WORD
    if not value_mode and not prefix and word in (AND, OR, NOT) and not any(escaped):
        kind = word
    tokens.append(Token(kind, word, start, i, prefix=prefix, sign=sign))
    return i


def _plain_word(word: str, start: int, end: int, value_mode: bool, tokens: list[Token]) -> int:
    """:func:`_word` for a word without escapes (same rules, no per-character loop)."""
    prefix = word.endswith("*")
    if prefix:
        word = word[:-1]
    sign = ""
    if value_mode and word[:1] in (PLUS, MINUS) and word:
        sign, word = word[0], word[1:]
    kind = WORD
    if not value_mode and not prefix and word in OPERATORS:
        kind = word
    tokens.append(Token(kind, word, start, end, prefix=prefix, sign=sign))
    return end
