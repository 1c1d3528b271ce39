"""Tune newsindex's BM25F parameters (k1, b, title weight) on the judged collections.

``python -m benchmarks.tune [--mode grid|coord] [--sets ...]`` builds one newsindex index per
collection, then re-runs every query under each candidate ``newsindex.Scoring`` (scoring is a
search-time parameter, so no rebuilds). The objective is the mean nDCG@10 over the collections.
bm25s at k1=0.9 b=0.4 and k1=1.2 b=0.75 is run on the same collections for comparison.

Tuning on the collections we also report on flatters the winner, so the report adds a
leave-one-collection-out figure: for each collection, the setting chosen on the *other*
collections, scored on this one. That is the honest estimate of what a default generalises to.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
from pathlib import Path

from .judged import JUDGED_SETS, evaluate_engine, load_set, search_all
from .metrics import evaluate
from .runner import OUT, log

K1_GRID = (0.6, 0.9, 1.2, 1.5, 1.8, 2.1, 2.4)
B_GRID = (0.3, 0.4, 0.5, 0.6, 0.75, 0.9)
TITLE_GRID = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
BM25S_BASELINES = ((0.9, 0.4), (1.2, 0.75))


class Collections:
    """One open newsindex index per judged collection, plus its queries and qrels."""

    def __init__(self, sets: list[str], depth: int):
        from .engines import make_engine

        self.depth = depth
        self.scratch = Path(tempfile.mkdtemp(prefix="bench-tune-"))
        self.data = {}
        for name in sets:
            docs, queries, qrels = load_set(name)
            engine = make_engine("newsindex")
            workdir = self.scratch / name
            workdir.mkdir()
            engine.build(docs, workdir)
            engine.open(workdir)
            self.data[name] = (engine, queries, qrels, docs)
            log(f"tune: indexed {name} ({len(docs):,} docs, {len(queries)} queries)")

    def score(self, k1: float, b: float, title: float) -> dict[str, dict]:
        """Metrics per collection for one setting."""
        import newsindex

        scoring = newsindex.Scoring(k1=k1, b=b, weights={"title": title, "body": 1.0})
        out = {}
        for name, (engine, queries, qrels, _docs) in self.data.items():
            engine.scoring = scoring
            out[name] = evaluate(search_all(engine, queries, self.depth), qrels)
        return out

    def close(self) -> None:
        for engine, *_ in self.data.values():
            engine.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _mean(scores: dict[str, dict], metric: str = "ndcg@10") -> float:
    return sum(s[metric] for s in scores.values()) / len(scores)


def grid_search(cols: Collections, k1s, bs, titles) -> dict[tuple, dict]:
    results = {}
    for n, key in enumerate(itertools.product(k1s, bs, titles), 1):
        results[key] = cols.score(*key)
        if n % 10 == 0:
            log(f"tune: {n} settings scored")
    return results


def coordinate_search(
    cols: Collections, k1s, bs, titles, start: tuple, rounds: int = 3
) -> dict[tuple, dict]:
    """Optimise one parameter at a time over its grid, the others fixed, until nothing moves."""
    results: dict[tuple, dict] = {}

    def get(key):
        if key not in results:
            results[key] = cols.score(*key)
        return _mean(results[key])

    best = start
    for _ in range(rounds):
        before = best
        for axis, grid in enumerate((k1s, bs, titles)):
            for v in grid:
                cand = tuple(v if i == axis else x for i, x in enumerate(best))
                if get(cand) > get(best):
                    best = cand
        log(f"tune: round done, best {best} mean nDCG@10 {get(best):.4f}")
        if best == before:
            break
    return results


def leave_one_out(results: dict[tuple, dict], sets: list[str]) -> dict[str, dict]:
    """For each collection: the setting best on the others, and its score on this one."""
    out = {}
    for held in sets:
        others = [s for s in sets if s != held]
        key = max(results, key=lambda k: sum(results[k][s]["ndcg@10"] for s in others))
        out[held] = {"setting": list(key), "ndcg@10": results[key][held]["ndcg@10"]}
    return out


def markdown(report: dict, top: int = 10) -> str:
    sets = report["sets"]
    head = "| setting (k1, b, title) | " + " | ".join(sets) + " | mean |"
    rule = "|---|" + "---:|" * (len(sets) + 1)

    def row(label, per):
        vals = [per[s]["ndcg@10"] for s in sets]
        return (
            f"| {label} | "
            + " | ".join(f"{v:.3f}" for v in vals)
            + f" | {sum(vals) / len(vals):.3f} |"
        )

    lines = [
        f"# newsindex tuning ({report['mode']} search, {report['evaluated']} settings), nDCG@10",
        "",
        f"Grid: k1 {report['grid']['k1']}, b {report['grid']['b']}, title {report['grid']['title']}.",
        "",
        head,
        rule,
    ]
    for key, per in report["ranked"][:top]:
        lines.append(row(f"newsindex {tuple(key)}", per))
    if report.get("default"):
        lines.append(
            row(f"newsindex defaults {tuple(report['default_setting'])}", report["default"])
        )
    for label, per in report["bm25s"].items():
        lines.append(row(label, per))
    loo = report["leave_one_out"]
    lines.append(
        "| newsindex leave-one-collection-out | "
        + " | ".join(f"{loo[s]['ndcg@10']:.3f}" for s in sets)
        + f" | {sum(loo[s]['ndcg@10'] for s in sets) / len(sets):.3f} |"
    )
    lines += [
        "",
        "Leave-one-out settings: " + ", ".join(f"{s}: {tuple(loo[s]['setting'])}" for s in sets),
        "",
        "Best per collection: "
        + ", ".join(
            f"{s}: {tuple(report['best_per_set'][s]['setting'])} {report['best_per_set'][s]['ndcg@10']:.3f}"
            for s in sets
        ),
    ]
    edges = edge_warnings(report)
    if edges:
        lines += [
            "",
            "**The best setting is on the edge of the grid** (" + ", ".join(edges) + "): "
            "the optimum may lie outside it; widen the grid before choosing a default.",
        ]
    return "\n".join(lines) + "\n"


def edge_warnings(report: dict) -> list[str]:
    """Parameters whose best value is the grid's smallest or largest (when the grid has 3+ values)."""
    best = report["ranked"][0][0]
    out = []
    for value, name in zip(best, ("k1", "b", "title"), strict=True):
        grid = report["grid"][name]
        if len(grid) >= 3 and value in (min(grid), max(grid)):
            out.append(f"{name}={value}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.tune",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--mode", choices=["grid", "coord"], default="grid")
    ap.add_argument("--sets", default=",".join(JUDGED_SETS))
    ap.add_argument("--k1", default=",".join(map(str, K1_GRID)))
    ap.add_argument("--b", default=",".join(map(str, B_GRID)))
    ap.add_argument("--title", default=",".join(map(str, TITLE_GRID)))
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--top", type=int, default=10, help="settings listed in the markdown table")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    try:
        import newsindex

        defaults = newsindex.Scoring()
    except (ImportError, AttributeError) as exc:
        print(f"tune: newsindex.Scoring is not available yet ({exc})", file=sys.stderr)
        return 2
    sets = [s for s in a.sets.split(",") if s]
    k1s, bs, titles = (tuple(float(x) for x in v.split(",")) for v in (a.k1, a.b, a.title))
    default_key = (float(defaults.k1), float(defaults.b), float(defaults.weight("title")))
    cols = Collections(sets, a.depth)
    try:
        if a.mode == "grid":
            results = grid_search(cols, k1s, bs, titles)
        else:
            results = coordinate_search(cols, k1s, bs, titles, default_key)
        default_scores = results.get(default_key) or cols.score(*default_key)
        bm25s = {}
        for k1, b in BM25S_BASELINES:
            per = {}
            for name, (_e, queries, qrels, docs) in cols.data.items():
                per[name], _run, _desc = evaluate_engine(
                    "bm25s",
                    {"k1": k1, "b": b},
                    docs,
                    queries,
                    qrels,
                    a.depth,
                    cols.scratch / f"bm25s-{name}-{k1}-{b}",
                )
            bm25s[f"bm25s k1={k1} b={b}"] = per
    finally:
        cols.close()
    ranked = sorted(results.items(), key=lambda kv: -_mean(kv[1]))
    report = {
        "kind": "tune",
        "mode": a.mode,
        "sets": sets,
        "evaluated": len(results),
        "grid": {"k1": list(k1s), "b": list(bs), "title": list(titles)},
        "ranked": [[list(k), v] for k, v in ranked],
        "default_setting": list(default_key),
        "default": default_scores,
        "bm25s": bm25s,
        "leave_one_out": leave_one_out(results, sets),
        "best_per_set": {
            s: {"setting": list(k), "ndcg@10": results[k][s]["ndcg@10"]}
            for s in sets
            for k in [max(results, key=lambda k, s=s: results[k][s]["ndcg@10"])]
        },
    }
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tune.json").write_text(json.dumps(report, indent=1))
    md = markdown(report, a.top)
    (out / "tune.md").write_text(md)
    print(md)
    print(f"json: {out / 'tune.json'}\nmd: {out / 'tune.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
