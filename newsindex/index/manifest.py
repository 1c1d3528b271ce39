"""Manifests: which segments (and deletions) make up a commit, swapped in atomically.

A commit writes ``manifest-<generation>.json`` to a temporary name, fsyncs it, renames it into
place and fsyncs the folder. Readers open the highest generation that parses, so a crash at
any point leaves the previous commit readable.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..errors import IndexCorruptError, IndexFormatError, IndexNotFoundError

FORMAT_VERSION = 1
_NAME = re.compile(r"^manifest-(\d{8})\.json$")


def manifest_name(generation: int) -> str:
    return f"manifest-{generation:08d}.json"


def generations(folder: Path) -> list[int]:
    """Committed generations present in ``folder``, oldest first."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        raise IndexNotFoundError(f"{folder}: no such index folder") from None
    return sorted(int(m.group(1)) for m in map(_NAME.match, names) if m)


def read_latest(folder: Path) -> dict:
    """The newest committed manifest of the index in ``folder``."""
    gens = generations(folder)
    if not gens:
        raise IndexNotFoundError(f"{folder}: not a newsindex index (no manifest found)")
    return read(folder, gens[-1])


def read(folder: Path, generation: int) -> dict:
    path = folder / manifest_name(generation)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path}: manifest is missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path}: manifest is not valid JSON ({exc})") from None
    version = data.get("format") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise IndexFormatError(
                f"{path}: index format {version} is newer than this newsindex supports "
                f"({FORMAT_VERSION}); upgrade newsindex"
            )
        raise IndexCorruptError(f"{path}: unknown index format {version!r}")
    return data


def write(folder: Path, manifest: dict) -> Path:
    """Atomically publish ``manifest`` (its ``generation`` names the file)."""
    final = folder / manifest_name(manifest["generation"])
    tmp = folder / (final.name + ".tmp")
    data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    fsync_dir(folder)
    return final


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
