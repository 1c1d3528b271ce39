"""The write lock survives a removed lock file; no file the writer creates follows a link."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import newsindex
from newsindex.errors import LockError
from newsindex.index import manifest as mf
from newsindex.index import writer as writer_mod

HOLDER = textwrap.dedent(
    """
    import sys, newsindex
    ix = newsindex.Index.open(sys.argv[1])
    w = ix.writer()
    w.add({"id": "held", "title": "held by the first writer", "body": "first"})
    print("LOCKED", flush=True)
    sys.stdin.readline()  # hold the lock until told to commit
    w.commit()
    print("COMMITTED", ix.doc_count, flush=True)
    """
)
SECOND = textwrap.dedent(
    """
    import sys, newsindex
    from newsindex.errors import LockError
    ix = newsindex.Index.open(sys.argv[1])
    try:
        with ix.writer() as w:
            w.add({"id": "second", "title": "second writer", "body": "second"})
    except LockError as exc:
        print("REFUSED", exc)
    else:
        print("WROTE")
    """
)


def _python(code: str, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(newsindex.__file__).parents[1])}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


@pytest.mark.parametrize("damage", ["removed", "replaced"])
def test_removing_the_lock_file_does_not_let_a_second_writer_in(tmp_path, damage):
    folder = tmp_path / "idx"
    newsindex.Index.create(folder).close()
    holder = _python(HOLDER, str(folder))
    try:
        assert holder.stdout.readline() == "LOCKED\n", holder.stderr.read()
        (folder / "write.lock").unlink()
        if damage == "replaced":
            (folder / "write.lock").write_text("")
        second = _python(SECOND, str(folder))
        out, err = second.communicate(timeout=120)
        assert out.startswith("REFUSED") and "another writer holds" in out, (out, err)
        holder.stdin.write("\n")
        holder.stdin.flush()
        out, err = holder.communicate(timeout=120)
        assert out.splitlines()[-1] == "COMMITTED 1", (out, err)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    with newsindex.Index.open(folder) as ix:
        assert "held" in ix and "second" not in ix and ix.check() == []
    # the lock is free again: a writer gets it
    with newsindex.Index.open(folder) as ix, ix.writer() as w:
        w.add({"id": "later", "title": "later", "body": "later"})


def test_a_second_writer_in_the_same_process_is_refused(tmp_path):
    ix = newsindex.Index.create(tmp_path / "idx")
    with ix.writer():
        (tmp_path / "idx" / "write.lock").unlink()
        with pytest.raises(LockError):
            ix.writer()


class _Names:
    """Fixed 'random' names, so a test can plant links where the writer will create files."""

    def __init__(self):
        self.n = 0

    def token_hex(self, nbytes: int = 8) -> str:
        self.n += 1
        return f"{self.n:0{2 * nbytes}x}"[-2 * nbytes :]


def test_links_planted_at_every_path_the_writer_creates_are_never_followed(
    tmp_path, sample_docs, monkeypatch
):
    folder = tmp_path / "idx"
    ix = newsindex.Index.create(folder)
    with ix.writer() as w:
        for d in sample_docs[:20]:
            w.add(d)
    names = _Names()
    # Replay the writer's name choices once to learn them, then plant links at all of them.
    monkeypatch.setattr(writer_mod.secrets, "token_hex", names.token_hex)
    gen = ix.generation + 1
    nxt = mf.read_latest(folder).next_segment
    seg = ix._searcher.segments[0].name
    # (not manifest-<gen>.json itself: a reader would take a file there for the newest commit;
    # the commit renames over whatever is there, which replaces a link, never its target)
    planned = ["write.lock", f"{mf.manifest_name(gen)}.tmp"]
    planned += [mf.RECORD_NAME, f".{mf.RECORD_NAME}.tmp"]
    planned += [f"{seg}.del-{gen:08d}.npy"]
    # segment and temp names the writer will draw: seg-<n>-<hex>, then the manifest's and
    # the record's temporary names
    for k in range(1, 4):
        planned.append(f"seg-{nxt:06d}-{k:06x}.arr")
        planned.append(f"seg-{nxt:06d}-{k:06x}.doc")
    for k in range(1, 6):
        planned.append(f"manifest-{gen:08d}.{k:016x}.json.tmp")
        planned.append(f".{mf.RECORD_NAME}.{k:016x}.tmp")
    victims = {}
    for name in planned:
        victim = tmp_path / f"victim-{len(victims)}"
        victim.write_text("precious")
        victims[name] = victim
        path = folder / name
        if path.exists() or path.is_symlink():
            path.unlink()
        path.symlink_to(victim)
    names.n = 0
    with ix.writer() as w:
        w.add(sample_docs[20])
        w.delete(sample_docs[0]["id"])
    assert all(v.read_text() == "precious" for v in victims.values())
    assert ix.generation == gen and ix.doc_count == 20 and ix.check() == []
    created = {n for n in planned if (folder / n).exists() and not (folder / n).is_symlink()}
    # the writer did create files at planted paths (it replaced the links, not their targets)
    assert {"write.lock", mf.RECORD_NAME, f"{seg}.del-{gen:08d}.npy"} <= created
    assert f"seg-{nxt:06d}-000001.arr" in created
