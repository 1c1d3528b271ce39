"""Typed manifest metadata: the same JSON in and out, and a clear error for any malformed key."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

import newsindex
from newsindex.errors import IndexCorruptError
from newsindex.index import manifest as mf
from newsindex.index.manifest import Manifest

COMPAT_INDEX = Path(__file__).parent / "data" / "compat" / "format-1" / "index"

#: Keys a manifest may leave out (their defaults are what the writer means by absence).
OPTIONAL = {"committed_at", "min_day", "max_day", "stems", "deleted", "del_file", "crc32"}
#: Values that may be null.
NULLABLE = {"committed_at", "min_day", "max_day", "del_file", "crc32", "stems"}
#: Objects whose content is not manifest structure (settings, analyzer specs: checked elsewhere)
OPAQUE = {"settings", "analyzer"}


@pytest.fixture(scope="module")
def index_folder(tmp_path_factory, sample_docs) -> Path:
    folder = tmp_path_factory.mktemp("manifest") / "idx"
    ix = newsindex.Index.create(folder)
    for start in (0, 30, 60):
        with ix.writer() as w:
            for d in sample_docs[start : start + 30]:
                w.add(d)
    with ix.writer() as w:
        w.delete(sample_docs[1]["id"])
    ix.close()
    return folder


def _manifests(folder: Path) -> list[tuple[Path, dict]]:
    """Each manifest's JSON without its checksum (which only the file encoding carries)."""
    out = []
    for p in sorted(folder.glob("manifest-*.json")):
        data = json.loads(p.read_text(encoding="utf-8"))
        data.pop("checksum", None)
        out.append((p, data))
    return out


def _key_paths(node, path=()):
    """Every (path, key) of the manifest's own structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key
            if key not in OPAQUE:
                yield from _key_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _key_paths(value, (*path, i))


def _at(data, path):
    for step in path:
        data = data[step]
    return data


def _add_unknown_keys(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["future_top"] = {"a": [1, 2]}
    for seg in data["segments"]:
        seg["future_segment"] = "x"
        for info in seg["files"].values():
            info["future_file"] = 7
        for info in seg["stems"].values():
            info["future_stem"] = None
    return data


@pytest.mark.parametrize("source", ["fresh", "compat"])
def test_round_trip_is_exact_and_keeps_unknown_keys(source, index_folder):
    folder = index_folder if source == "fresh" else COMPAT_INDEX
    found = _manifests(folder)
    assert found and any(d["segments"] for _, d in found)
    for path, data in found:
        for d in (data, _add_unknown_keys(data)):
            m = Manifest.from_json(d, str(path))
            assert m.to_json() == d
            assert Manifest.from_json(m.to_json(), str(path)) == m
        assert mf.read(folder, m.generation) == Manifest.from_json(data, str(path))


def test_typed_entries_carry_the_manifest_values(index_folder):
    path, data = _manifests(index_folder)[-1]
    m = mf.read(index_folder, data["generation"])
    assert m.doc_count == data["doc_count"] == newsindex.Index.open(index_folder).doc_count
    for entry, raw in zip(m.segments, data["segments"]):
        assert (entry.name, entry.docs, entry.deleted) == (
            raw["name"],
            raw["docs"],
            raw.get("deleted", 0),
        )
        assert {f: i.size for f, i in entry.files.items()} == {
            f: i["size"] for f, i in raw["files"].items()
        }
    assert any(e.del_file for e in m.segments)


def _write_raw(folder: Path, data: dict, generation: int) -> None:
    """Write ``data`` as manifest ``generation``, encoded as a writer would (any checksum
    recomputed), so only the structure is wrong."""
    (folder / mf.manifest_name(generation)).write_bytes(mf.encode(data))


def test_every_missing_or_mistyped_key_is_index_corrupt_naming_file_and_key(index_folder, tmp_path):
    _, data = _manifests(index_folder)[-1]
    gen = data["generation"]
    name = mf.manifest_name(gen)
    cases = 0
    for path, key in _key_paths(data):
        parent_copy = copy.deepcopy(data)
        if isinstance(_at(parent_copy, path), list):
            continue
        if path and path[-1] in ("files", "stems"):
            continue  # their keys are names (of files, of fields), checked one level down
        removed = copy.deepcopy(data)
        del _at(removed, path)[key]
        mutations = [("missing", removed)]
        for wrong in ("x", [], 1.5, True):
            bad = copy.deepcopy(data)
            _at(bad, path)[key] = wrong
            mutations.append((f"= {wrong!r}", bad))
        raised = 0
        for what, mutated in mutations:
            folder = tmp_path / f"case{cases}"
            cases += 1
            folder.mkdir()
            _write_raw(folder, mutated, gen)
            try:
                mf.read(folder, gen)
            except IndexCorruptError as exc:
                raised += 1
                assert name in str(exc), (path, key, what, str(exc))
                assert repr(key) in str(exc), (path, key, what, str(exc))
            except Exception as exc:  # noqa: BLE001 - the point: nothing but IndexCorruptError
                pytest.fail(f"{path}/{key} {what}: {type(exc).__name__}: {exc}")
            else:
                assert what != "missing" or key in OPTIONAL, (path, key)
            shutil.rmtree(folder)
        # every key has a type: at least three of the four wrong values are refused
        assert raised >= 3, (path, key)
    assert cases > 100
