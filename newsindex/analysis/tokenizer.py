"""Unicode word tokenizer: one regex pass per field, with character offsets when asked."""

from __future__ import annotations

import re
from typing import Iterator, NamedTuple

# Numbers keep their inner separators ("1,750", "5.93"); words are runs of letters/digits that
# may contain apostrophes ("regime's", "o'brien"). Hyphens and underscores split words, so
# "Russian-backed" gives "russian" and "backed".
TOKEN_PATTERN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['\u2019][^\W_]+)*")

#: Tokens longer than this are dropped (base64 blobs, URLs glued together, ...).
MAX_TOKEN_CHARS = 64


class Token(NamedTuple):
    """One token of a text: its surface text, position (0-based) and character span."""

    text: str
    position: int
    start: int
    end: int


def raw_tokens(text: str) -> list[str]:
    """The surface tokens of ``text``, lowercased, in order (the indexing hot path)."""
    return TOKEN_PATTERN.findall(text.lower())


def tokens_with_offsets(text: str) -> Iterator[Token]:
    """Tokens of ``text`` with their position and ``[start, end)`` offsets in ``text``.

    Positions count every token (stop words included) the same way :func:`raw_tokens` does, so
    a position found here matches the one stored in the index.
    """
    for position, match in enumerate(TOKEN_PATTERN.finditer(text)):
        yield Token(match.group().lower(), position, match.start(), match.end())
