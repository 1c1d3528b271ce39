"""Unicode word tokenizers: one C-speed pass per field, with character offsets when asked.

Two versions, named in an index's analyzer settings (``tokenizer: 1`` or ``2``) because what
an index holds depends on them; an index keeps the one it was made with.

Version 2 (new indexes). The text is lowercased (Greek final sigma as sigma); a token is a
run of letters, digits, apostrophes and combining marks that follow one of them (so
"İstanbul", whose lowercase "i" carries a combining dot, stays whole, and so do words of
scripts written with vowel signs). Three joins keep a news reader's short words: periods
between single letters ("U.S.", "I.B.M." give ``u.s``, ``i.b.m``), a hyphen after a single
letter ("F-16", "e-mail", "x-ray") and an ampersand next to a single letter ("AT&T", "S&P");
the analyzer then drops the joining characters (``us``, ``ibm``, ``f16``, ``email``, ``att``).
Everything else splits: "Russian-backed" gives ``russian`` + ``backed``, "1,750" gives ``1`` +
``750``, "U.S.-led" gives ``u.s`` + ``led``.

Version 1 (indexes made before version 2): a token is a maximal run of letters, digits and
apostrophes of the lowercased text; nothing joins, and a combining mark splits a word.

Pure-ASCII text (most news) takes a ``str.translate`` + ``split`` path when nothing can join;
the regexes define the tokens and the paths agree (tests check it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple

#: Tokenizer versions; new indexes get :data:`TOKENIZER`, settings without one mean version 1.
TOKENIZERS = (1, 2)
TOKENIZER = 2
LEGACY_TOKENIZER = 1

TOKEN_PATTERN = re.compile(r"(?:[^\W_]|['\u2019])+")  # version 1
_ASCII_SEPARATORS = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "'")}
)
#: Characters that join the pieces of one version-2 token (dropped by the analyzer).
JOINERS = ".-&"

#: Tokens longer than this are dropped (base64 blobs, URLs glued together, ...).
MAX_TOKEN_CHARS = 64


class Token(NamedTuple):
    """One token of a text: its lowercased text, position (0-based) and character span."""

    text: str
    position: int
    start: int
    end: int


@cache
def _marks() -> str:
    """A regex class body of the combining marks that continue a word (Mn, Mc), variation
    selectors excepted (they follow emoji and mean nothing to a word). Computed on first use
    from this Python's Unicode tables (marks live in planes 0, 1 and 14)."""
    ranges: list[list[int]] = []
    for cp in (*range(0x300, 0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc") and not (
            0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF
        ):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return "".join(
        re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges
    )


@cache
def _separators() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """Version 2's non-ASCII separators in lowercased text: any non-ASCII character that is not
    a letter, digit, curly apostrophe or mark; then, in text that may have marks, the marks
    that follow no word character."""
    marks = _marks()
    return (
        re.compile(rf"[^\x00-\x7f\w\u2019{marks}]"),
        # Any character at or above the first mark, the curly apostrophe aside: a short class
        # scans fast, and news text in Latin script has none, so the long class is rarely run.
        re.compile(r"[^\x00-\u02ff\u2019]"),
        re.compile(rf"(?<![^\W_])(?<!['\u2019{marks}])(?:(?=[^\x00-\u02ff])[{marks}])+"),
    )


# Version 2 tokens, in text prepared by _prepare: there every non-ASCII character left is part
# of a word, so a word character is an ASCII letter or digit, an apostrophe, or non-ASCII.
_W = "[0-9a-z'\u0080-\U0010ffff]"
_SINGLE_BEFORE = rf"(?<=[a-z])(?<!{_W}[a-z])"  # a one-letter piece ends here
_SINGLE_AFTER = rf"(?=[a-z](?!{_W}))"  # a one-letter piece starts here
TOKEN_PATTERN_2 = re.compile(
    rf"{_W}+(?:(?:{_SINGLE_BEFORE}\.{_SINGLE_AFTER}|{_SINGLE_BEFORE}[-&]|&{_SINGLE_AFTER}){_W}+)*"
)
_MAY_JOIN = re.compile(r"[.&-]")


def prepare(text: str, tokenizer: int = TOKENIZER, *, keep_length: bool = False) -> str:
    """``text`` as the tokenizer reads it: lowercased, and for version 2 with final sigma as
    sigma and non-ASCII separators blanked (each to one space with ``keep_length``)."""
    lowered = text.lower()
    if tokenizer == 1 or lowered.isascii():
        return lowered
    lowered = lowered.replace("\u03c2", "\u03c3")
    separator, high, lone_marks = _separators()
    lowered = separator.sub(" ", lowered)
    if high.search(lowered) is None:  # no mark, so none to blank
        return lowered
    if keep_length:
        return lone_marks.sub(lambda m: " " * (m.end() - m.start()), lowered)
    return lone_marks.sub(" ", lowered)


def raw_tokens(text: str, tokenizer: int = TOKENIZER) -> list[str]:
    """The surface tokens of ``text``, lowercased, in order (the indexing reference)."""
    if tokenizer == 1:
        lowered = text.lower()
        if lowered.isascii():
            return lowered.translate(_ASCII_SEPARATORS).split()
        return TOKEN_PATTERN.findall(lowered)
    prepared = prepare(text, 2)
    if prepared.isascii() and _MAY_JOIN.search(prepared) is None:
        return prepared.translate(_ASCII_SEPARATORS).split()
    return TOKEN_PATTERN_2.findall(prepared)


def iter_tokens(text: str, tokenizer: int = TOKENIZER) -> Iterator[str]:
    """:func:`raw_tokens`, one at a time (for texts of which only the start may be needed)."""
    pattern = TOKEN_PATTERN if tokenizer == 1 else TOKEN_PATTERN_2
    return (m.group() for m in pattern.finditer(prepare(text, tokenizer)))


def tokens_with_offsets(text: str, tokenizer: int = TOKENIZER) -> Iterator[Token]:
    """Tokens of ``text`` with their position and ``[start, end)`` offsets in ``text``.

    The tokens and positions are exactly :func:`raw_tokens`'s, so a position found here
    matches the one stored in the index, and the span covers the characters that made the
    token (a token cut out of a character that lowercases to two, as version 1 cuts "İ",
    spans that character).
    """
    prepared = prepare(text, tokenizer, keep_length=True)
    pattern = TOKEN_PATTERN if tokenizer == 1 else TOKEN_PATTERN_2
    if len(prepared) == len(text):
        for position, match in enumerate(pattern.finditer(prepared)):
            yield Token(match.group(), position, match.start(), match.end())
        return
    # Lowercasing lengthened the text ("İ" is "i" + a combining dot): map offsets back.
    back = [i for i, ch in enumerate(text) for _ in range(len(ch.lower()))]
    for position, match in enumerate(pattern.finditer(prepared)):
        yield Token(match.group(), position, back[match.start()], back[match.end() - 1] + 1)
