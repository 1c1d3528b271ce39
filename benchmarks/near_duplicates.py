"""Near-duplicate collapsing (issue 18.1): grouping precision and recall, and search cost.

Usage (from the repository root)::

    python benchmarks/near_duplicates.py [--copies 1000] [--queries 200] [--runs 3] [--json]

Three measurements, each on real text:

1. **Known copies.** Reuters-21578 (``../shared/data/reuters21578/docs.jsonl.gz``), plus one
   or two edited copies of ``--copies`` of its stories (picked with a fixed seed, 60 words
   or longer), each made with one kind of edit: ``substitute`` (5% of the words replaced by
   words of other stories), ``reorder`` (two sentences moved), ``byline`` (a byline before
   and a boilerplate paragraph after), ``truncate`` (cut to 60-90% of its words),
   ``mixed`` (3% substituted, a headline word changed, a byline, boilerplate and a moved
   sentence). The truth: each original and its copies form a group. For each threshold,
   ``Index.duplicates`` groups the whole index; recall is the share of true pairs grouped
   (also per kind of edit), precision the share of grouped pairs involving a copy that are
   true. Pairs of two original Reuters stories are outside the truth and counted apart
   (Reuters-21578 holds its own near-duplicates: re-sent and corrected stories).
2. **Crossposts.** 20 Newsgroups (``../shared/data/20newsgroups``): 531 files repeat a
   Message-ID already seen, the same post filed under two groups. Truth: posts sharing a
   Message-ID. Recall of those pairs, and the share of grouped pairs that share one
   (other grouped pairs: reposts, near-identical replies).
3. **Search cost.** On Reuters-21578 alone, each of ``--queries`` story titles (plain
   words, fixed seed) searched with ``limit=10``, with and without ``collapse=True``: the
   median over ``--runs`` runs per query, then the median and 95th percentile over queries.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # standalone: run without installing the package

from newsindex import COLLAPSE_THRESHOLD, Index  # noqa: E402

DATA = REPO.parent / "shared" / "data"
REUTERS = DATA / "reuters21578" / "docs.jsonl.gz"
NEWSGROUPS = DATA / "20newsgroups" / "docs.jsonl.gz"
THRESHOLDS = (0.5, 0.55, 0.6, 0.7, 0.8, 0.9)
KINDS = ("substitute", "reorder", "byline", "truncate", "mixed")
BYLINES = (
    "By Jane Smith, Staff Correspondent.",
    "From our wire services.",
    "NEW YORK (Wire) -",
    "Compiled by the business desk.",
)
BOILERPLATE = (
    "Copyright 1987 Wire Services. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed.",
    "For more business news, subscribe to our daily newsletter and follow us online.",
    "Additional reporting by our correspondents; editing by the news desk.",
)


def _read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _substitute(rnd: random.Random, words: list[str], share: float, pool: list[str]) -> None:
    for _ in range(max(1, round(len(words) * share))):
        words[rnd.randrange(len(words))] = rnd.choice(pool)


def _move_sentence(rnd: random.Random, text: str) -> str:
    parts = text.split(". ")
    if len(parts) > 2:
        parts.insert(rnd.randrange(len(parts)), parts.pop(rnd.randrange(len(parts))))
    return ". ".join(parts)


def make_copy(rnd: random.Random, doc: dict, kind: str, pool: list[str], n: int) -> dict:
    title, body = doc.get("title") or "", doc["body"]
    words = body.split()
    if kind == "substitute":
        _substitute(rnd, words, 0.05, pool)
        body = " ".join(words)
    elif kind == "reorder":
        body = _move_sentence(rnd, _move_sentence(rnd, body))
    elif kind == "byline":
        body = f"{rnd.choice(BYLINES)} {body}\n{rnd.choice(BOILERPLATE)}"
    elif kind == "truncate":
        body = " ".join(words[: max(1, int(len(words) * rnd.uniform(0.6, 0.9)))])
    else:  # mixed
        _substitute(rnd, words, 0.03, pool)
        tw = title.split()
        if tw:
            _substitute(rnd, tw, 0.0, pool)
        title = " ".join(tw)
        body = _move_sentence(rnd, " ".join(words))
        body = f"{rnd.choice(BYLINES)} {body}\n{rnd.choice(BOILERPLATE)}"
    return {**doc, "id": f"{doc['id']}~copy{n}", "title": title, "body": body}


def _pairs(groups: list[tuple[str, ...]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in combinations(g, 2)}  # type: ignore[misc]


def _shingles(ix: Index, doc: dict) -> set[tuple[str, ...]]:
    """The exact set a signature summarizes: 3-term runs of each field's analyzed terms."""
    out: set[tuple[str, ...]] = set()
    for field in ("title", "body"):
        terms = ix.analyzer(field).terms(doc.get(field) or "")
        if 0 < len(terms) < 3:
            out.add(tuple(terms))
        out.update(tuple(terms[i : i + 3]) for i in range(len(terms) - 2))
    return out


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _index(folder: Path, docs: list[dict]) -> Index:
    ix = Index.create(folder)
    with ix.writer() as w:
        for d in docs:
            w.add(d)
    return ix


def known_copies(tmp: Path, copies: int) -> dict:
    docs = _read(REUTERS)
    rnd = random.Random(18)
    pool = " ".join(d["body"] for d in rnd.sample(docs, 300)).split()
    candidates = [d for d in docs if len(d["body"].split()) >= 60]
    originals = rnd.sample(candidates, copies)
    made, kind_of = [], {}
    truth_groups = []
    for doc in originals:
        group = [doc["id"]]
        for n in range(rnd.choice((1, 1, 2))):
            kind = rnd.choice(KINDS)
            c = make_copy(rnd, doc, kind, pool, n)
            made.append(c)
            kind_of[c["id"]] = kind
            group.append(c["id"])
        truth_groups.append(tuple(group))
    truth = _pairs(truth_groups)
    by_id = {d["id"]: d for d in docs + made}
    ix = _index(tmp / "copies", docs + made)
    sets: dict[str, set] = {}

    def exact(a: str, b: str) -> float:
        for i in (a, b):
            if i not in sets:
                sets[i] = _shingles(ix, by_id[i])
        return _jaccard(sets[a], sets[b])

    out: dict = {"stories": len(docs), "copies": len(made), "true_pairs": len(truth)}
    rows = []
    for threshold in THRESHOLDS:
        started = time.perf_counter()
        found = _pairs(ix.duplicates(threshold=threshold))
        took = time.perf_counter() - started
        with_copy = {p for p in found if "~copy" in p[0] or "~copy" in p[1]}
        hit = found & truth
        per_kind = {}
        for kind in KINDS:
            pairs = {p for p in truth if kind_of.get(p[0]) == kind or kind_of.get(p[1]) == kind}
            per_kind[kind] = round(len(pairs & found) / len(pairs), 3) if pairs else None
        wrong = with_copy - truth
        # A copy grouped with a story outside its truth: how close are their texts really?
        near = sum(exact(a, b) >= threshold - 0.1 for a, b in wrong)
        rows.append(
            {
                "threshold": threshold,
                "recall": round(len(hit) / len(truth), 3),
                "precision": round(len(with_copy & truth) / max(len(with_copy), 1), 3),
                "false_pairs": len(wrong),
                "false_pairs_exact_jaccard_within_0.1": near,
                "recall_by_edit": per_kind,
                "pairs_of_two_originals": len(found - with_copy),
                "duplicates_s": round(took, 2),
            }
        )
    out["thresholds"] = rows
    return out


def crossposts(tmp: Path) -> dict:
    docs = _read(NEWSGROUPS)
    by_message: dict[str, list[str]] = defaultdict(list)
    for d in docs:
        mid = (d.get("extra") or {}).get("message_id")
        if mid:
            by_message[mid].append(d["id"])
    truth = _pairs([tuple(ids) for ids in by_message.values() if len(ids) > 1])
    by_id = {d["id"]: d for d in docs}
    ix = _index(tmp / "ng", docs)
    sets: dict[str, set] = {}
    rows = []
    for threshold in THRESHOLDS:
        found = _pairs(ix.duplicates(threshold=threshold))
        other = found - truth
        for i in {i for pair in other for i in pair} - sets.keys():
            sets[i] = _shingles(ix, by_id[i])
        near = sum(_jaccard(sets[a], sets[b]) >= threshold - 0.1 for a, b in other)
        rows.append(
            {
                "threshold": threshold,
                "recall": round(len(found & truth) / len(truth), 3),
                "precision": round(len(found & truth) / max(len(found), 1), 3),
                "grouped_pairs": len(found),
                "other_pairs_exact_jaccard_within_0.1": near,
            }
        )
    return {"posts": len(docs), "true_pairs": len(truth), "thresholds": rows}


def search_cost(tmp: Path, queries: int, runs: int) -> dict:
    docs = _read(REUTERS)
    ix = _index(tmp / "reuters", docs)
    picked = [
        d["title"] for d in random.Random(7).sample([d for d in docs if d.get("title")], queries)
    ]
    for q in picked[:20]:  # warm caches (and old-segment signatures, none here)
        ix.search(q, syntax="plain", collapse=True)
    plain, folded, matches = [], [], []
    for q in picked:
        for collapse, out in ((False, plain), (True, folded)):
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                res = ix.search(q, syntax="plain", limit=10, collapse=collapse)
                times.append(time.perf_counter() - started)
            out.append(statistics.median(times) * 1000.0)
        matches.append(res.total)

    def summary(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "median_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        }

    ratios = sorted(f / p for f, p in zip(folded, plain))
    return {
        "queries": queries,
        "plain": summary(plain),
        "collapse": summary(folded),
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_of_medians": round(statistics.median(folded) / statistics.median(plain), 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--copies", type=int, default=1000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.add_argument("--only", choices=("copies", "crossposts", "cost"), action="append")
    args = p.parse_args(argv)
    only = set(args.only or ("copies", "crossposts", "cost"))
    result: dict = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "default_threshold": COLLAPSE_THRESHOLD,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if "copies" in only:
            result["known_copies"] = known_copies(Path(tmp), args.copies)
        if "crossposts" in only:
            result["crossposts"] = crossposts(Path(tmp))
        if "cost" in only:
            result["search_cost"] = search_cost(Path(tmp), args.queries, args.runs)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
