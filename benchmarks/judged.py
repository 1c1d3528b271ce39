"""Ranking quality on the judged test collections (CACM, CISI, Cranfield, LISA, ADI, NFCorpus dev).

Runs in one process: quality does not depend on memory isolation, and building these small
collections takes seconds. Each engine gets the same cleaned query strings, returns its top
``depth`` documents, and the run is written as a TREC run file (with the qrels beside it in
trec_eval's format) so that trec_eval or ir_measures can check our metrics.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from .corpus import data_root, load_docs
from .engines import EngineUnavailable, engine_class, make_engine
from .metrics import evaluate, read_qrels, write_run, write_trec_qrels
from .textutil import clean_query

JUDGED_SETS = ("cacm", "cisi", "cranfield", "lisa", "adi", "nfcorpus-dev")
PEERS = ("tantivy", "sqlite-fts5", "bm25s", "whoosh", "rank-bm25")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def load_set(name: str, root: Path | None = None) -> tuple[list[dict], list[dict], dict]:
    """(docs, queries with cleaned text, qrels) of a judged collection."""
    folder = (root or data_root()) / name
    docs = load_docs(folder / "docs.jsonl.gz")
    queries = []
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)
                queries.append(
                    {"id": str(q["id"]), "text": clean_query(q["text"]), "raw": q["text"]}
                )
    return docs, queries, read_qrels(folder / "qrels.tsv")


def search_all(engine, queries: list[dict], depth: int) -> dict[str, list[str]]:
    """The engine's top ``depth`` for every query, in query-file order."""
    return {q["id"]: engine.search(q["text"], depth) for q in queries}


def evaluate_engine(
    name: str, params: dict, docs, queries, qrels, depth: int, workdir: Path
) -> tuple[dict, dict, dict]:
    """Build, open, search, score. Returns (metrics, run, describe)."""
    engine = make_engine(name, **params)
    engine.check_corpus(len(docs))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        engine.build(docs, workdir)
        engine.open(workdir)
        run = search_all(engine, queries, depth)
        return evaluate(run, qrels), run, engine.describe()
    finally:
        engine.close()


def run_judged(
    sets: list[str],
    engines: list[str],
    depth: int = 100,
    k1: float = 1.2,
    b: float = 0.75,
    out_dir: Path | None = None,
    root: Path | None = None,
    newsindex_options: dict | None = None,
) -> dict:
    """Every engine on every set. Peers get ``k1``/``b``; newsindex runs with its own defaults,
    changed by ``newsindex_options`` (``newsindex.Scoring`` fields, e.g. ``feedback=True``)."""
    newsindex_params: dict = {}
    if newsindex_options:
        import newsindex

        newsindex_params["scoring"] = newsindex.Scoring().with_(**newsindex_options)
    result = {
        "kind": "judged",
        "settings": {"depth": depth, "k1": k1, "b": b, "newsindex": newsindex_options or {}},
        "sets": list(sets),
        "engines": list(engines),
        "scores": {},
        "describe": {},
        "skipped": {},
    }
    runs_dir = Path(out_dir) / "runs" / "judged" if out_dir else None
    scratch = Path(tempfile.mkdtemp(prefix="bench-judged-"))
    try:
        for set_name in sets:
            docs, queries, qrels = load_set(set_name, root)
            if runs_dir:
                runs_dir.mkdir(parents=True, exist_ok=True)
                write_trec_qrels(qrels, runs_dir / f"{set_name}.qrels")
            result["scores"][set_name] = {}
            for name in engines:
                if engine_class(name).size_only:  # the same ranking as its timed twin
                    continue
                params = newsindex_params if name == "newsindex" else {"k1": k1, "b": b}
                try:
                    scores, run, desc = evaluate_engine(
                        name, params, docs, queries, qrels, depth, scratch / f"{set_name}-{name}"
                    )
                except EngineUnavailable as exc:
                    log(f"{set_name}: {exc}")
                    result["skipped"][f"{name}/{set_name}"] = str(exc)
                    continue
                result["scores"][set_name][name] = scores
                result["describe"].setdefault(name, desc)
                if runs_dir:
                    write_run(run, runs_dir / f"{set_name}.{name}.trec", name)
                log(
                    f"{set_name}: {name}: nDCG@10 {scores['ndcg@10']:.3f} MAP {scores['map']:.3f} "
                    f"R@100 {scores['recall@100']:.3f} ({scores['queries']} queries)"
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result
