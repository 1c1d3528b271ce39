"""Reading corpora (docs.jsonl[.gz]), finding the default ones, and per-corpus facts."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Where the shared data sets live: $NEWSINDEX_DATA, ../shared/data beside the repo, or /work/shared/data.

    CI runs in a fresh clone with shared/ copied beside it, hence the repo-relative candidate.
    """
    env = os.environ.get("NEWSINDEX_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[-1]


def default_corpus() -> Path:
    """The bundled sample if the package ships one, else the full Reuters-21578 set."""
    candidates = []
    try:
        import importlib.util

        spec = importlib.util.find_spec("newsindex")
        if spec and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                candidates.append(Path(loc) / "data" / "sample.jsonl.gz")
    except (ImportError, ValueError):
        pass
    candidates.append(REPO / "newsindex" / "data" / "sample.jsonl.gz")
    candidates.append(data_root() / "reuters21578" / "docs.jsonl.gz")
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError("no default corpus found; pass --corpus PATH")


def resolve_corpus(name_or_path: str | None) -> Path:
    """A path as given, a data-set name (``reuters21578``), or the default corpus for None."""
    if not name_or_path:
        return default_corpus()
    path = Path(name_or_path)
    if path.is_file():
        return path
    named = data_root() / name_or_path / "docs.jsonl.gz"
    if named.is_file():
        return named
    raise FileNotFoundError(f"corpus not found: {name_or_path}")


def open_text(path: Path | str, mode: str = "rt"):
    """Open a text file, transparently gunzipping ``*.gz``."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def iter_docs(path: Path | str, limit: int | None = None) -> Iterator[dict]:
    """Stream documents from a docs.jsonl[.gz] file (blank lines skipped)."""
    with open_text(path) as fh:
        for n, line in enumerate(fh):
            if limit is not None and n >= limit:
                return
            if line.strip():
                yield json.loads(line)


def load_docs(path: Path | str, limit: int | None = None) -> list[dict]:
    """All documents in memory: timing a build must not include JSON parsing and gunzip."""
    return list(iter_docs(path, limit))


def doc_day(doc: dict) -> dt.date | None:
    """The calendar day of a document's ISO date, or None when it has none or it is malformed."""
    value = doc.get("date")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def doc_text(doc: dict) -> tuple[str, str]:
    """(title, body) with None turned into empty strings."""
    return doc.get("title") or "", doc.get("body") or ""


def corpus_tag(path: Path | str) -> str:
    """A short name for file names and tables: the data-set folder for docs.jsonl.gz, else the stem."""
    path = Path(path)
    name = path.name
    for suffix in (".gz", ".jsonl", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name == "docs":
        name = path.parent.name
    return name


def corpus_meta(path: Path | str) -> dict:
    """Facts about a corpus file: the sidecar written by the scale generator, if any.

    A synthetic corpus carries ``synthetic: true`` so that every figure made from it is labelled.
    """
    path = Path(path)
    sidecar = path.with_name(corpus_tag(path) + ".meta.json")
    meta = {"path": str(path), "tag": corpus_tag(path), "synthetic": False}
    if sidecar.is_file():
        meta.update(json.loads(sidecar.read_text()))
    else:
        first = next(iter_docs(path, limit=1), None)
        if first and isinstance(first.get("extra"), dict) and first["extra"].get("synthetic"):
            meta["synthetic"] = True
    return meta


def dir_size(path: Path | str) -> int:
    """Total bytes of the files under ``path`` (a file's own size if it is one)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:  # a file removed while walking (merges)
                pass
    return total
