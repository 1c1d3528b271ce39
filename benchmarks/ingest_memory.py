"""Peak memory of ``newsindex index`` on a small .jsonl.gz that inflates to a lot of text.

Usage (from the repository root)::

    python benchmarks/ingest_memory.py [--mb 500] [--record-mb 4] [--kind news|letters]
        [--keep DIR] [-- INDEX ARGS]

Writes a highly compressible JSONL.gz (SYNTHETIC: one Reuters-21578 story's words repeated
into ``--record-mb`` MB bodies, ``--mb`` MB of text in all, ~3 MB compressed; or with
``--kind letters`` the letters a-z as words, the worst case for a build), indexes it with
``python -m newsindex index`` in a child process and prints the child's peak RSS
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``), the text size and the time taken.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "newsindex" / "data" / "reuters-sample.jsonl.gz"


def make_input(path: Path, total_mb: float, record_mb: float, kind: str = "news") -> int:
    """Write the input; return its characters of text."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        story = next(json.loads(line) for line in fh if len(line) > 3000)
    paragraph = " ".join(story["body"].split()) + "\n"
    if kind == "letters":  # the worst case for a build: a (dropped) token every 2 characters
        paragraph = " ".join("abcdefghijklmnopqrstuvwxyz") + "\n"
    per_record = max(1, int(record_mb * 1e6) // len(paragraph))
    body = paragraph * per_record
    records = max(1, round(total_mb * 1e6 / len(body)))
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as out:
        for n in range(records):
            out.write(json.dumps({"id": f"big-{n}", "title": story["title"], "body": body}))
            out.write("\n")
    return records * (len(body) + len(story["title"]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=500.0, help="MB of text in all")
    p.add_argument("--record-mb", type=float, default=4.0, help="MB of body per record")
    p.add_argument(
        "--kind", choices=("news", "letters"), default="news", help="news words or one letters"
    )
    p.add_argument("--keep", type=Path, help="folder to keep the input and index in")
    p.add_argument("extra", nargs="*", help="more arguments for `newsindex index`")
    args = p.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsindex-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "inflates.jsonl.gz"
    chars = make_input(data, args.mb, args.record_mb, args.kind)
    index = work / "idx"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "newsindex", "index", str(index), str(data), *args.extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "text_mb": round(chars / 1e6, 1),
                "gz_mb": round(data.stat().st_size / 1e6, 2),
                "peak_rss_mb": round(peak_mb),
                "seconds": round(took, 1),
                "exit": done.returncode,
                "stdout": done.stdout.strip(),
                "stderr": done.stderr.strip()[-500:],
            }
        )
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
