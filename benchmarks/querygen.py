"""Seeded query sets: title words, title phrases, and filtered variants, saved as JSONL.

Every record is self-contained so that a file can be rerun later against any engine:
``{"id", "kind": "terms"|"phrase"|"filtered"|"filtered_hit"|"long", "text", "date_from"?,
"date_to"?, "section"?}``.
A test collection's ``queries.jsonl`` (``{"id", "text"}``) loads as ``terms`` queries;
:func:`requests` turns it into ``long`` queries (a judged collection's real requests).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .corpus import doc_day, open_text
from .textutil import clean_query, is_content_word, words

KINDS = ("terms", "filtered", "filtered_hit", "phrase", "long")
#: Kinds whose records carry filters (run through ``search_filtered``).
FILTERED_KINDS = ("filtered", "filtered_hit")
#: Bumped when ``generate`` makes new kinds, so kept query files are made again.
VERSION = 3
#: Words in a generated long query (issue 15: "generated 10-20 word queries").
LONG_WORDS = (10, 20)


def _title_tokens(doc: dict) -> list[str]:
    """Raw lowercased words of the title (or, for untitled docs, of the body's first 200 chars)."""
    return words(doc.get("title") or (doc.get("body") or "")[:200])


def _terms(rng: random.Random, tokens: list[str]) -> str | None:
    """1-4 distinct content words of one title, in title order."""
    content = list(dict.fromkeys(t for t in tokens if is_content_word(t)))
    if not content:
        return None
    n = min(rng.randint(1, 4), len(content))
    picked = sorted(rng.sample(range(len(content)), n))
    return " ".join(content[i] for i in picked)


def _phrase(rng: random.Random, tokens: list[str]) -> str | None:
    """2-3 *adjacent* content words of one title: adjacency in the raw token stream means every
    engine sees the words at consecutive positions, whatever it does with stop words."""
    runs, run = [], []
    for t in tokens + [""]:
        if is_content_word(t):
            run.append(t)
        else:
            if len(run) >= 2:
                runs.append(run)
            run = []
    if not runs:
        return None
    run = rng.choice(runs)
    n = min(rng.randint(2, 3), len(run))
    start = rng.randint(0, len(run) - n)
    return " ".join(run[start : start + n])


def _long(rng: random.Random, doc: dict) -> str | None:
    """10-20 distinct content words of one story (title, then body), in text order: a long
    request about that story, as a reader pasting a paragraph would make."""
    tokens = words((doc.get("title") or "") + " " + (doc.get("body") or ""))
    content = list(dict.fromkeys(t for t in tokens if is_content_word(t)))
    lo, hi = LONG_WORDS
    if len(content) < lo:
        return None
    n = rng.randint(lo, min(hi, len(content)))
    picked = sorted(rng.sample(range(len(content)), n))
    return " ".join(content[i] for i in picked)


def _windows(docs: Sequence[dict]):
    """(first day, last day, section population, weights) of a corpus, for filter drawing."""
    days = [d for d in map(doc_day, docs) if d]
    sections = Counter(doc.get("section") for doc in docs if doc.get("section"))
    names = sorted(sections)
    return (
        min(days) if days else None,
        max(days) if days else None,
        names,
        [sections[n] for n in names],
    )


def generate(
    docs: Sequence[dict],
    n: int = 1200,
    seed: int = 42,
    phrases: int | None = None,
    longs: int | None = None,
) -> list[dict]:
    """``n`` terms queries, two filtered twins per terms query, ``phrases`` phrase queries
    (default n/4) and ``longs`` long queries of 10-20 words (default n/5).

    ``filtered``: a date window a quarter of the corpus span long, placed uniformly at random
    inside it, plus one section drawn from the corpus's section distribution (weighted by doc
    count). Independent of the words, about half of these match nothing on Reuters-21578.
    ``filtered_hit``: the same window length placed at random among those holding the date of
    the story the words came from, and that story's section, so every query matches at least
    that story (the case of a reader narrowing a search they know has answers).
    A corpus without dates or sections gets only the filter parts it can have. Kinds are drawn
    from separate random streams, so adding one leaves the others' queries unchanged.
    """
    rng = random.Random(seed)
    phrases = n // 4 if phrases is None else phrases
    first, last, names, weights = _windows(docs)
    span = (last - first).days if first and last else 0
    width = max(1, round((span + 1) / 4))
    out: list[dict] = []
    terms: list[str] = []
    sources: list[dict] = []
    attempts = 0
    while len(terms) < n and attempts < 50 * n + 1000:
        attempts += 1
        doc = rng.choice(docs)
        text = _terms(rng, _title_tokens(doc))
        if text:
            terms.append(text)
            sources.append(doc)
    for i, text in enumerate(terms, 1):
        out.append({"id": f"t{i:05d}", "kind": "terms", "text": text})
    if first or names:
        for i, text in enumerate(terms, 1):
            q = {"id": f"f{i:05d}", "kind": "filtered", "text": text}
            if first:
                # ``width`` days inclusive, wholly inside [first, last].
                start = first + dt.timedelta(days=rng.randint(0, max(0, span + 1 - width)))
                q["date_from"] = start.isoformat()
                q["date_to"] = (start + dt.timedelta(days=width - 1)).isoformat()
            if names:
                q["section"] = rng.choices(names, weights)[0]
            out.append(q)
    found, attempts = 0, 0
    while found < phrases and attempts < 50 * phrases + 1000:
        attempts += 1
        text = _phrase(rng, _title_tokens(rng.choice(docs)))
        if text:
            found += 1
            out.append({"id": f"p{found:05d}", "kind": "phrase", "text": text})
    hit_rng = random.Random(f"{seed}:filtered_hit")
    for i, (text, doc) in enumerate(zip(terms, sources), 1):
        q = {"id": f"h{i:05d}", "kind": "filtered_hit", "text": text}
        day = doc_day(doc)
        if first and day:
            # ``width`` days inclusive, inside [first, last], holding ``day``.
            lo = max(first, day - dt.timedelta(days=width - 1))
            hi = min(day, last - dt.timedelta(days=width - 1))
            start = lo + dt.timedelta(days=hit_rng.randint(0, max(0, (hi - lo).days)))
            q["date_from"] = start.isoformat()
            q["date_to"] = (start + dt.timedelta(days=width - 1)).isoformat()
        if doc.get("section"):
            q["section"] = doc["section"]
        if len(q) > 3:
            out.append(q)
    longs = n // 5 if longs is None else longs
    long_rng = random.Random(f"{seed}:long")
    found, attempts = 0, 0
    while found < longs and attempts < 50 * longs + 1000:
        attempts += 1
        text = _long(long_rng, long_rng.choice(docs))
        if text:
            found += 1
            out.append({"id": f"l{found:05d}", "kind": "long", "text": text})
    return out


def requests(path: Path | str) -> list[dict]:
    """A judged collection's real requests (its ``queries.jsonl``) as ``long`` queries, cleaned
    like every other query (lowercase words, stop words dropped)."""
    return [
        {**q, "kind": "long"}
        for q in load(path)
        if q["kind"] == "terms" and "raw" in q and q["text"]
    ]


def save(queries: list[dict], path: Path | str, meta: dict | None = None) -> Path:
    """Write queries as JSONL (and ``meta`` to a ``.meta.json`` sidecar)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps(q) + "\n")
    if meta is not None:
        path.with_suffix(".meta.json").write_text(json.dumps(meta, indent=1))
    return path


def load(path: Path | str) -> list[dict]:
    """Read a query file; records without ``kind`` are ``terms`` queries with raw text, which is
    cleaned (lowercase words, stop words dropped) so all engines get the same string."""
    out = []
    with open_text(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            q = json.loads(line)
            if "kind" not in q:
                q = {
                    "id": str(q["id"]),
                    "kind": "terms",
                    "text": clean_query(q["text"]),
                    "raw": q["text"],
                }
            out.append(q)
    return out


def by_kind(queries: list[dict]) -> dict[str, list[dict]]:
    """Queries grouped by kind, file order kept (the order every engine runs them in)."""
    groups: dict[str, list[dict]] = {}
    for q in queries:
        groups.setdefault(q["kind"], []).append(q)
    return groups


def filter_args(q: dict) -> tuple[dt.date | None, dt.date | None, str | None]:
    """(date_from, date_to, section) of a filtered query record."""
    lo, hi = q.get("date_from"), q.get("date_to")
    return (
        dt.date.fromisoformat(lo) if lo else None,
        dt.date.fromisoformat(hi) if hi else None,
        q.get("section"),
    )
