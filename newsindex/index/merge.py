"""Merging segments: a tiered policy, and the merge itself.

Each commit may add a segment; searching many small segments costs a fixed overhead per
segment, so the writer folds them. Segments are grouped into tiers by the order of magnitude
of their live documents; when a tier holds ``MERGE_FACTOR`` segments, they become one (which
may cascade to the next tier). A segment that is mostly deletions is rewritten alone. Each
merge touches at most ``MERGE_FACTOR`` segments of similar size, so its cost is bounded by
its tier.

The merge re-analyzes the stored articles with the index's analyzers (the writer's token
cache makes that mostly dictionary lookups) and builds the segment with the same builder as
fresh documents, so a merged segment is exactly what indexing its articles would give; as
corpus statistics count live documents only, scores are identical before and after a merge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..analysis import Analyzer
from ..analysis.vocab import Vocabulary
from ..errors import IndexCorruptError
from .builder import build_segment
from .check import file_crc32
from .manifest import SegmentEntry
from .segment import Segment

MERGE_FACTOR = 10
#: A segment with more than this share of deleted documents is rewritten to drop them.
MAX_DELETED_SHARE = 0.5


def plan_merges(entries: Sequence[SegmentEntry], factor: int = MERGE_FACTOR) -> list[list[int]]:
    """Groups of entry indexes to merge (each group becomes one segment)."""
    tiers: dict[int, list[int]] = {}
    groups: list[list[int]] = []
    for i, e in enumerate(entries):
        if e.docs and e.deleted / e.docs > MAX_DELETED_SHARE:
            groups.append([i])
            continue
        tiers.setdefault(int(math.log10(max(e.live, 1))), []).append(i)
    for members in tiers.values():
        members.sort(key=lambda i: entries[i].live)
        while len(members) >= factor:
            groups.append(members[:factor])
            members = members[factor:]
    return groups


def merge(
    folder: Path,
    name: str,
    entries: Sequence[SegmentEntry],
    analyzers: Mapping[str, Analyzer],
    vocab: Vocabulary,
    workers: int = 1,
) -> SegmentEntry:
    """Build segment ``name`` from the live articles of ``entries``; return its entry."""
    articles = []
    for entry in entries:
        seg = Segment(folder, entry)
        try:
            if not seg.store.verified:
                _verify_whole(folder / f"{entry.name}.doc", entry)
            articles.extend(seg.store.iter_articles(seg.live))
        finally:
            seg.close()
    return build_segment(folder, name, articles, analyzers, vocab, workers)


def _verify_whole(path: Path, entry: SegmentEntry) -> None:
    """A merge must never copy corrupted text into a segment with fresh checksums: stored
    fields written without block checksums are checked whole against the manifest first."""
    info = entry.files.get(path.name)
    if info is None or info.crc32 is None or file_crc32(path) != info.crc32:
        raise IndexCorruptError(f"{path}: checksum mismatch (refusing to merge it)")
