"""Manifests: which segments (and deletions) make up a commit, swapped in atomically.

A commit writes ``manifest-<generation>.json`` to a temporary file (an unpredictable name,
created with ``O_EXCL``), fsyncs it, renames it into place and fsyncs the folder: the rename
is the commit, so a crash at any point leaves either the previous or the new commit complete.

Readers open the newest generation and nothing else: a manifest that fails its checksum (a
CRC-32 of its canonical JSON, stored in it) or its structure is an IndexCorruptError, never a
silent fall-back to an older commit. After each commit the writer also records the generation
in ``latest-generation``; a reader that finds that number above the newest manifest reports
the missing manifest instead of rolling the index back. (Removing both the newest manifest and
that file is not detected; removing ``latest-generation`` accepts the rollback.)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import IndexCorruptError, IndexFormatError, IndexNotFoundError
from ..schema import TEXT_FIELDS
from .files import create_new

#: 2: the manifest holds its own checksum. Format 1 (no checksum) is still read.
#: 3: new segments hold delta-coded doc numbers (see docids.py), which older readers lack.
#: 4: new segments hold them as bit-packed gaps (docids.py again).
FORMAT_VERSION = 4
_READABLE = (1, 2, 3, 4)
_CHECKSUM = "checksum"
#: The generation of the last commit, kept beside the manifests to detect a deleted newest one.
RECORD_NAME = "latest-generation"
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


def read_latest(folder: Path) -> Manifest:
    """The newest committed manifest of the index in ``folder``."""
    # The record first, then the listing: a commit in between only makes the listing newer.
    recorded = recorded_generation(folder)
    gens = generations(folder)
    if not gens:
        raise IndexNotFoundError(f"{folder}: not a newsindex index (no manifest found)")
    if recorded is not None and recorded > gens[-1]:
        raise IndexCorruptError(
            f"{folder / manifest_name(recorded)}: manifest is missing: {RECORD_NAME} records "
            f"commit {recorded}, the newest manifest is {gens[-1]} (remove "
            f"{folder / RECORD_NAME} to accept the index as of generation {gens[-1]})"
        )
    return read(folder, gens[-1])


def recorded_generation(folder: Path) -> int | None:
    """The generation the last commit recorded (None: none recorded, or unreadable, which
    can be a crash while recording: the manifests alone are authoritative then)."""
    try:
        with open(folder / RECORD_NAME, "rb") as fh:
            text = fh.read(32)
    except OSError:
        return None
    return int(text) if text.strip().isdigit() else None


def record_generation(folder: Path, generation: int) -> None:
    """Note ``generation`` as the last commit (after its manifest is durable). Not fsynced:
    losing it loses the detection of a deleted manifest until the next commit, nothing else."""
    tmp = folder / f".{RECORD_NAME}.{secrets.token_hex(8)}.tmp"
    try:
        with open(create_new(tmp), "wb") as fh:
            fh.write(b"%d\n" % generation)
        os.replace(tmp, folder / RECORD_NAME)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def load_json(path: Path, what: str) -> Any:
    """The JSON document at ``path``; missing or unparsable, an IndexCorruptError that names
    ``what`` (a manifest of one index, or the cluster manifest of a sharded one)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path}: {what} is missing") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise IndexCorruptError(f"{path}: {what} is not valid JSON ({exc})") from None


def pop_checksum(path: Path, data: dict, what: str) -> None:
    """Take the checksum out of ``data`` (which holds one) and hold it to the rest."""
    stored = data.pop(_CHECKSUM)
    if type(stored) is not int or stored != _checksum(data):
        raise IndexCorruptError(
            f"{path}: key {_CHECKSUM!r} does not match the content (the {what} changed "
            "after it was written)"
        )


def read(folder: Path, generation: int) -> Manifest:
    path = folder / manifest_name(generation)
    data = load_json(path, "manifest")
    if isinstance(data, dict) and _CHECKSUM in data:
        pop_checksum(path, data, "manifest")
    elif isinstance(data, dict) and isinstance(data.get("format"), int) and data["format"] >= 2:
        raise IndexCorruptError(f"{path}: key {_CHECKSUM!r} is missing")
    version = data.get("format") if isinstance(data, dict) else None
    if version not in _READABLE or type(version) is not int:
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise IndexFormatError(
                f"{path}: index format {version} is newer than this newsindex supports "
                f"({FORMAT_VERSION}); upgrade newsindex"
            )
        raise IndexCorruptError(f"{path}: key 'format': unknown index format {version!r}")
    manifest = Manifest.from_json(data, str(path))
    if manifest.generation != generation:
        raise IndexCorruptError(
            f"{path}: key 'generation' says {manifest.generation}, the file name {generation}"
        )
    return manifest


def write(folder: Path, manifest: Manifest) -> Path:
    """Atomically publish ``manifest`` (its ``generation`` names the file)."""
    final = folder / manifest_name(manifest.generation)
    # An unpredictable name created with O_EXCL: a link planted at a guessable temp name would
    # otherwise have its target overwritten.
    tmp = folder / f"{final.stem}.{secrets.token_hex(8)}.json.tmp"
    data = encode(manifest.to_json())
    try:
        with open(create_new(tmp), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(folder)
    return final


#: Temporary files of an unfinished manifest write or generation record (a writer removes
#: them, holding the lock, so none of them belongs to a commit in progress).
TEMP_NAME = re.compile(
    r"^(manifest-\d{8}\.[0-9a-f]{16}\.json|\." + RECORD_NAME + r"\.[0-9a-f]{16})\.tmp$"
)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# -- typed metadata ---------------------------------------------------------------------------
# Unknown keys are kept, not rejected: each entry holds them in ``extra`` and writes them back
# unchanged, so ``from_json(d).to_json() == d`` for any well-formed ``d``. A change a reader must
# understand bumps FORMAT_VERSION instead (older readers then refuse the index by its number).

_MISSING: Any = object()


def _get(
    data: Mapping[str, Any], key: str, kind: type | tuple, where: str, default: Any = _MISSING
) -> Any:
    """``data[key]``, checked to be a ``kind``; IndexCorruptError naming ``where`` and the key."""
    if key not in data:
        if default is not _MISSING:
            return default
        raise IndexCorruptError(f"{where}: key {key!r} is missing")
    value = data[key]
    # bool is an int in Python, never a valid count or size here.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise IndexCorruptError(
            f"{where}: key {key!r} has a {type(value).__name__}, expected {_kind_name(kind)}"
        )
    return value


def _kinds(kind: type | tuple) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple) -> str:
    return " or ".join("null" if k is type(None) else k.__name__ for k in _kinds(kind))


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise IndexCorruptError(f"{where}: expected an object, got {type(data).__name__}")
    return data


def _extra(data: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    return MappingProxyType({k: v for k, v in data.items() if k not in known})


@dataclass(frozen=True)
class FileInfo:
    """A segment file's size and CRC-32, as written."""

    size: int
    crc32: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=True)

    _KEYS = frozenset({"size", "crc32"})

    @classmethod
    def from_json(cls, data: Any, where: str) -> FileInfo:
        data = _mapping(data, where)
        return cls(
            size=_get(data, "size", int, where),
            crc32=_get(data, "crc32", int, where, None),
            extra=_extra(data, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"size": self.size}
        if self.crc32 is not None:
            out["crc32"] = self.crc32
        return {**out, **self.extra}


@dataclass(frozen=True)
class StemTableInfo:
    """Which stem table of the segment's array file holds a field's stems, and the analyzer
    spec (as a JSON object) that made them."""

    table: str
    analyzer: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = frozenset({"table", "analyzer"})

    @classmethod
    def from_json(cls, data: Any, where: str) -> StemTableInfo:
        data = _mapping(data, where)
        return cls(
            table=_get(data, "table", str, where),
            analyzer=_get(data, "analyzer", dict, where),
            extra=_extra(data, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "analyzer": self.analyzer, **self.extra}


@dataclass(frozen=True)
class SegmentEntry:
    """One segment as a commit sees it: its counts, files and deletions."""

    name: str
    docs: int
    terms: int
    postings: int
    field_lengths: Mapping[str, int]
    min_day: int | None
    max_day: int | None
    files: Mapping[str, FileInfo]
    stems: Mapping[str, StemTableInfo] = field(default_factory=dict)
    deleted: int = 0
    del_file: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = frozenset(
        {"name", "docs", "terms", "postings", "field_lengths", "min_day", "max_day", "files"}
        | {"stems", "deleted", "del_file"}
    )

    @property
    def live(self) -> int:
        return self.docs - self.deleted

    @classmethod
    def from_json(cls, data: Any, where: str) -> SegmentEntry:
        data = _mapping(data, where)
        name = _get(data, "name", str, where)
        here = f"{where}, segment {name}"
        lengths = _get(data, "field_lengths", dict, here)
        for key in TEXT_FIELDS:
            _get(lengths, key, int, f"{here}, field_lengths")
        files = _get(data, "files", dict, here)
        stems = _get(data, "stems", (dict, type(None)), here, None) or {}
        del_file = _get(data, "del_file", (str, type(None)), here, None)
        # A deletion file and its count come together.
        deleted = _get(data, "deleted", int, here, 0 if del_file is None else _MISSING)
        if deleted and del_file is None:
            raise IndexCorruptError(f"{here}: key 'del_file' is missing ({deleted} deleted)")
        return cls(
            name=name,
            docs=_get(data, "docs", int, here),
            terms=_get(data, "terms", int, here),
            postings=_get(data, "postings", int, here),
            field_lengths=MappingProxyType(dict(lengths)),
            min_day=_get(data, "min_day", (int, type(None)), here, None),
            max_day=_get(data, "max_day", (int, type(None)), here, None),
            files=MappingProxyType(
                {f: FileInfo.from_json(v, f"{here}, file {f}") for f, v in files.items()}
            ),
            stems=MappingProxyType(
                {f: StemTableInfo.from_json(v, f"{here}, stems {f}") for f, v in stems.items()}
            ),
            deleted=deleted,
            del_file=del_file,
            extra=_extra(data, cls._KEYS),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "docs": self.docs,
            "terms": self.terms,
            "postings": self.postings,
            "field_lengths": dict(self.field_lengths),
            "min_day": self.min_day,
            "max_day": self.max_day,
            "files": {f: info.to_json() for f, info in self.files.items()},
            "stems": {f: info.to_json() for f, info in self.stems.items()},
        }
        if self.del_file is not None:
            out["deleted"] = self.deleted
            out["del_file"] = self.del_file
        elif self.deleted:
            out["deleted"] = self.deleted
        return {**out, **self.extra}


@dataclass(frozen=True)
class Manifest:
    """One commit: the live segments, the index settings and the next segment number."""

    generation: int
    next_segment: int
    settings: Mapping[str, Any]
    segments: tuple[SegmentEntry, ...]
    doc_count: int
    committed_at: str | None = None
    format: int = FORMAT_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = frozenset(
        {"format", "generation", "next_segment", "settings", "segments", "doc_count"}
        | {"committed_at", _CHECKSUM}
    )

    @classmethod
    def from_json(cls, data: Any, where: str) -> Manifest:
        data = _mapping(data, where)
        segments = _get(data, "segments", list, where)
        manifest = cls(
            format=_get(data, "format", int, where),
            generation=_get(data, "generation", int, where),
            next_segment=_get(data, "next_segment", int, where),
            settings=_get(data, "settings", dict, where),
            segments=tuple(SegmentEntry.from_json(s, where) for s in segments),
            doc_count=_get(data, "doc_count", int, where),
            committed_at=_get(data, "committed_at", (str, type(None)), where, None),
            extra=_extra(data, cls._KEYS),
        )
        live = sum(s.live for s in manifest.segments)
        if live != manifest.doc_count:
            raise IndexCorruptError(
                f"{where}: key 'doc_count' says {manifest.doc_count}, key 'segments' holds {live}"
            )
        return manifest

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": self.format,
            "generation": self.generation,
            "next_segment": self.next_segment,
            "settings": self.settings,
            "segments": [s.to_json() for s in self.segments],
            "doc_count": self.doc_count,
        }
        if self.committed_at is not None:
            out["committed_at"] = self.committed_at
        return {**out, **self.extra}


def encode(data: Mapping[str, Any]) -> bytes:
    """A manifest's JSON as written to its file, with its checksum."""
    body = {k: v for k, v in data.items() if k != _CHECKSUM}
    return json.dumps({**body, _CHECKSUM: _checksum(body)}, indent=1, sort_keys=True).encode()


def _checksum(body: Mapping[str, Any]) -> int:
    """CRC-32 of the canonical JSON of everything but the checksum: independent of layout."""
    return zlib.crc32(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
