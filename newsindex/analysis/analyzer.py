"""Analyzers: tokenizer + filters, named presets, and the per-token cache that makes them fast."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, check_bool, check_choice, check_int, check_type
from .filters import ENGLISH_STOP_WORDS, STEMMERS, fold_accents, make_stemmer, strip_possessive
from .tokenizer import (
    JOINERS,
    LEGACY_TOKENIZER,
    MAX_TOKEN_CHARS,
    TOKENIZER,
    TOKENIZERS,
    Token,
    raw_tokens,
    tokens_with_offsets,
)

_NO_JOINERS = str.maketrans("", "", JOINERS)
_OPTIONS = ("fold", "stop_words", "stemmer", "min_length", "tokenizer")

#: Distinct surface tokens remembered per analyzer before the cache starts over.
CACHE_LIMIT = 1_000_000

#: An index's stem tables, each with its segment's name (None while it does not hold them
#: whole): see ``Analyzer.known_stems``.
KnownStems = Callable[[], Sequence[tuple[str, Mapping[str, str]]] | None]


@dataclass(frozen=True)
class AnalyzerSpec:
    """What an analyzer does, as plain data (stored in the index so queries analyze alike)."""

    fold: bool = True
    stop_words: str = "english"  # "english" or "none"
    stemmer: str = "snowball"  # "snowball", "porter" or "none"
    # Terms shorter than this are dropped like stop words (initials, the "u"/"s" of "U.S.",
    # lone digits of "1,750"): +0.009 mean nDCG@10 on the judged sets (benchmarks/RESULTS.md).
    min_length: int = 2
    # The tokenizer version (see analysis.tokenizer): what an index holds depends on it, so an
    # index keeps its own; settings stored without one are version 1's (see from_stored).
    tokenizer: int = TOKENIZER

    def __post_init__(self) -> None:
        check_bool("fold", self.fold)
        check_choice("stop_words", self.stop_words, ("english", "none"))
        check_choice("stemmer", self.stemmer, STEMMERS)
        check_int("min_length", self.min_length, 1, 10)
        if type(self.tokenizer) is not int or self.tokenizer not in TOKENIZERS:
            raise ConfigError(
                f"tokenizer must be one of {', '.join(map(str, TOKENIZERS))}, "
                f"got {self.tokenizer!r}"
            )

    def to_dict(self) -> dict:
        out = {
            "fold": self.fold,
            "stop_words": self.stop_words,
            "stemmer": self.stemmer,
            "min_length": self.min_length,
        }
        # Version 1 is written as before there were versions, so that what this code writes
        # to an older index (its settings, its segments' stem tables) reads as it always did.
        if self.tokenizer != LEGACY_TOKENIZER:
            out["tokenizer"] = self.tokenizer
        return out

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> AnalyzerSpec:
        """A spec as an index stored it: no tokenizer version means version 1 (indexes made
        before versions existed, and what :meth:`to_dict` writes for version 1)."""
        return cls.from_dict({"tokenizer": LEGACY_TOKENIZER, **data})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalyzerSpec:
        check_type("analyzer", data, Mapping, "a mapping")
        unknown = set(data) - set(_OPTIONS)
        if unknown:
            names = ", ".join(sorted(map(str, unknown)))
            raise ConfigError(f"unknown analyzer option(s): {names}")
        return cls(**data)


#: Named presets, usable by name in YAML (``analyzer: english``).
PRESETS: dict[str, AnalyzerSpec] = {
    "english": AnalyzerSpec(),
    "english_porter": AnalyzerSpec(stemmer="porter"),
    "english_nostem": AnalyzerSpec(stemmer="none"),
    "simple": AnalyzerSpec(stop_words="none", stemmer="none", min_length=1),
}


class Analyzer:
    """Turns text into index terms. The same analyzer serves indexing and queries.

    Every distinct surface token is normalized once (possessive, folding, stop words, stem) and
    remembered, so the per-token cost of analysis is one dict lookup.
    """

    def __init__(self, spec: AnalyzerSpec | str = "english"):
        if isinstance(spec, str):
            if spec not in PRESETS:
                raise ConfigError(f"unknown analyzer {spec!r}; presets: {', '.join(PRESETS)}")
            spec = PRESETS[spec]
        self.spec = spec
        self._stop = ENGLISH_STOP_WORDS if spec.stop_words == "english" else frozenset()
        self._stem = make_stemmer(spec.stemmer)
        #: surface token -> its term, "" for a dropped one
        self._cache: dict[str, str] = {}
        #: Where an index remembers the stems of the words it holds (see ``Index``): consulted
        #: before the stemmer, so words the index has seen need no stemmer (nor its import).
        self.lexicon: Callable[[str], str | None] | None = None
        #: Where an index can give all of those at once, a table per segment in its order
        #: (None until it holds them whole): asked when a text meets words this analyzer has
        #: not seen, and each table not learned before is learned (:meth:`learn`).
        self.known_stems: KnownStems | None = None
        self._learned: set[str] = set()  # (shared, like the cache, by copies of this analyzer)

    def __repr__(self) -> str:
        return f"Analyzer({self.spec!r})"

    def normalize(self, token: str) -> str | None:
        """The index term for one lowercased surface token, or None for a stop word."""
        term = self._cache.get(token)
        if term is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            term = self._cache[token] = self.terms_for([token])[0] or ""
        return term or None

    def stem_input(self, token: str) -> str | None:
        """What the stemmer gets for a lowercased surface token (possessive stripped, accents
        folded), or None when the token is dropped before stemming (a stop word)."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        if token.isascii() and "'" not in token:  # nothing to strip or fold
            if not token.isalnum():  # "u.s", "f-16", "at&t" (tokenizer version 2)
                token = token.translate(_NO_JOINERS)
            return None if token in self._stop else token
        token = strip_possessive(token)
        if self.spec.tokenizer != LEGACY_TOKENIZER:
            token = token.translate(_NO_JOINERS)
        if self.spec.fold:
            token = fold_accents(token)
        if not token or token in self._stop:
            return None
        return token

    def terms_for(self, tokens: list[str]) -> list[str | None]:
        """The index term of each lowercased surface token (None: dropped), computed afresh
        with nothing cached: for callers that keep their own cache, like a writer's
        vocabulary (:meth:`normalize` is this with a cache)."""
        stem, lexicon = self._stem, self.lexicon
        min_length = self.spec.min_length
        stem_input = self.stem_input
        out: list[str | None] = []
        for token in tokens:
            key = stem_input(token)
            if key is None:
                out.append(None)
                continue
            if key.isdigit():  # stemmers leave digits alone
                term = key
            else:
                known = lexicon(key) if lexicon is not None else None
                term = known if known is not None else stem(key)
            out.append(term if len(term) >= min_length else None)
        return out

    def raw_tokens(self, text: str) -> list[str]:
        """The surface tokens of ``text``, as this analyzer's tokenizer version cuts them."""
        return raw_tokens(text, self.spec.tokenizer)

    def prefix(self, text: str) -> str | None:
        """What a prefix query ``text*`` looks for among index terms: its one token, folded
        like index terms but not stemmed (a stem of a prefix is no prefix); None when
        ``text`` is not exactly one token."""
        tokens = self.raw_tokens(text)
        if len(tokens) != 1:
            return None
        token = tokens[0]
        if self.spec.tokenizer != LEGACY_TOKENIZER:
            token = token.translate(_NO_JOINERS)
        return fold_accents(token) if self.spec.fold else token

    def learn(self, stems: Mapping[str, str]) -> None:
        """Remember the terms of the words in ``stems`` (stemmer input -> its term, as an
        index's stem table holds them) that are their own surface token: ASCII letters and
        digits, not all digits, not a stop word (:meth:`stem_input` leaves those as they
        are), so every term remembered is the one :meth:`terms_for` gives the word with a
        ``lexicon`` answering from ``stems``. Words already known keep their term. A
        process's first queries then look their words up as later ones do, as an engine
        that loads its vocabulary on opening does."""
        cache = self._cache
        if len(cache) + len(stems) > CACHE_LIMIT:
            return
        stop, shortest = self._stop, self.spec.min_length
        cache.update(
            {
                word: term if len(term) >= shortest else ""
                for word, term in stems.items()
                if word not in cache
                and word.isalnum()
                and word.isascii()
                and not word.isdigit()
                and len(word) <= MAX_TOKEN_CHARS
                and word not in stop
            }
        )

    def _learn_known(self) -> None:
        """Learn the index's stem tables not learned before, once it holds them whole (the
        first segment's first, so a word in several keeps the first's term, as ``lexicon``
        answers)."""
        assert self.known_stems is not None
        tables = self.known_stems()
        if tables is None:
            return
        self.known_stems = None  # (this analyzer's index holds no other words)
        for name, stems in tables:
            if name not in self._learned:
                self._learned.add(name)
                self.learn(stems)

    def terms(self, text: str) -> list[str]:
        """The index terms of ``text`` in order, stop words dropped."""
        cache = self._cache
        tokens = raw_tokens(text, self.spec.tokenizer)
        found = list(map(cache.get, tokens))
        if None in found and self.known_stems is not None:
            self._learn_known()
            found = list(map(cache.get, tokens))
        if None in found:  # the new tokens at once (a long query meets many)
            new = list(dict.fromkeys(t for t, term in zip(tokens, found) if term is None))
            fresh = dict(zip(new, [term or "" for term in self.terms_for(new)]))
            if len(cache) + len(fresh) > CACHE_LIMIT:
                cache.clear()
            cache.update(fresh)  # (another thread may clear it: this call reads `fresh`)
            found = [fresh[t] if term is None else term for t, term in zip(tokens, found)]
        return list(filter(None, found))

    def terms_with_positions(self, text: str) -> list[tuple[str, int]]:
        """``(term, position)`` pairs; positions count stop words, as the index does."""
        normalize = self.normalize
        return [
            (term, pos)
            for pos, term in enumerate(map(normalize, raw_tokens(text, self.spec.tokenizer)))
            if term is not None
        ]

    def tokens(self, text: str) -> Iterator[tuple[Token, str]]:
        """Each token with offsets into ``text`` and its term (stop words skipped): for snippets."""
        for token in tokens_with_offsets(text, self.spec.tokenizer):
            term = self.normalize(token.text)
            if term is not None:
                yield token, term
