"""A sharded index on disk: ``cluster-<generation>.json`` and N ordinary shard indexes.

::

    IDX/
      cluster-00000003.json     the cluster manifest: each shard's folder and generation
      shard-000/ ... shard-NNN/ ordinary indexes (each opens alone with Index.open)

The cluster manifest is the commit of a sharded index. A writer commits every shard first
(a new shard generation that no cluster manifest names yet, so no reader looks at it), then
writes the next cluster manifest naming each shard's new generation: its atomic rename is the
commit. Readers read the newest cluster manifest and open each shard AT the generation it
names, never at the shard's own newest, so they see all of a commit or none of it. A crash
before the rename leaves shard generations nobody names; the next writer removes them before
it starts (:func:`roll_back_shard`). A shard keeps its last two generations (the writer's
garbage collection), exactly those the last two cluster manifests name.

Articles are routed by a stable hash of their id (CRC-32 of its UTF-8 bytes, the same in every
process and Python version, unlike ``hash()``), so a replacement or a delete reaches the shard
holding the old version.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, IndexFormatError, IndexNotFoundError
from ..index import manifest as mf
from ..index.files import create_new
from ..index.lock import WriteLock
from ..index.writer import _collect_garbage

#: Version of the cluster manifest's layout.
CLUSTER_FORMAT = 1
#: How ids are routed to shards (recorded, so a later scheme cannot misread an index).
ROUTING = "crc32-utf8"
#: Cluster manifests kept: as many as each shard keeps generations.
KEEP_GENERATIONS = 2
#: Folders of a distributed build's partitions, inside the index until its commit.
STAGING_PREFIX = ".staging-"
_NAME = re.compile(r"^cluster-(\d{8})\.json$")
_TEMP = re.compile(r"^cluster-\d{8}\.[0-9a-f]{16}\.json\.tmp$")


def cluster_name(generation: int) -> str:
    return f"cluster-{generation:08d}.json"


def shard_name(number: int) -> str:
    return f"shard-{number:03d}"


def shard_of(article_id: str, shards: int) -> int:
    """The shard that holds ``article_id`` among ``shards``."""
    return zlib.crc32(article_id.encode("utf-8", "surrogatepass")) % shards


@dataclass(frozen=True)
class ShardRef:
    """One shard of a commit: its folder (relative to the index) and generation."""

    name: str
    generation: int


@dataclass(frozen=True)
class ClusterManifest:
    generation: int
    shards: tuple[ShardRef, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CLUSTER_FORMAT,
            "generation": self.generation,
            "routing": ROUTING,
            "shards": [{"name": s.name, "generation": s.generation} for s in self.shards],
        }


def generations(folder: Path) -> list[int]:
    """Committed cluster generations in ``folder``, oldest first."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        raise IndexNotFoundError(f"{folder}: no such index folder") from None
    except NotADirectoryError:
        raise IndexNotFoundError(f"{folder}: not a folder") from None
    return sorted(int(m.group(1)) for m in map(_NAME.match, names) if m)


def is_sharded(folder: Path) -> bool:
    """Whether ``folder`` holds a sharded index (a cluster manifest)."""
    try:
        return any(_NAME.match(n) for n in os.listdir(folder))
    except OSError:
        return False


def read_latest(folder: Path) -> ClusterManifest:
    gens = generations(folder)
    if not gens:
        raise IndexNotFoundError(f"{folder}: not a sharded newsindex index (no cluster manifest)")
    return read(folder, gens[-1])


def read(folder: Path, generation: int) -> ClusterManifest:
    path = folder / cluster_name(generation)
    data = mf.load_json(path, "cluster manifest")
    if not isinstance(data, dict) or "checksum" not in data:
        raise IndexCorruptError(f"{path}: key 'checksum' is missing")
    mf.pop_checksum(path, data, "cluster manifest")
    version = data.get("format")
    if type(version) is not int or version != CLUSTER_FORMAT:
        if type(version) is int and version > CLUSTER_FORMAT:
            raise IndexFormatError(
                f"{path}: cluster format {version} is newer than this newsindex supports "
                f"({CLUSTER_FORMAT}); upgrade newsindex"
            )
        raise IndexCorruptError(f"{path}: key 'format': unknown cluster format {version!r}")
    if data.get("routing") != ROUTING:
        raise IndexCorruptError(f"{path}: key 'routing': unknown routing {data.get('routing')!r}")
    shards = data.get("shards")
    if not isinstance(shards, list) or not shards:
        raise IndexCorruptError(f"{path}: key 'shards': expected a non-empty list")
    refs = []
    for i, s in enumerate(shards):
        name, gen = (s.get("name"), s.get("generation")) if isinstance(s, dict) else (None, None)
        if name != shard_name(i) or type(gen) is not int or gen < 0:
            raise IndexCorruptError(f"{path}: key 'shards[{i}]': expected {shard_name(i)!r}")
        refs.append(ShardRef(name, gen))
    if data.get("generation") != generation:
        raise IndexCorruptError(
            f"{path}: key 'generation' says {data.get('generation')!r}, the file name {generation}"
        )
    return ClusterManifest(generation, tuple(refs))


def write(folder: Path, manifest: ClusterManifest) -> None:
    """Atomically publish ``manifest``: the commit point of a sharded index."""
    final = folder / cluster_name(manifest.generation)
    tmp = folder / f"{final.stem}.{secrets.token_hex(8)}.json.tmp"
    try:
        with open(create_new(tmp), "wb") as fh:
            fh.write(mf.encode(manifest.to_json()))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    mf.fsync_dir(folder)


def collect_garbage(folder: Path) -> None:
    """Remove cluster manifests older than the last few, and unfinished writes of them."""
    gens = generations(folder)
    for g in gens[:-KEEP_GENERATIONS]:
        _unlink(folder / cluster_name(g))
    for name in os.listdir(folder):
        if _TEMP.match(name):
            _unlink(folder / name)


def roll_back_shard(folder: Path, generation: int) -> None:
    """Remove the shard's generations after ``generation`` (commits of a sharded write that
    crashed before its cluster manifest named them) and the files only they used."""
    lock = WriteLock(folder)
    try:
        newer = [g for g in mf.generations(folder) if g > generation]
        if not newer and mf.recorded_generation(folder) in (None, generation):
            return
        for g in newer:
            _unlink(folder / mf.manifest_name(g))
        mf.record_generation(folder, generation)
        _collect_garbage(folder, keep_generations=KEEP_GENERATIONS)
    finally:
        lock.release()


def new_staging(folder: Path) -> Path:
    return folder / f"{STAGING_PREFIX}{secrets.token_hex(6)}"


def remove_stale_staging(folder: Path) -> None:
    """Staging folders of builds that died before removing them (the lock holder calls this)."""
    for name in os.listdir(folder):
        if name.startswith(STAGING_PREFIX):
            shutil.rmtree(folder / name, ignore_errors=True)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
