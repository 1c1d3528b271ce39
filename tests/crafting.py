"""Indexes crafted for corruption tests: valid checksums over content that is not sound."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from newsindex.index import manifest as mf
from newsindex.index.arrays import write_arrays
from newsindex.index.segment import Segment


def craft(
    src: Path,
    dst: Path,
    change: Callable[[dict[str, np.ndarray], Segment], None],
    largest: bool = False,
) -> str:
    """A copy at ``dst`` of the index at ``src`` whose first (or ``largest``) segment's
    arrays are ``change``d and written afresh, every checksum valid and the manifest a new
    generation; returns that segment's name."""
    shutil.copytree(src, dst)
    manifest = mf.read_latest(dst)
    segments = list(manifest.segments)
    k = max(range(len(segments)), key=lambda i: segments[i].docs) if largest else 0
    entry = segments[k]
    path = dst / f"{entry.name}.arr"
    seg = Segment(dst, entry)
    arrays = {name: np.array(seg._arrays[name]) for name in seg._arrays.names()}
    change(arrays, seg)
    seg.close()
    path.unlink()
    info = write_arrays(path, arrays)
    files = {**entry.files, path.name: mf.FileInfo(info["size"], info["crc32"])}
    segments[k] = dataclasses.replace(entry, files=files)
    generation = manifest.generation + 1
    mf.write(dst, dataclasses.replace(manifest, generation=generation, segments=tuple(segments)))
    mf.record_generation(dst, generation)
    return entry.name
