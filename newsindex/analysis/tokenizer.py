"""Unicode word tokenizer: one C-speed pass per field, with character offsets when asked.

A token is a maximal run of letters, digits and apostrophes: "Russian-backed" gives
``russian`` + ``backed``, "1070" stays ``1070``, "1,750" gives ``1`` + ``750`` (as tantivy's
default tokenizer does), and "regime's" stays whole until the possessive filter strips it.
Pure-ASCII text (most news) takes a ``str.translate`` + ``split`` path that is much faster than
the regex; the regex defines the tokens and the two agree on ASCII text (a test checks it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

TOKEN_PATTERN = re.compile(r"(?:[^\W_]|['\u2019])+")
_ASCII_SEPARATORS = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "'")}
)

#: Tokens longer than this are dropped (base64 blobs, URLs glued together, ...).
MAX_TOKEN_CHARS = 64


class Token(NamedTuple):
    """One token of a text: its lowercased text, position (0-based) and character span."""

    text: str
    position: int
    start: int
    end: int


def raw_tokens(text: str) -> list[str]:
    """The surface tokens of ``text``, lowercased, in order (the indexing hot path)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered.translate(_ASCII_SEPARATORS).split()
    return TOKEN_PATTERN.findall(lowered)


def tokens_with_offsets(text: str) -> Iterator[Token]:
    """Tokens of ``text`` with their position and ``[start, end)`` offsets in ``text``.

    Positions count every token the way :func:`raw_tokens` does, so a position found here
    matches the one stored in the index.
    """
    lowered = text.lower()
    # Lowercasing can change the length of rare characters ("İ"); offsets must point into the
    # original text, so only then tokenize the original.
    source = lowered if len(lowered) == len(text) else text
    for position, match in enumerate(TOKEN_PATTERN.finditer(source)):
        yield Token(match.group().lower(), position, match.start(), match.end())
