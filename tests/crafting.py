"""Indexes crafted for corruption tests: valid checksums over content that is not sound."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from newsindex.index import docids
from newsindex.index import manifest as mf
from newsindex.index.arrays import ArrayFile, write_arrays
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


def recode_docs(arrays: dict[str, np.ndarray], change: Callable[[np.ndarray], None]) -> None:
    """A gap-coded segment's doc numbers decoded, ``change``d in place and encoded again: a
    valid encoding of whatever doc numbers ``change`` leaves (increasing within each term:
    gaps hold no other order)."""
    offs = arrays["post.offs"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.arr"
        names = ("post.offs", "blk.offs", *docids.GAP_NAMES)
        write_arrays(path, {name: arrays[name] for name in names})
        docs = docids.DocIds(ArrayFile(path), 1 << 30).whole().astype(np.int64)
    change(docs)
    arrays.update(docids.encode_gaps(offs, docs))


@contextmanager
def doc_coding(coding: str) -> Iterator[None]:
    """Segments written inside (built or merged) hold their doc numbers as ``coding`` says,
    whatever their size: "gaps", or "offsets" (format 3's, which small segments keep)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(docids, "GAPS_FROM", 0 if coding == "gaps" else 1 << 62)
        yield
