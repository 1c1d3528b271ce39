"""``newsindex check``: every file against its manifest checksum, then each segment's structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NewsIndexError
from ..schema import TEXT_FIELDS
from . import manifest as mf
from .checksum import crc32
from .segment import Segment

_CHUNK = 1 << 20
#: Postings whose frequencies are summed at a time.
_STEP_POSTINGS = 1 << 22


def file_crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = crc32(chunk, crc)
    return crc


def check_index(folder: Path, attempts: int = 3) -> list[str]:
    """Problems found in the latest commit of the index in ``folder`` (empty: all good).

    A commit running meanwhile may remove the files of the generation being checked; then the
    newer generation is checked instead, so a live index is not reported corrupt.
    """
    for _ in range(attempts):
        before = mf.generations(folder) if folder.is_dir() else []
        problems = _check_latest(folder)
        if not problems or (folder.is_dir() and mf.generations(folder) == before):
            return problems
    return problems


def _check_latest(folder: Path) -> list[str]:
    try:
        manifest = mf.read_latest(folder)
    except NewsIndexError as exc:
        return [str(exc)]
    problems: list[str] = []
    for entry in manifest.segments:
        bad_file = False
        for fname, meta in entry.files.items():
            path = folder / fname
            if not path.exists():
                problems.append(f"{path}: file is missing")
                bad_file = True
                continue
            size = path.stat().st_size
            if size != meta.size:
                problems.append(f"{path}: {size} bytes, the manifest says {meta.size}")
                bad_file = True
            elif meta.crc32 is not None and file_crc32(path) != meta.crc32:
                problems.append(f"{path}: checksum mismatch (the file's content changed)")
                bad_file = True
        if bad_file:
            continue
        try:
            seg = Segment(folder, entry)
        except NewsIndexError as exc:
            problems.append(str(exc))
            continue
        try:
            problems.extend(_structure(seg, folder))
        finally:
            seg.close()
    return problems


def _structure(seg: Segment, folder: Path) -> list[str]:
    where = folder / f"{seg.name}.arr"
    out = []
    npost = seg.npostings
    offs = seg.post_offs
    if len(offs) and (offs[0] != 0 or offs[-1] != npost or np.any(np.diff(offs) < 0)):
        out.append(f"{where}: postings offsets are inconsistent")
        return out  # the doc numbers and frequencies are read by them
    out.extend(seg.docs_problems())
    # Frequencies a step at a time, and the positions counted, not decoded: a check's
    # memory must not grow with a segment's postings (hundreds of millions of them).
    total_tf, counted = 0, True
    for s in range(0, npost, _STEP_POSTINGS):
        e = min(s + _STEP_POSTINGS, npost)
        tfs = seg.tfs(s, e)
        if any(len(tf) != e - s for tf in tfs):
            out.append(f"{where}: term frequency arrays do not match the postings")
            counted = False
            break
        total_tf += sum(int(tf.sum(dtype=np.int64)) for tf in tfs)
    found = seg.positions_problems()
    out.extend(found)
    if not found and counted and total_tf != seg.npositions:
        out.append(f"{where}: {seg.npositions} positions for {total_tf} occurrences")
    if any(len(lengths) != seg.ndocs for lengths in seg.lengths) or len(TEXT_FIELDS) != len(
        seg.lengths
    ):
        out.append(f"{where}: field length columns do not match the documents")
    if seg.ndocs and np.any(np.diff(seg.dates.astype(np.int64)) < 0):
        out.append(f"{where}: documents are not in date order")
    try:
        count = sum(1 for _ in seg.store.iter_articles())
        if count != seg.ndocs:
            out.append(f"{folder / seg.name}.doc: {count} stored articles, expected {seg.ndocs}")
    except NewsIndexError as exc:
        out.append(str(exc))
    return out
