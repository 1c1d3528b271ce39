"""Where a search process's memory goes: one kind of the harness's queries in this process,
then its resident memory split by mapping and by index array (Linux only: /proc).

Usage (from the repository root)::

    python -m benchmarks.memory_split WORKDIR QUERIES KIND [--warmup 20]

``WORKDIR`` is the newsindex engine's folder of a harness run kept with ``--keep-index``
(``OUT/index/<corpus>/newsindex``) and ``QUERIES`` its query file (``OUT/queries/*.jsonl``);
``KIND`` one of the harness's kinds. The process answers the kind's queries as a cold pass
of the harness does (``--warmup`` of them first, untimed, then the rest once, timed in CPU
seconds), then prints its peak and current RSS (``VmHWM``, ``RssAnon``, ``RssFile``), the
bytes the term-array cache holds, the resident bytes of each mapping (the shared libraries
together, then each index file) and, per array of the index, how much of it is resident
(``/proc/self/pagemap``'s present bit over the array's mapped pages). ``--budget-mib``
sets the term-array cache's budget for the run (the trade of memory for speed).
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from pathlib import Path

import numpy as np

PAGE = 4096
_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def status() -> dict[str, int]:
    """``VmHWM``, ``VmRSS``, ``RssAnon`` and ``RssFile`` of this process, in MiB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) // 1024
    return out


def by_mapping() -> collections.Counter[str]:
    """Resident KiB per mapping: shared libraries together as ``[libraries]``, anonymous
    memory as ``[anon]``/``[heap]``, each other file by its name."""
    out: collections.Counter[str] = collections.Counter()
    name = "[anon]"
    with open("/proc/self/smaps") as fh:
        for line in fh:
            if _MAPPING.match(line):
                parts = line.split()
                name = parts[5] if len(parts) > 5 else "[anon]"
                if name.endswith(".so") or ".so." in name:
                    name = "[libraries]"
                elif not name.startswith("["):
                    name = Path(name).name
            elif line.startswith("Rss:"):
                out[name] += int(line.split()[1])
    return out


def resident_bytes(pagemap, address: int, nbytes: int) -> int:
    """Bytes of the pages under ``[address, address + nbytes)`` present in memory."""
    if nbytes <= 0:
        return 0
    first, last = address // PAGE, (address + nbytes - 1) // PAGE
    pagemap.seek(first * 8)
    entries = np.frombuffer(pagemap.read((last - first + 1) * 8), dtype=np.uint64)
    return int(np.count_nonzero(entries >> np.uint64(63))) * PAGE


def by_array(segments) -> dict[str, tuple[int, int]]:
    """Per array name over every segment: (resident bytes, bytes)."""
    resident: collections.Counter[str] = collections.Counter()
    size: collections.Counter[str] = collections.Counter()
    with open("/proc/self/pagemap", "rb") as pagemap:
        for seg in segments:
            arrays = seg._arrays
            for name in arrays.names():
                view = arrays.unverified(name)
                resident[name] += resident_bytes(pagemap, view.ctypes.data, view.nbytes)
                size[name] += view.nbytes
    return {name: (resident[name], size[name]) for name in size}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir")
    ap.add_argument("queries")
    ap.add_argument("kind")
    ap.add_argument("--warmup", type=int, default=20)
    a = ap.parse_args(argv)
    if not Path("/proc/self/pagemap").exists():
        print("memory_split needs Linux's /proc", file=sys.stderr)
        return 2
    from . import querygen
    from .engines.newsindex_engine import NewsindexEngine
    from .run_engine import _query_args

    print("imported", status())
    engine = NewsindexEngine()
    engine.open(Path(a.workdir))
    print("opened", status())
    kinds = querygen.by_kind(querygen.load(a.queries))
    if a.kind not in kinds:
        print(f"no {a.kind!r} queries in {a.queries}", file=sys.stderr)
        return 2
    search = {
        "terms": engine.search,
        "long": engine.search,
        "filtered": engine.search_filtered,
        "filtered_hit": engine.search_filtered,
        "phrase": engine.search_phrase,
    }[a.kind]
    queries = _query_args(a.kind, kinds[a.kind], 10)
    for _, args in queries[: a.warmup]:
        search(*args)
    timed = queries[a.warmup :]
    cpu = time.process_time()
    for _, args in timed:
        search(*args)
    cpu = time.process_time() - cpu
    searcher = engine.ix._searcher
    print(
        f"{a.kind}: {len(timed)} queries after {a.warmup}, "
        f"{len(timed) / cpu if cpu > 0 else 0:.0f} per CPU s; {status()}; "
        f"term-array cache {searcher._term_arrays.nbytes / 2**20:.3f} MiB"
    )
    print("resident MiB by mapping:")
    for name, kib in by_mapping().most_common(16):
        if kib >= 1024:
            print(f"  {kib / 1024:8.1f}  {name}")
    print("resident / size MiB by index array (all segments; whole pages):")
    arrays = sorted(by_array(searcher.segments).items(), key=lambda kv: (-kv[1][0], kv[0]))
    for name, (resident, size) in arrays:
        print(f"  {resident / 2**20:10.3f} / {size / 2**20:10.3f}  {name}")
    print("numba loaded" if "numba" in sys.modules else "numba not loaded")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
