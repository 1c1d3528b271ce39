"""Did you mean: accuracy on generated misspellings of real query words, and its cost.

Usage (from the repository root)::

    python benchmarks/spelling.py [--corpus PATH] [--words 500] [--json]

Indexes the corpus (default: Reuters-21578, ``../shared/data/reuters21578/docs.jsonl.gz``;
the bundled sample if that is missing), then takes ``--words`` words of the stories' titles
(the words people search news for: letters only, 4 letters or more, in 5 articles or more),
picked with a fixed seed, and misspells each in five ways: a deletion, an insertion, a
substitution, a swap of two neighbouring letters, and two of these at once. For each
misspelling that the index does not hold commonly (one that is itself a common word, "rate"
for "rare", is no misspelling to an index), it searches the misspelling and reads
``Results.suggestion``:

- ``right``: the suggestion is the word, or a word with the same index term (its stem);
- ``wrong``: another word was suggested;
- ``none``: no suggestion.

Also: how often the correctly spelled words get a suggestion (a false alarm), and the cost of
reading ``suggestion``: for queries of known common words (one lookup per word), for
misspellings (a dictionary pass), and the first read, which builds the snapshot's dictionary
(time and the memory tracemalloc sees it allocate).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # standalone: run without installing the package

from benchmarks.corpus import load_docs  # noqa: E402
from newsindex import Analyzer, Index  # noqa: E402

REUTERS = REPO.parent / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"
SAMPLE = REPO / "newsindex" / "data" / "reuters-sample.jsonl.gz"
KINDS = ("deletion", "insertion", "substitution", "transposition", "two edits")
ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def misspell(word: str, kind: str, rnd: random.Random) -> str:
    if kind == "two edits":
        first = rnd.choice(KINDS[:4])
        return misspell(misspell(word, first, rnd), rnd.choice(KINDS[:4]), rnd)
    i = rnd.randrange(len(word))
    if kind == "deletion":
        return word[:i] + word[i + 1 :]
    if kind == "insertion":
        return word[:i] + rnd.choice(ALPHABET) + word[i:]
    if kind == "substitution":
        return word[:i] + rnd.choice(ALPHABET.replace(word[i], "")) + word[i + 1 :]
    i = min(i, len(word) - 2)
    if word[i] == word[i + 1]:
        i = next((j for j in range(len(word) - 1) if word[j] != word[j + 1]), i)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _ms(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return (time.perf_counter() - started) * 1000.0, value


def measure(corpus: Path, words: int) -> dict:
    docs = load_docs(corpus)
    with tempfile.TemporaryDirectory() as tmp:
        ix = Index.create(Path(tmp) / "idx")
        with ix.writer() as w:
            for d in docs:
                w.add(d)
        analyzer: Analyzer = ix.analyzer("body")
        title_words = sorted(
            {
                w
                for d in docs
                for w in re.findall(r"[a-z]+", (d.get("title") or "").lower())
                if len(w) >= 4 and analyzer.terms(w)
            }
        )
        held = {w: ix.count(w, syntax="plain") for w in title_words}
        rare = max(3, int(1e-4 * ix.doc_count))
        pool = [w for w in title_words if held[w] >= 5]
        rnd = random.Random(18)
        picked = rnd.sample(pool, min(words, len(pool)))

        # The first read that needs the dictionary builds it.
        tracemalloc.start()
        first = ix.search("qzxwvu", syntax="plain")
        build_ms, _ = _ms(lambda: first.suggestion)
        build_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()

        known_costs = []
        alarms = 0
        for word in picked:
            res = ix.search(word, syntax="plain")
            ms, suggestion = _ms(lambda res=res: res.suggestion)
            known_costs.append(ms)
            alarms += suggestion is not None
        outcome = {kind: {"right": 0, "wrong": 0, "none": 0, "common": 0} for kind in KINDS}
        typo_costs = []
        examples_wrong: list[str] = []
        for word in picked:
            for kind in KINDS:
                typo = misspell(word, kind, rnd)
                if typo == word or ix.count(typo, syntax="plain") > rare:
                    outcome[kind]["common"] += 1
                    continue
                res = ix.search(typo, syntax="plain")
                ms, suggestion = _ms(lambda res=res: res.suggestion)
                typo_costs.append(ms)
                if suggestion is None:
                    outcome[kind]["none"] += 1
                elif suggestion == word or analyzer.terms(suggestion) == analyzer.terms(word):
                    outcome[kind]["right"] += 1
                else:
                    outcome[kind]["wrong"] += 1
                    if len(examples_wrong) < 8:
                        examples_wrong.append(f"{word} -> {typo} -> {suggestion}")
        ix.close()

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(values[int(q * (len(values) - 1))], 3) if values else 0.0

    return {
        "corpus": str(corpus),
        "docs": len(docs),
        "words": len(picked),
        "python": platform.python_version(),
        "outcome": outcome,
        "false_alarms": alarms,
        "wrong_examples": examples_wrong,
        "cost_ms": {
            "known_word_median": round(statistics.median(known_costs), 4),
            "known_word_p95": pct(known_costs, 0.95),
            "misspelling_median": round(statistics.median(typo_costs), 3),
            "misspelling_p95": pct(typo_costs, 0.95),
            "first_read_builds_dictionary": round(build_ms, 1),
        },
        "dictionary_bytes": build_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=REUTERS if REUTERS.exists() else SAMPLE)
    p.add_argument("--words", type=int, default=500)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = measure(args.corpus, args.words)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['docs']:,} docs from {result['corpus']}; {result['words']} title words")
    print(f"{'misspelling':>14} {'right':>6} {'wrong':>6} {'none':>6}   (common words skipped)")
    for kind, o in result["outcome"].items():
        n = o["right"] + o["wrong"] + o["none"]
        print(
            f"{kind:>14} {o['right'] / n:6.1%} {o['wrong'] / n:6.1%} {o['none'] / n:6.1%}"
            f"   of {n} ({o['common']})"
        )
    print(f"false alarms on the words spelled right: {result['false_alarms']} of {result['words']}")
    for key, value in result["cost_ms"].items():
        print(f"{key:>30}: {value} ms")
    print(f"{'dictionary':>30}: {result['dictionary_bytes'] / 1e6:.1f} MB")
    for line in result["wrong_examples"]:
        print("  wrong:", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
