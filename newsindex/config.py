"""Settings as frozen dataclasses, read from YAML with ``yaml.safe_load``; every default named."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .analysis import PRESETS, AnalyzerSpec
from .errors import ConfigError
from .schema import TEXT_FIELDS

# Tuned on the judged collections (CACM, CISI, Cranfield, LISA, ADI): the best mean nDCG@10 of
# a grid in which most settings beat bm25s on every set; see benchmarks/RESULTS.md.
DEFAULT_K1 = 1.8
DEFAULT_B = 0.5
DEFAULT_FIELD_WEIGHTS = {"title": 3.0, "body": 1.0}
DEFAULT_ANALYZER = "english"


@dataclass(frozen=True)
class Scoring:
    """BM25F parameters: ``k1`` saturation, per-field ``b`` length normalisation and weights."""

    k1: float = DEFAULT_K1
    b: float = DEFAULT_B
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FIELD_WEIGHTS))
    field_b: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (isinstance(self.k1, (int, float)) and 0 <= self.k1 <= 100):
            raise ConfigError(f"k1 must be a number in [0, 100], got {self.k1!r}")
        if not (isinstance(self.b, (int, float)) and 0 <= self.b <= 1):
            raise ConfigError(f"b must be a number in [0, 1], got {self.b!r}")
        for name, mapping in (("weights", self.weights), ("field_b", self.field_b)):
            for fname, value in mapping.items():
                if fname not in TEXT_FIELDS:
                    raise ConfigError(
                        f"{name}: unknown text field {fname!r}; known: {', '.join(TEXT_FIELDS)}"
                    )
                if not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                    raise ConfigError(f"{name}.{fname} must be a finite number >= 0, got {value!r}")
        for fname, value in self.field_b.items():
            if value > 1:
                raise ConfigError(f"field_b.{fname} must be in [0, 1], got {value!r}")

    def weight(self, fname: str) -> float:
        return float(self.weights.get(fname, 1.0))

    def b_for(self, fname: str) -> float:
        return float(self.field_b.get(fname, self.b))

    def with_(self, **changes: Any) -> Scoring:
        """A copy with some parameters changed (``scoring.with_(k1=0.9)``)."""
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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scoring:
        unknown = set(data) - {"k1", "b", "weights", "field_b"}
        if unknown:
            raise ConfigError(f"scoring: unknown option(s) {', '.join(sorted(unknown))}")
        values = dict(data)
        if "weights" in values:
            values["weights"] = {**DEFAULT_FIELD_WEIGHTS, **values["weights"]}
        return cls(**values)


@dataclass(frozen=True)
class IndexSettings:
    """Fixed when an index is created: how each text field is analyzed, and default scoring."""

    analyzers: Mapping[str, AnalyzerSpec] = field(
        default_factory=lambda: {f: PRESETS[DEFAULT_ANALYZER] for f in TEXT_FIELDS}
    )
    scoring: Scoring = field(default_factory=Scoring)

    def to_dict(self) -> dict:
        return {
            "analyzers": {f: spec.to_dict() for f, spec in self.analyzers.items()},
            "scoring": self.scoring.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexSettings:
        if not isinstance(data, Mapping):
            raise ConfigError("settings must be a mapping")
        unknown = set(data) - {"analyzer", "analyzers", "scoring"}
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(sorted(unknown))}; known: analyzer, analyzers, "
                "scoring"
            )
        analyzers = {f: PRESETS[DEFAULT_ANALYZER] for f in TEXT_FIELDS}
        if "analyzer" in data:
            spec = _analyzer_spec(data["analyzer"], "analyzer")
            analyzers = {f: spec for f in TEXT_FIELDS}
        for fname, value in (data.get("analyzers") or {}).items():
            if fname not in TEXT_FIELDS:
                raise ConfigError(
                    f"analyzers: unknown text field {fname!r}; known: {', '.join(TEXT_FIELDS)}"
                )
            analyzers[fname] = _analyzer_spec(value, f"analyzers.{fname}")
        scoring = Scoring.from_dict(data.get("scoring") or {})
        return cls(analyzers=analyzers, scoring=scoring)

    @classmethod
    def from_yaml(cls, path: str | Path) -> IndexSettings:
        """Read settings from a YAML file, e.g.::

        analyzer: english          # or a mapping: {stemmer: porter, stop_words: none}
        scoring: {k1: 1.8, b: 0.5, weights: {title: 3.0, body: 1.0}}   # the defaults
        """
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        try:
            return cls.from_dict(data)
        except (ConfigError, TypeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None


def _analyzer_spec(value: Any, where: str) -> AnalyzerSpec:
    if isinstance(value, str):
        if value not in PRESETS:
            raise ConfigError(f"{where}: unknown analyzer {value!r}; presets: {', '.join(PRESETS)}")
        return PRESETS[value]
    if isinstance(value, Mapping):
        preset = PRESETS[value.get("preset", DEFAULT_ANALYZER)] if "preset" in value else None
        rest = {k: v for k, v in value.items() if k != "preset"}
        base = preset.to_dict() if preset else {}
        try:
            return AnalyzerSpec.from_dict({**base, **rest})
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    raise ConfigError(f"{where}: expected a preset name or a mapping, got {type(value).__name__}")
