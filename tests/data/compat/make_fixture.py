"""Write a compatibility fixture: a small index in today's format plus the answers it gives.

Usage (from the repository root)::

    PYTHONPATH=$PWD python3 tests/data/compat/make_fixture.py tests/data/compat/<format-name>

The folder gets ``index/`` (the index as written) and ``answers.json`` (queries -> ids, scores,
totals, facets; every stored article; check's verdict). tests/test_compat.py opens the index
with the current code and requires exactly the same answers, so a format change that stops
reading old indexes, or changes what they answer, fails the build. Never regenerate an
existing fixture: add a new folder for a new format.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import newsindex

SAMPLE = Path(newsindex.__file__).parent / "data" / "reuters-sample.jsonl.gz"

#: Queries covering each plan shape: words, AND/NOT, phrases, prefixes, fields, keyword columns
#: and date ranges, each with a relevance and a date sort.
QUERIES = [
    "oil",
    "oil prices",
    "bank AND rates",
    "trade -japan",
    '"crude oil"',
    'title:"oil"',
    "export*",
    "section:grain",
    "source:reuters wheat",
    "date:1987-03-01..1987-03-31 sugar",
    "tokyo OR london OR frankfurt",
    "zürich OR café",
    "-oil",
    "date:>=1987-03-10",
]


def load() -> list[dict]:
    """40 short sample stories: 24 from topical sections (so queries have several hits), 16
    others, in collection order."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    short = [r for r in rows if 150 < len(r["body"]) < 900]
    topical = {"crude", "grain", "sugar", "trade", "money-fx", "interest"}
    picked = [r for r in short if r["section"] in topical][:24]
    picked += [r for r in short if r["section"] not in topical][:16]
    return sorted(picked, key=lambda r: int(r["id"]))


def build(folder: Path) -> list[str]:
    docs = load()
    # A non-ASCII article, so both stored-block encodings (ASCII-escaped and UTF-8) are kept.
    docs[5] = {**docs[5], "title": "Zürich café prices — " + docs[5]["title"]}
    ix = newsindex.Index.create(folder)
    for part in (docs[:14], docs[14:28], docs[28:]):  # three commits: three segments
        with ix.writer() as w:
            for d in part:
                w.add(d)
    with ix.writer() as w:  # deletions in two segments, and a replace
        w.delete(docs[2]["id"])
        w.delete(docs[20]["id"])
        w.delete(docs[21]["id"])
        w.add({**docs[3], "title": "Replaced: " + docs[3]["title"], "body": docs[3]["body"][::-1]})
    ix.close()
    return [d["id"] for d in docs]


def answers(folder: Path, ids: list[str]) -> dict:
    ix = newsindex.Index.open(folder)
    out: dict = {"generation": ix.generation, "doc_count": ix.doc_count, "queries": []}
    for q in QUERIES:
        for sort in ("relevance", "date"):
            res = ix.search(q, limit=20, sort=sort, facets=True)
            out["queries"].append(
                {
                    "query": q,
                    "sort": sort,
                    "total": res.total,
                    "hits": [[h.id, h.score, h.date_day] for h in res.hits],
                    "facets": json.loads(json.dumps(res.facets.to_dict())),
                }
            )
    out["articles"] = {i: (a.to_dict() if (a := ix.get(i)) else None) for i in ids}
    out["check"] = ix.check()
    ix.close()
    return out


def main(target: str) -> None:
    dest = Path(target)
    if dest.exists():
        sys.exit(f"{dest} exists: a fixture is never regenerated; make a new format folder")
    dest.mkdir(parents=True)
    ids = build(dest / "index")
    (dest / "index" / "write.lock").unlink(missing_ok=True)
    data = answers(dest / "index", ids)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    data["written_by"] = {"commit": commit, "newsindex": newsindex.__version__}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    (dest / "answers.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
