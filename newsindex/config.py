"""Settings as frozen dataclasses, read from YAML with ``yaml.safe_load``; every default named."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .analysis import PRESETS, AnalyzerSpec
from .errors import (
    ArgumentTypeError,
    ConfigError,
    check_bool,
    check_int,
    check_number,
    check_type,
)
from .schema import TEXT_FIELDS

# Chosen on six judged collections (CACM, CISI, Cranfield, LISA, ADI, NFCorpus): the best mean
# nDCG@10 of the BM25F settings never more than 0.003 below the best peer on any set, and the
# leave-one-collection-out choice on five of the six; see benchmarks/RESULTS.md.
DEFAULT_K1 = 1.8
DEFAULT_B = 0.5
DEFAULT_FIELD_WEIGHTS = {"title": 3.0, "body": 1.0}
DEFAULT_ANALYZER = "english"
#: Weight of the proximity rescore. Off by default: on the judged sets it gains a few
#: thousandths on four and loses 0.010 on CISI, and it costs a default search 2-3x its
#: time (benchmarks/RESULTS.md, "Ranking: leave-one-collection-out").
DEFAULT_PROXIMITY = 0.0
#: How many of the first stage's best hits the proximity rescore looks at (Elasticsearch's
#: rescore window): the first stage stays a plain sum of term scores.
DEFAULT_RESCORE_WINDOW = 100
#: RM3 pseudo-relevance feedback (opt-in): feedback documents, expansion terms, and the
#: weight of the original query in the expanded one. Anserini's 10 / 10 / 0.5 fell below the
#: peers on CACM and LISA; 20 terms at weight 0.7 stayed level with them on all six judged
#: sets (benchmarks/RESULTS.md).
DEFAULT_FB_DOCS = 10
DEFAULT_FB_TERMS = 20
DEFAULT_FB_ORIGINAL_WEIGHT = 0.7


@dataclass(frozen=True)
class Scoring:
    """Ranking parameters.

    BM25F: ``k1`` saturation, per-field ``b`` length normalisation and ``weights``.
    ``proximity``: weight of a bonus for query words that occur close together, added to
    the best ``rescore_window`` hits of the first stage (0: off; relevance order only).
    ``feedback``: RM3 pseudo-relevance feedback (the query expanded with ``fb_terms`` terms
    of its best ``fb_docs`` hits, the original query weighted ``fb_original_weight``).
    See docs/ranking.md.
    """

    k1: float = DEFAULT_K1
    b: float = DEFAULT_B
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FIELD_WEIGHTS))
    field_b: Mapping[str, float] = field(default_factory=dict)
    proximity: float = DEFAULT_PROXIMITY
    rescore_window: int = DEFAULT_RESCORE_WINDOW
    feedback: bool = False
    fb_docs: int = DEFAULT_FB_DOCS
    fb_terms: int = DEFAULT_FB_TERMS
    fb_original_weight: float = DEFAULT_FB_ORIGINAL_WEIGHT

    def __post_init__(self) -> None:
        check_number("k1", self.k1, 0, 100)
        check_number("b", self.b, 0, 1)
        check_number("proximity", self.proximity, 0, 1000)
        check_int("rescore_window", self.rescore_window, 1, 10_000)
        check_bool("feedback", self.feedback)
        check_int("fb_docs", self.fb_docs, 1, 1000)
        check_int("fb_terms", self.fb_terms, 1, 1000)
        check_number("fb_original_weight", self.fb_original_weight, 0, 1)
        for name, top in (("weights", math.inf), ("field_b", 1.0)):
            mapping = getattr(self, name)
            check_type(name, mapping, Mapping, "a mapping of text field to number")
            for fname, value in mapping.items():
                if fname not in TEXT_FIELDS:
                    raise ConfigError(
                        f"{name}: unknown text field {fname!r}; known: {', '.join(TEXT_FIELDS)}"
                    )
                check_number(f"{name}.{fname}", value, 0, top)

    def weight(self, fname: str) -> float:
        return float(self.weights.get(fname, 1.0))

    def b_for(self, fname: str) -> float:
        return float(self.field_b.get(fname, self.b))

    def with_(self, **changes: Any) -> Scoring:
        """A copy with some parameters changed (``scoring.with_(k1=0.9)``)."""
        unknown = set(changes) - _SCORING_OPTIONS
        if unknown:
            raise ArgumentTypeError(
                f"scoring: unknown option(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(sorted(_SCORING_OPTIONS))}"
            )
        return replace(self, **changes)

    def key(self) -> tuple:
        return self._key

    @cached_property
    def _key(self) -> tuple:
        return (
            float(self.k1),
            tuple(sorted((k, float(v)) for k, v in self.weights.items())),
            tuple((f, self.b_for(f)) for f in TEXT_FIELDS),
        )

    def to_dict(self) -> dict:
        return {
            "k1": self.k1,
            "b": self.b,
            "weights": dict(self.weights),
            "field_b": dict(self.field_b),
            # The ranking options only when set: an index made with the defaults keeps the
            # settings older versions of newsindex can read.
            **{n: getattr(self, n) for n in _RANKING_OPTIONS if getattr(self, n) != _DEFAULTS[n]},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scoring:
        """Scoring from a mapping (as in settings files); ``weights`` given are merged over
        the default weights."""
        check_type("scoring", data, Mapping, "a mapping")
        unknown = set(data) - _SCORING_OPTIONS
        if unknown:
            raise ConfigError(f"scoring: unknown option(s) {', '.join(sorted(unknown))}")
        values = dict(data)
        if "weights" in values:
            check_type("weights", values["weights"], Mapping, "a mapping of text field to number")
            values["weights"] = {**DEFAULT_FIELD_WEIGHTS, **values["weights"]}
        return cls(**values)


_SCORING_OPTIONS = frozenset(f.name for f in fields(Scoring))
_RANKING_OPTIONS = (
    "proximity",
    "rescore_window",
    "feedback",
    "fb_docs",
    "fb_terms",
    "fb_original_weight",
)
_DEFAULTS = {n: f.default for f in fields(Scoring) for n in [f.name] if n in _RANKING_OPTIONS}


@dataclass(frozen=True)
class IndexSettings:
    """Fixed when an index is created: how each text field is analyzed, the default scoring,
    and whether article bodies are stored.

    ``store_body=False`` indexes bodies (searchable, scored, phrases, near-duplicates) without
    keeping their text, for archives whose articles live elsewhere: ``get`` and hits give
    ``body == ""``, snippets fall back to the title, more_like_this and feedback read the
    story's words from the postings. Merges copy postings, not text: such an index merges
    like any other.
    """

    analyzers: Mapping[str, AnalyzerSpec] = field(
        default_factory=lambda: {f: PRESETS[DEFAULT_ANALYZER] for f in TEXT_FIELDS}
    )
    scoring: Scoring = field(default_factory=Scoring)
    store_body: bool = True

    def __post_init__(self) -> None:
        check_bool("store_body", self.store_body)
        check_type("analyzers", self.analyzers, Mapping, "a mapping of text field to AnalyzerSpec")
        for fname, spec in self.analyzers.items():
            if fname not in TEXT_FIELDS:
                raise ConfigError(
                    f"analyzers: unknown text field {fname!r}; known: {', '.join(TEXT_FIELDS)}"
                )
            check_type(f"analyzers.{fname}", spec, AnalyzerSpec, "an AnalyzerSpec")
        check_type("scoring", self.scoring, Scoring, "a Scoring")
        # A field left out is analyzed as by default: the index needs an analyzer per field.
        default = PRESETS[DEFAULT_ANALYZER]
        filled = {f: self.analyzers.get(f, default) for f in TEXT_FIELDS}
        object.__setattr__(self, "analyzers", filled)

    def to_dict(self) -> dict:
        return {
            "analyzers": {f: spec.to_dict() for f, spec in self.analyzers.items()},
            "scoring": self.scoring.to_dict(),
            # Only when off: an index storing bodies keeps the settings older versions read,
            # and one without them is refused by those versions (which would merge it and
            # lose its body terms) rather than read wrongly.
            **({} if self.store_body else {"store_body": False}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexSettings:
        check_type("settings", data, Mapping, "a mapping")
        unknown = set(data) - {"analyzer", "analyzers", "scoring", "store_body"}
        if unknown:
            raise ConfigError(
                f"settings: unknown option(s) {', '.join(sorted(map(str, unknown)))}; known: "
                "analyzer, analyzers, scoring, store_body"
            )
        analyzers = {f: PRESETS[DEFAULT_ANALYZER] for f in TEXT_FIELDS}
        if "analyzer" in data:
            spec = _analyzer_spec(data["analyzer"], "analyzer")
            analyzers = {f: spec for f in TEXT_FIELDS}
        per_field = data.get("analyzers") or {}
        check_type("analyzers", per_field, Mapping, "a mapping of text field to analyzer")
        for fname, value in per_field.items():
            if fname not in TEXT_FIELDS:
                raise ConfigError(
                    f"analyzers: unknown text field {fname!r}; known: {', '.join(TEXT_FIELDS)}"
                )
            analyzers[fname] = _analyzer_spec(value, f"analyzers.{fname}")
        scoring = Scoring.from_dict(data.get("scoring") or {})
        return cls(analyzers=analyzers, scoring=scoring, store_body=data.get("store_body", True))

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> IndexSettings:
        """Settings as an index's manifest holds them (what :meth:`to_dict` wrote): an analyzer
        stored without a tokenizer version keeps version 1, the one its index was made with."""
        if not isinstance(data, Mapping) or not isinstance(data.get("analyzers"), Mapping):
            return cls.from_dict(data)
        analyzers = {
            f: AnalyzerSpec.from_stored(spec) if isinstance(spec, Mapping) else spec
            for f, spec in data["analyzers"].items()
        }
        return cls.from_dict({**data, "analyzers": analyzers})

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> IndexSettings:
        """Read settings from a YAML file, e.g.::

        analyzer: english          # or a mapping: {stemmer: porter, stop_words: none}
        scoring: {k1: 1.8, b: 0.5, weights: {title: 3.0, body: 1.0}}   # the defaults
        store_body: false          # index bodies without storing their text (default: true)
        """
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the settings file: {exc}") from None
        try:
            return cls.from_dict(data)
        except ConfigError as exc:  # the same class (a TypeError stays one), with the file named
            raise type(exc)(f"{path}: {exc}") from None


def _analyzer_spec(value: Any, where: str) -> AnalyzerSpec:
    if isinstance(value, AnalyzerSpec):
        return value
    if isinstance(value, str):
        if value not in PRESETS:
            raise ConfigError(f"{where}: unknown analyzer {value!r}; presets: {', '.join(PRESETS)}")
        return PRESETS[value]
    check_type(where, value, Mapping, "a preset name or a mapping")
    base = _analyzer_spec(value["preset"], f"{where}.preset").to_dict() if "preset" in value else {}
    rest = {k: v for k, v in value.items() if k != "preset"}
    try:
        return AnalyzerSpec.from_dict({**base, **rest})
    except ConfigError as exc:  # the same class (a TypeError stays one), with the place named
        raise type(exc)(f"{where}: {exc}") from None
