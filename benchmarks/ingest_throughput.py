"""Ingest throughput (records/s): JSONL on Reuters-21578, synthetic raw pages from the seed, and
HTML pages and a WARC crawl made of Reuters-21578 stories.

Usage (from the repository root)::

    python benchmarks/ingest_throughput.py [--runs 3] [--pages 2000] [--html 300] [--jsonl PATH]
        [--json]

Each figure is the median of ``--runs`` timed passes of ``newsindex.iter_records`` over
the input, end to end: walking, reading, decoding, parsing and validating every ``Article``.

- JSONL: ``../shared/data/reuters21578/docs.jsonl.gz`` (21,578 real stories; gzip).
- Raw pages: ``--pages`` files written to a temporary folder under /tmp from the seed page
  (``seeds/000_*.txt``) with varied headlines, dates, sections and sources (seeded random:
  SYNTHETIC data, same files every run), deleted afterwards.
- HTML pages: the first ``--html`` stories of the JSONL file (real text) wrapped in a news
  site's markup (metadata, menu, cookie notice, related stories, footer: the page template of
  tests/page_fixtures.py), one ``.html`` file each; and the same pages as the HTML responses of
  one ``.warc.gz`` (with a request record before each), read through trafilatura and htmldate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # standalone: run without installing the package

from newsindex import Record, iter_records  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
from page_fixtures import reuters_page, write_warc  # noqa: E402

SEED = REPO / "seeds" / "000_bd656d18b2dd3dcd.txt"
REUTERS = REPO.parent / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"
SEED_TITLE = "Battle for strategic district in Aleppo continues"
SECTIONS = ["WORLD", "BUSINESS", "MIDDLE EAST", "SCI-TECH", "SPORT", "US AND CANADA"]
SOURCES = ["TRTWorld and agencies", "Reuters", "AFP", "Associated Press", "Anadolu Agency"]


def make_pages(folder: Path, count: int, seed: int = 20161109) -> None:
    """Write ``count`` raw pages derived from the seed: distinct headline, day, section, source."""
    rng = random.Random(seed)
    text = SEED.read_text(encoding="utf-8")
    words = [w.strip('.,"') for w in text.split() if w.isalpha() and len(w) > 3]
    for n in range(count):
        day = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(6 * 365))
        title = " ".join(rng.sample(words, 6)).capitalize() + f" ({n})"
        page = (
            text.replace(
                " date 2016-11-09 WORLD", f" date {day.isoformat()} {rng.choice(SECTIONS)}"
            )
            .replace("November 9, 2016", day.strftime("%B %-d, %Y"))
            .replace(SEED_TITLE, title)
            .replace("SOURCE:TRTWorld and agencies", f"SOURCE:{rng.choice(SOURCES)}")
        )
        shard = folder / f"{n // 500:02d}"
        shard.mkdir(exist_ok=True)
        (shard / f"page_{n:05d}.txt").write_text(page, encoding="utf-8")


def make_html(folder: Path, jsonl: Path, count: int) -> int:
    """Write up to ``count`` stories of ``jsonl`` as pages, and as ``crawl.warc.gz``; how many."""
    import gzip

    docs = []
    with gzip.open(jsonl, "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if doc.get("title") and doc.get("body") and doc.get("date"):
                docs.append(doc)
                if len(docs) == count:
                    break
    (folder / "pages").mkdir()
    records = []
    for doc in docs:
        page = reuters_page(doc)
        (folder / "pages" / f"{doc['id']}.html").write_text(page, encoding="utf-8")
        url = f"https://www.reuters.com/article/{doc['id']}"
        when = "2016-11-10T12:00:00Z"
        records.append(("request", url, b"", "", when))
        records.append(("response", url, page.encode(), "text/html; charset=utf-8", when))
    write_warc(folder / "crawl.warc.gz", records)
    return len(docs)


def time_ingest(path: Path, runs: int) -> tuple[int, list[float]]:
    """Records read and the records/s of each run (every run must read the same records)."""
    rates, counts = [], set()
    for _ in range(runs):
        started = time.perf_counter()
        count = sum(1 for item in iter_records(path) if isinstance(item, Record))
        rates.append(count / (time.perf_counter() - started))
        counts.add(count)
    if len(counts) != 1:
        raise SystemExit(f"runs disagree on the record count: {sorted(counts)}")
    return counts.pop(), rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--html", type=int, default=300, help="HTML pages (and WARC records)")
    parser.add_argument("--jsonl", type=Path, default=REUTERS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    results = []
    if args.jsonl.exists():
        count, rates = time_ingest(args.jsonl, args.runs)
        results.append(("jsonl.gz (Reuters-21578, real)", str(args.jsonl), count, rates))
    else:
        print(f"skipped JSONL: {args.jsonl} not present", file=sys.stderr)

    folder = Path(tempfile.mkdtemp(prefix="newsindex-raw-pages-", dir="/tmp"))
    try:
        make_pages(folder, args.pages)
        count, rates = time_ingest(folder, args.runs)
        ids = {r.article.id for r in iter_records(folder)}
        if count != args.pages or len(ids) != args.pages:
            raise SystemExit(f"expected {args.pages} distinct pages, read {count} ({len(ids)} ids)")
        results.append(("raw pages (from the seed, SYNTHETIC)", str(folder), count, rates))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    source = args.jsonl if args.jsonl.exists() else REPO / "newsindex/data/reuters-sample.jsonl.gz"
    folder = Path(tempfile.mkdtemp(prefix="newsindex-html-pages-", dir="/tmp"))
    try:
        made = make_html(folder, source, args.html)
        for name, path in (
            ("HTML pages (Reuters text, real)", folder / "pages"),
            ("WARC.gz responses (same pages)", folder / "crawl.warc.gz"),
        ):
            count, rates = time_ingest(path, args.runs)
            if count != made:
                raise SystemExit(f"{name}: expected {made} articles, read {count}")
            results.append((name, str(path), count, rates))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    machine = f"Python {platform.python_version()}, {platform.machine()}, {platform.system()}"
    if args.json:
        rows = [
            {
                "input": name,
                "path": path,
                "records": count,
                "runs_per_s": rates,
                "median_per_s": statistics.median(rates),
            }
            for name, path, count, rates in results
        ]
        print(json.dumps({"machine": machine, "runs": args.runs, "results": rows}, indent=2))
        return 0
    print(f"ingest throughput, median of {args.runs} runs ({machine})")
    for name, _, count, rates in results:
        spread = ", ".join(f"{r:,.0f}" for r in rates)
        print(
            f"  {name:<38} {count:>7,} records  {statistics.median(rates):>9,.0f} records/s"
            f"  (runs: {spread})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
