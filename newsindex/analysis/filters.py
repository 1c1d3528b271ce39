"""Token filters: possessives, accent folding, stop words and stemming (nltk, offline)."""

from __future__ import annotations

import unicodedata
from typing import Callable

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


_SNOWBALL_UNTOUCHED_ENDINGS = frozenset("abfhjkopquvwxz0123456789")


def make_stemmer(name: str) -> Callable[[str], str]:
    """A stemming function by name: ``snowball`` (English Porter2), ``porter`` or ``none``.

    nltk is imported on the first call, not here: importing it pulls in much of nltk (and
    scipy when installed), close to a second, which opening an index must not pay.
    """
    if name == "none":
        return lambda token: token
    if name not in ("snowball", "porter"):
        from ..errors import ConfigError

        raise ConfigError(f"unknown stemmer {name!r}; choose one of: snowball, porter, none")
    stem: Callable[[str], str] | None = None
    # Porter2 (Snowball English) only removes or rewrites suffixes, and every suffix it knows
    # ends in one of "'cdegilmnrsty"; nltk hands back an ASCII word ending in anything else
    # as it came (a test holds this against nltk on every word of the bundled sample). For
    # such words nltk's ~9 us a word are skipped: ~18% of a Reuters build's stemming.
    untouched = _SNOWBALL_UNTOUCHED_ENDINGS if name == "snowball" else frozenset()

    def lazy_stem(token: str) -> str:
        nonlocal stem
        if token[-1:] in untouched and token.isascii():
            return token
        if stem is None:
            if name == "snowball":
                from nltk.stem.snowball import EnglishStemmer

                stem = EnglishStemmer().stem
            else:
                from nltk.stem.porter import PorterStemmer

                stem = PorterStemmer().stem
        return stem(token)

    return lazy_stem
