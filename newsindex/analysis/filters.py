"""Token filters: possessives, accent folding, stop words and stemming (nltk, offline)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

# Lucene's EnglishAnalyzer default stop set: short, safe for news queries, and the set the peers
# in our benchmarks use, so ranking comparisons are like for like. nltk's stop-word corpus is a
# download and is deliberately not used.
ENGLISH_STOP_WORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their
    then there these they this to was will with""".split()
)


def strip_possessive(token: str) -> str:
    """``regime's`` -> ``regime``, ``rebels'`` -> ``rebels``, ``'quoted'`` -> ``quoted``."""
    if len(token) > 2 and token[-2] in "'\u2019" and token[-1] == "s":
        token = token[:-2]
    return token.strip("'\u2019")


def fold_accents(token: str) -> str:
    """``café`` -> ``cafe``, ``Türkiye`` -> ``turkiye``; ASCII passes through untouched."""
    if token.isascii():
        return token
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


#: Every suffix a rule of Porter2 (Snowball English) tests for, steps 0 to 5 (1c's "y"
#: included); its special-case words all end in one of them too.
PORTER2_SUFFIXES = tuple(
    """' 's 's' s ss us ied ies sses ed eed edly eedly ing ingly y
    li bli abli alli ogi fulli lessli ousli entli iti iciti aliti biliti iviti anci enci
    izer ator ation ization ational tional alism ful fulness ousness iveness al ical
    alize icate ative ness ic er ant ent ment ement ism ate ive ize ion ous ance ence
    able ible e l""".split()
)


#: The stemmers :func:`make_stemmer` knows.
STEMMERS = ("snowball", "porter", "none")


def make_stemmer(name: str) -> Callable[[str], str]:
    """A stemming function by name: ``snowball`` (English Porter2), ``porter`` or ``none``.

    ``snowball`` is nltk's English stemmer as copied into :mod:`.snowball` (importing nltk's
    own module imports its whole package, and scipy.stats where installed); ``porter`` is
    nltk's, imported on the first call, not here, which opening an index must not pay.
    """
    if name == "none":
        return lambda token: token
    if name not in STEMMERS:
        from ..errors import ConfigError

        raise ConfigError(f"unknown stemmer {name!r}; choose one of: {', '.join(STEMMERS)}")
    stem: Callable[[str], str] | None = None
    # Every Porter2 rule is "if the word ends in S (and ...), rewrite S", so an ASCII word
    # ending in none of its suffixes comes back from nltk as it went in (tests hold this
    # against nltk on every word of the bundled sample, and the suffixes against nltk's own
    # tables). For much of a news vocabulary, one C call then replaces a call into nltk.
    unchanged = PORTER2_SUFFIXES if name == "snowball" else None

    def lazy_stem(token: str) -> str:
        nonlocal stem
        if unchanged is not None and token.isascii() and not token.endswith(unchanged):
            return token
        if stem is None:
            if name == "snowball":
                from .snowball import stem as snowball_stem

                stem = snowball_stem
            else:
                from nltk.stem.porter import PorterStemmer

                stem = PorterStemmer().stem
        return stem(token)

    return lazy_stem
