"""The index writer: buffers articles, builds segments, commits atomically or rolls back."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis import Analyzer
from ..analysis.vocab import Vocabulary
from ..article import Article
from ..errors import WriterClosedError, check_int, check_number, check_type
from . import manifest as mf
from .arrays import ArrayFile
from .builder import build_segment
from .check import file_crc32
from .files import create_new
from .lock import WriteLock
from .manifest import FileInfo, Manifest, SegmentEntry
from .merge import merge, plan_merges
from .segment import Segment
from .strtable import StringTable

if TYPE_CHECKING:
    from ..config import IndexSettings

#: Articles buffered in memory before they are written out as a segment.
DEFAULT_BUFFER_DOCS = 200_000
#: ... or characters of title + body, whichever comes first.
DEFAULT_BUFFER_CHARS = 400_000_000
#: ... or the estimated memory of building the buffer into a segment, in bytes. An ingest's
#: peak memory is about this plus the process's own (~100-150 MB with numpy and the stemmer).
DEFAULT_MEMORY_BUDGET = 768 << 20
#: Estimated peak bytes of a segment build per character of title + body: the text, the
#: tokens' keys and scratch arrays, the stored-field encoding. The worst case is text made of
#: one-letter words (a token every 2 characters); ordinary news takes about half this.
BUILD_BYTES_PER_CHAR = 24
#: ... and per article (the Article, its id and keyword columns, its stored row).
BUILD_BYTES_PER_DOC = 2560
#: A writer's token cache is dropped after a flush once it holds this many terms (each costs
#: a few hundred bytes), so text made of ever-new words cannot grow it without bound.
VOCABULARY_LIMIT = 1_000_000
#: Bits of the filter of ids a writer has flushed (a bit per hash value, 2**28 bits: 32 MiB):
#: an added id whose bit is clear cannot be in a flushed segment, so most adds look in none.
_SEEN_BITS = 28


class IndexWriter:
    """Adds, replaces and deletes articles; nothing is visible to readers before :meth:`commit`.

    Use it as a context manager: leaving the block normally commits, an exception rolls back::

        with index.writer() as w:
            w.add({"id": "1", "title": "...", "body": "..."})
            w.delete("2")

    Memory: buffered articles are written out as a segment every ``buffer_docs`` articles,
    ``buffer_chars`` characters of title and body, or when building them would take an
    estimated ``memory_budget`` bytes (:data:`BUILD_BYTES_PER_CHAR` per character and
    :data:`BUILD_BYTES_PER_DOC` per article), whichever comes first. So whatever the input,
    a build stays within about the budget (768 MiB by default) plus the process's own memory.
    Flushed segments are merged by the policy as they come (see :mod:`.merge`; those with
    articles deleted since wait for the commit), and at the commit a tier of
    ``MERGE_FACTOR`` or more of them is merged whole, in merges of at most ``memory_budget``
    bytes of arrays. Merges work on the segments' arrays, their largest output arrays
    written to scratch files as they are made: a merge's memory grows with its documents
    (their columns), not its postings, so :meth:`optimize`, which makes the whole index one
    segment, fits where the build did; the merge policy bounds the other merges by
    :data:`~newsindex.index.merge.MAX_MERGED_DOCS`.
    """

    def __init__(
        self,
        folder: Path,
        settings: IndexSettings,
        *,
        on_commit: Callable[[], object] | None = None,
        timeout: float = 0.0,
        buffer_docs: int = DEFAULT_BUFFER_DOCS,
        buffer_chars: int = DEFAULT_BUFFER_CHARS,
        workers: int = 1,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
    ):
        # Checked before the lock is taken, so a bad option leaves no lock behind.
        timeout = check_number("timeout", timeout, 0, finite=False)
        buffer_docs = check_int("buffer_docs", buffer_docs, 1)
        buffer_chars = check_int("buffer_chars", buffer_chars, 1)
        workers = check_int("workers", workers, 1)
        memory_budget = check_int("memory_budget", memory_budget, 1)
        # The front door's refresh: a writer opened from an Index moves it to each commit.
        self._on_commit = on_commit
        self._folder = Path(folder)
        self._lock = WriteLock(self._folder, timeout)
        try:
            self._base = mf.read_latest(self._folder)
            self._base_segments = [Segment(self._folder, e) for e in self._base.segments]
        except BaseException:
            self._lock.release()
            raise
        self._analyzers = {f: Analyzer(spec) for f, spec in settings.analyzers.items()}
        self._store_body = settings.store_body
        self._scoring = settings.scoring
        self._vocab = Vocabulary()
        self._buffer: dict[str, Article] = {}
        self._buffer_chars = 0
        self._buffer_docs_limit = buffer_docs
        self._buffer_chars_limit = buffer_chars
        # Whatever the input (a 1 MB .gz can inflate to 800 MB of text), a segment build
        # stays within the budget: the buffer is flushed by an estimate of bytes.
        self._memory_budget = memory_budget
        # Forked analysis workers (POSIX) are opt-in: with tokenizing in numpy and the stored
        # fields on a thread, two workers build Reuters-21578 no faster than one process on a
        # 2-core machine (the forks' copy-on-write faults and the words both stem outweigh
        # the split); figures in benchmarks/RESULTS.md.
        self._workers = workers
        self._removed: set[str] = set()  # ids whose committed versions go away
        self._new: list[SegmentEntry] = []  # segments this writer wrote (a rollback removes)
        self._flushed: list[_Flushed] = []  # those to commit, with the documents deleted since
        # Which ids the flushed segments may hold. Their own id tables answer exactly: a map
        # of every id in Python would cost over a hundred bytes an article.
        self._seen = bytearray(1 << (_SEEN_BITS - 3))
        self._next_segment = self._base.next_segment
        self.added = 0
        self.replaced = 0
        self._optimize = False
        self._written: list[Path] = []  # deletion files of the commit in progress
        self._closed = False

    # -- editing ------------------------------------------------------------------------------
    def add(self, article: Article | Mapping[str, Any]) -> None:
        """Add an article (an :class:`Article` or a dict); an existing id is replaced."""
        self._check_open()
        art = Article.from_dict(article)
        if self._forget(art.id):  # added earlier by this writer: a replacement too
            self.replaced += 1
        self._buffer[art.id] = art
        self._buffer_chars += len(art.title) + len(art.body)
        self.added += 1
        if (
            len(self._buffer) >= self._buffer_docs_limit
            or self._buffer_chars >= self._buffer_chars_limit
            or _build_cost(self._buffer_chars, len(self._buffer)) >= self._memory_budget
        ):
            self.flush()

    def delete(self, article_id: str) -> None:
        """Delete the article with this id (no error if there is none)."""
        self._check_open()
        check_type("article_id", article_id, str, "a string")
        self._forget(str.__str__(article_id))  # (as Article keeps ids: plain strings)

    def _forget(self, article_id: str) -> bool:
        """Drop the article's versions; True if one was added by this writer (uncommitted)."""
        if self._buffer.pop(article_id, None) is not None:
            return True
        if self._flushed:
            h = hash(article_id) & ((1 << _SEEN_BITS) - 1)
            if self._seen[h >> 3] >> (h & 7) & 1:
                for flushed in self._flushed:
                    if flushed.delete(article_id):
                        return True
        if self._base_segments:  # (a new index's bulk load would keep every id it adds)
            self._removed.add(article_id)
        return False

    def _remember(self, article_ids: list[str]) -> None:
        """Set the filter's bits of ids a flushed segment holds."""
        mask = (1 << _SEEN_BITS) - 1
        h = np.fromiter(map(hash, article_ids), dtype=np.int64, count=len(article_ids)) & mask
        seen = np.frombuffer(self._seen, dtype=np.uint8)
        np.bitwise_or.at(seen, h >> 3, np.left_shift(1, h & 7).astype(np.uint8))

    @property
    def buffered_bytes(self) -> int:
        """Estimated peak bytes of writing out what is buffered now (what ``memory_budget``
        bounds), so writers sharing one budget can tell which needs it most."""
        return _build_cost(self._buffer_chars, len(self._buffer))

    def share_vocabulary(self, other: IndexWriter) -> None:
        """Use ``other``'s cache of analyzed words from now on, for writers fed in turn from
        one thread (the shards of a sharded write): a word is then analyzed once for all of
        them, not once per writer. What the writers write does not change."""
        check_type("other", other, IndexWriter, "an IndexWriter")
        self._check_open()
        self._vocab = other._vocab

    def flush(self) -> None:
        """Write the buffered articles out as a segment (still invisible until commit)."""
        self._check_open()
        if not self._buffer:
            return
        name = self._segment_name()
        articles = list(self._buffer.values())
        entry = self._build(
            build_segment,
            name,
            articles,
            self._analyzers,
            self._vocab,
            self._workers,
            self._store_body,
            self._scoring,
        )
        self._new.append(entry)
        self._flushed.append(_Flushed(self._folder, entry, set()))
        self._remember(list(self._buffer))
        self._buffer.clear()
        self._buffer_chars = 0
        if len(self._vocab) > VOCABULARY_LIMIT:  # a cache: later segments re-learn their words
            self._vocab = Vocabulary()
        self._merge_flushed()

    def _merge_flushed(self, final: bool = False) -> None:
        """Apply the merge policy to the flushed segments as they come, as Lucene's writer
        does: a long build never piles them up for its commit to merge at once. Segments
        with articles deleted or replaced since wait for the commit, which drops those.
        ``final``: the commit's pass, which also merges a full tier of them whole, in
        merges of at most the memory budget's bytes of arrays."""
        budget = self._memory_budget if final else None
        while True:
            clean = [f for f in self._flushed if not f.deleted]
            groups = plan_merges([f.entry for f in clean], bulk=True, commit_bytes=budget)
            if not groups:
                return
            for group in groups:
                inputs = [clean[i] for i in group]
                entry = self._build(
                    merge,
                    self._segment_name(),
                    [f.entry for f in inputs],
                    self._analyzers,
                    self._store_body,
                    self._scoring,
                )
                self._new.append(entry)
                gone = {id(f.entry) for f in inputs}
                self._flushed = [f for f in self._flushed if id(f.entry) not in gone]
                self._flushed.append(_Flushed(self._folder, entry, set()))
                # Never committed, so no reader can hold them: they go now.
                self._new = [e for e in self._new if id(e) not in gone]
                for f in inputs:
                    f.close()
                    for fname in f.entry.files:
                        _unlink(self._folder / fname)

    def adopt(self, folder: Path) -> int:
        """Add the articles of the index in ``folder`` (made with the same settings, e.g. by a
        worker of a distributed build) as if they were added here now, in their order: its
        segments' files are linked in under new names, nothing is analyzed or built again.
        Its ids replace earlier versions. The folder must stay as it is until this writer
        commits or rolls back. Returns how many articles were adopted."""
        self._check_open()
        self.flush()
        adopted = 0
        for entry in mf.read_latest(Path(folder)).segments:
            seg = Segment(Path(folder), entry)
            try:
                ids = seg.ids.strings()
                gone = set(seg.deleted.tolist())
            finally:
                seg.close()
            name = self._segment_name()
            files = {}
            for fname, info in entry.files.items():
                if fname == entry.del_file:
                    continue  # the deletions go into this commit's own deletion file
                new = name + fname[len(entry.name) :]
                try:
                    os.link(Path(folder) / fname, self._folder / new)
                except OSError:  # another file system: a copy
                    shutil.copyfile(Path(folder) / fname, self._folder / new)
                files[new] = info
            live = [art_id for doc, art_id in enumerate(ids) if doc not in gone]
            for art_id in live:
                if self._forget(art_id):
                    self.replaced += 1
            entry = dataclasses.replace(entry, name=name, files=files, deleted=0, del_file=None)
            self._new.append(entry)
            self._flushed.append(_Flushed(self._folder, entry, gone))
            self._remember(live)
            self.added += len(live)
            adopted += len(live)
        return adopted

    # -- commit / rollback --------------------------------------------------------------------
    def commit(self) -> None:
        """Make every change visible atomically, then release the write lock."""
        self._check_open()
        try:
            self.flush()
            if not self._optimize:  # (which merges everything once)
                self._merge_flushed(final=True)
            generation = self._base.generation + 1
            segments = []
            removed = list(self._removed)
            hashed: dict[tuple[object, str], np.ndarray] = {}
            for seg in self._base_segments:
                gone = seg.find_ids(removed, hashed)
                self.replaced += len(gone)
                segments.append(self._with_deletes(seg.entry, seg.deleted, gone, generation))
            for flushed in self._flushed:
                segments.append(
                    self._with_deletes(
                        flushed.entry, np.zeros(0, np.int32), sorted(flushed.deleted), generation
                    )
                )
            segments = [s for s in segments if s.live > 0]
            segments = self._merged(segments, everything=self._optimize)
            manifest = Manifest(
                generation=generation,
                next_segment=self._next_segment,
                settings=self._base.settings,
                segments=tuple(segments),
                doc_count=sum(s.live for s in segments),
                committed_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            )
            mf.write(self._folder, manifest)
        except BaseException:
            self.rollback()
            raise
        try:
            try:
                mf.record_generation(self._folder, generation)
            except OSError:
                pass  # committed all the same; only the detection of a lost manifest waits
            # Still under the lock, so no other writer's fresh files can be mistaken for garbage.
            # An optimize is asked for to reclaim the space now: only its own commit is kept
            # (readers on older snapshots keep their files open, so they go on answering).
            _collect_garbage(self._folder, keep_generations=1 if self._optimize else 2)
        finally:
            self._close()
        if self._on_commit is not None:
            self._on_commit()

    def optimize(self) -> None:
        """Merge the whole index into one segment when this writer commits."""
        self._check_open()
        self._optimize = True

    def _merged(self, segments: list[SegmentEntry], everything: bool) -> list[SegmentEntry]:
        """Apply the merge policy (or merge everything) to the segments about to commit."""
        while True:
            if everything:
                groups = (
                    [list(range(len(segments)))]
                    if len(segments) > 1 or any(s.deleted for s in segments)
                    else []
                )
            else:
                groups = plan_merges(segments)
            if not groups:
                return segments
            merged = []
            for group in groups:
                entry = self._build(
                    merge,
                    self._segment_name(),
                    [segments[i] for i in group],
                    self._analyzers,
                    self._store_body,
                    self._scoring,
                )
                self._new.append(entry)  # so a rollback removes it
                merged.append(entry)
            drop = {i for g in groups for i in g}
            segments = [s for i, s in enumerate(segments) if i not in drop] + merged
            if everything:
                return segments

    def _build(self, build: Callable[..., SegmentEntry], name: str, *args: Any) -> SegmentEntry:
        """Run a segment build; on failure (a full disk...) remove whatever it wrote."""
        try:
            return build(self._folder, name, *args)
        except BaseException:
            for suffix in (".arr", ".doc"):
                _unlink(self._folder / f"{name}{suffix}")
            raise

    def _segment_name(self) -> str:
        name = f"seg-{self._next_segment:06d}-{secrets.token_hex(3)}"
        self._next_segment += 1
        return name

    def _with_deletes(
        self, entry: SegmentEntry, old: np.ndarray, new: list[int], generation: int
    ) -> SegmentEntry:
        if not new:
            return entry
        deleted = np.union1d(old, np.asarray(new, dtype=np.int32)).astype(np.int32)
        del_file = f"{entry.name}.del-{generation:08d}.npy"
        path = self._folder / del_file
        self._written.append(path)  # uncommitted: a rollback removes it
        with open(create_new(path), "wb") as fh:
            np.save(fh, deleted, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        files = {k: v for k, v in entry.files.items() if ".del-" not in k}
        files[del_file] = FileInfo(size=path.stat().st_size, crc32=file_crc32(path))
        return dataclasses.replace(entry, deleted=int(len(deleted)), del_file=del_file, files=files)

    def rollback(self) -> None:
        """Discard every change since the writer was opened and release the write lock."""
        if self._closed:
            return
        for entry in self._new:
            for fname in entry.files:
                _unlink(self._folder / fname)
        for path in self._written:
            _unlink(path)
        self._close()

    def _close(self) -> None:
        self._closed = True
        for seg in self._base_segments:
            seg.close()
        for flushed in self._flushed:
            flushed.close()
        # A finished writer may stay referenced (``with ... as w``): keep no mapping alive.
        self._base_segments = []
        self._flushed = []
        self._lock.release()

    def _check_open(self) -> None:
        if self._closed:
            raise WriterClosedError("this writer was already committed or rolled back")

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


class _Flushed:
    """A segment a writer wrote and has not committed yet: its ids, looked up in its own id
    table, and its documents deleted (or replaced) since."""

    def __init__(self, folder: Path, entry: SegmentEntry, deleted: set[int]):
        self.entry = entry
        self.deleted = deleted
        self._arrays = ArrayFile(folder / f"{entry.name}.arr")
        self._ids = StringTable(self._arrays, "ids")

    def delete(self, article_id: str) -> bool:
        """Delete the article's live version here; False if this segment holds none."""
        doc = self._ids.find(article_id)
        if doc < 0 or doc in self.deleted:
            return False
        self.deleted.add(doc)
        return True

    def close(self) -> None:
        # The mapping goes with the last view of it (as a segment's does).
        del self._ids, self._arrays


def _build_cost(chars: int, docs: int) -> int:
    """Estimated peak bytes of building ``docs`` articles of ``chars`` characters."""
    return chars * BUILD_BYTES_PER_CHAR + docs * BUILD_BYTES_PER_DOC


def _collect_garbage(folder: Path, keep_generations: int) -> None:
    """Remove manifests older than the last ``keep_generations`` and files none of them name.

    Readers hold their segment files open (mmap / fd), so unlinking never breaks a search in
    progress on POSIX systems.
    """
    gens = mf.generations(folder)
    keep = gens[-keep_generations:]
    referenced: set[str] = set()
    for g in keep:
        try:
            for seg in mf.read(folder, g).segments:
                referenced.update(seg.files)
        except Exception:  # an unreadable old manifest must not stop the cleanup
            return
    for g in gens[:-keep_generations]:
        _unlink(folder / mf.manifest_name(g))
    for name in os.listdir(folder):
        if (name.startswith("seg-") and name not in referenced) or mf.TEMP_NAME.match(name):
            _unlink(folder / name)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
