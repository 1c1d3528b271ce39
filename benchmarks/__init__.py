"""Benchmark harness for newsindex and its peers (tantivy, SQLite FTS5, bm25s, whoosh, rank_bm25).

Run it as ``python -m benchmarks ...`` (see ``benchmarks/README.md``); the ``newsindex bench``
command calls :func:`main` with its own argument list.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point shared by ``python -m benchmarks`` and ``newsindex bench``."""
    from .cli import main as _main

    return _main(argv)


__all__ = ["main"]
