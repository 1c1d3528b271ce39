"""Engine adapters, looked up by name. Each lives in its own module and imports its package lazily."""

from __future__ import annotations

import importlib

from .base import Engine, EngineUnavailable, Unsupported

#: name -> "module:Class". Order is the report order.
REGISTRY = {
    "newsindex": "newsindex_engine:NewsindexEngine",
    "tantivy": "tantivy_engine:TantivyEngine",
    "tantivy-stored": "tantivy_engine:TantivyStoredEngine",
    "sqlite-fts5": "sqlite_engine:SqliteFts5Engine",
    "bm25s": "bm25s_engine:Bm25sEngine",
    "whoosh": "whoosh_engine:WhooshEngine",
    "rank-bm25": "rankbm25_engine:RankBm25Engine",
}

#: Short aliases accepted on the command line.
ALIASES = {
    "fts5": "sqlite-fts5",
    "sqlite": "sqlite-fts5",
    "rank_bm25": "rank-bm25",
    "ni": "newsindex",
}


def engine_class(name: str) -> type[Engine]:
    """The adapter class for ``name`` (or an alias)."""
    name = ALIASES.get(name, name)
    if name not in REGISTRY:
        raise KeyError(f"unknown engine {name!r}; known: {', '.join(REGISTRY)}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make_engine(name: str, phase: str = "build", **params) -> Engine:
    """An adapter instance, raising :class:`EngineUnavailable` if its package is missing."""
    cls = engine_class(name)
    reason = cls.missing(phase)
    if reason:
        raise EngineUnavailable(reason)
    return cls(**params)


def parse_engines(spec: str | None) -> list[str]:
    """``"all"``/None -> every engine; else a comma list, aliases resolved, order kept."""
    if not spec or spec == "all":
        return list(REGISTRY)
    names = [ALIASES.get(n.strip(), n.strip()) for n in spec.split(",") if n.strip()]
    for n in names:
        engine_class(n)  # validate early
    return names


__all__ = [
    "Engine",
    "EngineUnavailable",
    "Unsupported",
    "REGISTRY",
    "engine_class",
    "make_engine",
    "parse_engines",
]
