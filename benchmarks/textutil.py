"""Text helpers shared by the query generator, the adapters and the judged-set runner.

Every engine receives the *same* query string: lowercased words with Lucene's 33 English stop
words removed. Doing the cleaning once, here, keeps the comparison like for like: no engine sees
punctuation or operators that another engine's parser would treat differently.
"""

from __future__ import annotations

import re

# Lucene's EnglishAnalyzer default stop set (the same 33 words newsindex uses).
LUCENE_STOP_WORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their
    then there these they this to was will with""".split()
)
#: Sorted list form, for APIs that want a list (bm25s, tantivy, whoosh).
STOP_LIST = sorted(LUCENE_STOP_WORDS)

_WORD = re.compile(r"[^\W_]+")
_POSSESSIVE = re.compile(r"['\u2019]s\b")


def words(text: str) -> list[str]:
    """Lowercased alphanumeric runs of ``text`` with possessives stripped (``regime's`` -> ``regime``)."""
    return _WORD.findall(_POSSESSIVE.sub("", text.lower()))


def clean_query(text: str) -> str:
    """The plain query string every engine gets: words minus stop words, repeats kept.

    Repeats are kept on purpose: engines that count a repeated word more than once (bm25s,
    FTS5, rank_bm25) should be free to do so, as they would for a user.
    """
    return " ".join(w for w in words(text) if w not in LUCENE_STOP_WORDS)


def is_content_word(token: str) -> bool:
    """A word the query generator may use: alphabetic, 2+ letters, not a stop word.

    Numbers and one-letter tokens are avoided because engines tokenize them differently
    ("1,750", "U.S."), which would make result lists differ for reasons unrelated to search.
    """
    return (
        len(token) >= 2 and token.isalpha() and token.isascii() and token not in LUCENE_STOP_WORDS
    )


def dedupe_words(query: str) -> str:
    """``query`` with each word kept once, in first-seen order (to measure what counting
    repeated query words is worth)."""
    return " ".join(dict.fromkeys(query.split()))
