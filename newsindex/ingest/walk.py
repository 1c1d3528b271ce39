"""Walk files and folders, pick a reader per file, apply the ``on_error`` policy.

Readers yield :class:`Problem` objects instead of raising; here, and only here, a problem either
becomes an :class:`IngestError` (``on_error="fail"``) or is passed to the caller (``"skip"``).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import re
import stat
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, NamedTuple, Union

from ..errors import ConfigError
from .csvfile import read_csv
from .decode import file_problem
from .feeds import is_feed, read_feed
from .fields import check_mapping
from .html import read_html
from .jsonfile import read_json
from .jsonl import read_jsonl
from .rawtext import read_raw
from .records import IngestError, Problem, Record
from .warcfile import read_warc
from .whooshdir import count_whoosh, is_whoosh_toc, read_whoosh
from .yamldocs import read_front_matter, read_yaml_list

__all__ = ["FORMATS", "STDIN", "count_hint", "format_for_path", "iter_records"]

PathArg = Union[str, "os.PathLike[str]"]
Reader = Callable[..., Iterator[Record | Problem]]
OnSkip = Callable[[Problem], None]

#: Format names accepted by ``iter_records(format=...)``.
FORMATS = (
    "auto",
    "jsonl",
    "json",
    "csv",
    "tsv",
    "yaml",
    "frontmatter",
    "raw",
    "txt",
    "html",
    "warc",
    "feed",
    "whoosh",
)
ON_ERROR = ("fail", "skip")
#: The path that means standard input; records read from it are reported as from ``<stdin>``.
STDIN = "-"
_STDIN_NAME = "<stdin>"

# Longest suffix first, so ".jsonl.gz" wins over ".gz".
_SUFFIXES = (
    (".jsonl.gz", "jsonl"),
    (".json.gz", "jsonl"),
    (".ndjson.gz", "jsonl"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "json"),
    (".warc.gz", "warc"),
    (".warc", "warc"),
    (".html", "html"),
    (".htm", "html"),
    (".rss", "feed"),
    (".atom", "feed"),
    (".xml", "feed"),  # if its root element is <rss>, <feed> or <rdf:RDF>; see _read
    (".csv", "csv"),
    (".tsv", "tsv"),
    (".yaml", "yaml"),
    (".yml", "yaml"),
    (".md", "frontmatter"),
    (".markdown", "frontmatter"),
    (".txt", "txt"),
)


def format_for_path(path: PathArg) -> str | None:
    """The format ``"auto"`` picks for a file name, or None when its extension is not known.

    Example:
        >>> format_for_path("feeds/2016.jsonl.gz")
        'jsonl'
    """
    name = os.fspath(path).lower()
    return next((fmt for suffix, fmt in _SUFFIXES if name.endswith(suffix)), None)


def iter_records(
    paths: PathArg | Iterable[PathArg],
    *,
    format: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    on_error: str = "fail",
    max_record_bytes: int = 10_000_000,
    follow_symlinks: bool = False,
    delimiter: str | None = None,
    on_skip: Callable[[Problem], None] | None = None,
) -> Iterator[Record | Problem]:
    """Read articles from files, folders and standard input.

    Folders are walked recursively in sorted order, skipping hidden files and folders (names
    starting with ``.``). With ``format="auto"`` the reader is chosen by extension: ``.jsonl``,
    ``.ndjson``, ``.jsonl.gz``, ``.json.gz`` (JSONL), ``.json`` (one object or an array),
    ``.csv``, ``.tsv``, ``.yaml``/``.yml`` (articles, in one or several ``---`` documents),
    ``.md`` (front matter), ``.txt`` (front matter if it starts with ``---``, else a scraped
    page), ``.html``/``.htm`` (a saved web page), ``.warc``/``.warc.gz`` (a web crawl),
    ``.rss``/``.atom`` (a feed) and ``.xml`` (a feed, recognised by its root element). A named
    format applies to every file given or found. Input fields that are neither article fields nor
    mapped are kept in the article's ``extra`` (see :mod:`newsindex.ingest.fields` for why).
    docs/input-formats.md describes every format and its fields.

    The path ``"-"`` is standard input, read as JSON Lines (gzipped or not) unless ``format``
    names another format; its records and problems name it ``<stdin>``.

    Some things are skipped on purpose rather than being errors, and are reported through
    ``on_skip``: files of a walked folder whose format cannot be told from their name, or
    ``.xml`` files that are not feeds (naming such a file is an error), and the records of a WARC crawl that are not articles (requests,
    revisits, images, repeated URLs; one summary per file).

    Whoosh index folders are read only with ``format="whoosh"``, never recognised while
    walking (a folder holding a ``_*.toc`` file is reported as a problem and skipped): Whoosh
    stores its table of contents as a pickle, and unpickling a crafted file runs arbitrary
    code, so open only Whoosh indexes you trust (see :mod:`newsindex.ingest.whooshdir`).

    Symbolic links found while walking a folder are reported as problems and not followed,
    unless ``follow_symlinks``; the paths given are read even when they are links.

    Args:
        paths: one path or several; files or folders.
        format: one of :data:`FORMATS`.
        mapping: input field -> article field (see :func:`load_mapping`); not used by raw pages.
        on_error: ``"fail"`` raises :class:`IngestError` at the first problem; ``"skip"`` yields a
            :class:`Problem` for it and goes on.
        max_record_bytes: largest accepted record (a JSONL line, a CSV row, a YAML item, a whole
            page or YAML file).
        follow_symlinks: read the files and folders that links inside walked folders point to
            (a folder reached twice through links is walked once).
        delimiter: the field separator of CSV files (one character; default ``,``). TSV files
            are always tab-separated.
        on_skip: called with a :class:`Problem` for each thing skipped on purpose (see above).
            When None, these are yielded as problems with ``on_error="skip"`` and not reported
            with ``"fail"``: they never stop ingest.

    Returns:
        An iterator of :class:`Record` (and of :class:`Problem` with ``on_error="skip"``).

    Raises:
        ConfigError: (a ``ValueError``) at call time: an unknown ``format`` or ``on_error``, a
            bad ``max_record_bytes``, an invalid mapping or delimiter.
        IngestError: while iterating, with ``on_error="fail"``.

    Example:
        >>> for item in iter_records("feeds/", on_error="skip"):  # doctest: +SKIP
        ...     print(item if isinstance(item, Problem) else item.article.title)
    """
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    if type(max_record_bytes) is not int or max_record_bytes < 1:  # bool is an int: refused too
        raise ConfigError(f"max_record_bytes must be a positive integer, got {max_record_bytes!r}")
    checked = check_mapping(mapping) if mapping is not None else None
    options = _Options(
        checked,
        on_error == "fail",
        max_record_bytes,
        follow_symlinks,
        _check_delimiter(delimiter),
        on_skip,
    )
    return _iterate(_as_list(paths), format, options)


def count_hint(
    paths: PathArg | Iterable[PathArg], *, format: str = "auto", follow_symlinks: bool = False
) -> int | None:
    """A cheap estimate of how many records :func:`iter_records` will yield, for progress bars.

    Raw pages and front-matter files count one each; JSONL and CSV count lines (blank lines and
    cells holding newlines make it an over-estimate), exactly up to 64 MiB, else scaled up from
    the first 4 MiB (of decompressed text, for gzip); YAML lists count their top-level ``- ``
    items; Whoosh indexes (``format="whoosh"`` only) their document count. None when some file
    cannot be estimated (e.g. a flow-style YAML list).
    """
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    total = 0
    for path in _as_list(paths):
        if path == STDIN:
            return None  # not known before it is read, and reading it here would consume it
        for item in _files(path, format, follow_symlinks):
            if isinstance(item, (Problem, _Skipped)):
                continue  # iter_records will report it; it holds no records
            fmt = format if format != "auto" else format_for_path(item)
            try:
                count = _count_file(item, fmt)
            except (OSError, EOFError, ValueError, zlib.error):  # unreadable: no estimate
                count = None
            if count is None:
                return None
            total += count
    return total


def _as_list(paths: PathArg | Iterable[PathArg]) -> list[str]:
    if isinstance(paths, (str, bytes, os.PathLike)):
        return [os.fsdecode(paths)]
    return [os.fsdecode(p) for p in paths]


class _Options(NamedTuple):
    mapping: dict[str, str | None] | None
    fail: bool
    max_bytes: int
    follow: bool
    delimiter: str
    on_skip: OnSkip | None


class _Skipped(NamedTuple):
    """A file a walk skips on purpose, and why (reported through ``on_skip``)."""

    problem: Problem


def _check_delimiter(delimiter: str | None) -> str:
    if delimiter is None:
        return ","
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigError(
            f"the CSV delimiter must be one character other than a quote or a line break, "
            f"got {delimiter!r} (for a tab, pass '\\t' as the character itself)"
        )
    return delimiter


def _iterate(paths: list[str], fmt: str, opts: _Options) -> Iterator[Record | Problem]:
    skipped: list[Problem] = []
    note = opts.on_skip or skipped.append
    for root in paths:
        items = [STDIN] if root == STDIN else _files(root, fmt, opts.follow)
        for item in items:
            if isinstance(item, _Skipped):
                note(item.problem)
                found: Iterable[Record | Problem] = ()
            elif isinstance(item, Problem):
                found = [item]
            elif item == STDIN and root == STDIN:
                found = _read_stdin(fmt, opts, note)
            else:
                found = _read(item, fmt, opts, note, walked=item != root)
            for result in found:
                if isinstance(result, Problem) and opts.fail:
                    raise IngestError(result)
                yield result
            if skipped:
                # Not errors: handed over as problems only to a caller who collects them.
                if not opts.fail:
                    yield from skipped
                skipped.clear()


def _read(
    path: str, fmt: str, opts: _Options, note: OnSkip, *, walked: bool = False
) -> Iterator[Record | Problem]:
    chosen = fmt if fmt != "auto" else format_for_path(path)
    if chosen is None:
        yield _unknown_format(path)
        return
    if chosen == "txt":
        chosen = _txt_kind(path)
    if chosen == "feed" and fmt == "auto" and path.lower().endswith(".xml"):
        problem = _xml_kind(path)
        if problem and walked:  # found in a folder: skipped like a file of unknown format
            note(problem)
            return
        if problem:
            yield problem
            return
    if chosen == "raw":
        yield from read_raw(path, max_record_bytes=opts.max_bytes)
    elif chosen == "csv":
        yield from read_csv(
            path, mapping=opts.mapping, max_record_bytes=opts.max_bytes, delimiter=opts.delimiter
        )
    elif chosen == "warc":
        yield from read_warc(path, max_record_bytes=opts.max_bytes, on_skip=note)
    else:
        yield from _READERS[chosen](path, mapping=opts.mapping, max_record_bytes=opts.max_bytes)


_READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "json": read_json,
    "tsv": functools.partial(read_csv, delimiter="\t"),
    "yaml": read_yaml_list,
    "frontmatter": read_front_matter,
    "html": read_html,
    "feed": read_feed,
    "whoosh": read_whoosh,
}


def _unknown_format(path: str) -> Problem:
    known = ", ".join(suffix for suffix, _ in _SUFFIXES)
    return Problem(
        path,
        0,
        None,
        f"cannot tell the format from the file name (known extensions: {known}); pass format=",
    )


def _xml_kind(path: str) -> Problem | None:
    """Why an ``.xml`` file is not read as a feed, if it is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        return file_problem(path, exc)
    if is_feed(head):
        return None
    return Problem(
        path,
        0,
        None,
        "an XML file that is not an RSS or Atom feed (its root element is not <rss>, <feed> or "
        "<rdf:RDF>); pass format= to read it as another format",
    )


def _read_stdin(fmt: str, opts: _Options, note: OnSkip) -> Iterator[Record | Problem]:
    """Standard input: JSONL, CSV, TSV and WARC are streamed; the formats read whole (one
    article per file, YAML, JSON, feeds) are read into a temporary file first, at most
    ``max_bytes`` of them, and read from there."""
    chosen = "jsonl" if fmt == "auto" else fmt
    if chosen == "whoosh":
        yield Problem(
            _STDIN_NAME, 0, None, "a Whoosh index is a folder; it cannot be read from stdin"
        )
        return
    # A reader of its own over file descriptor 0, closed without closing stdin itself.
    stream: IO[bytes] = open(sys.stdin.fileno(), "rb", closefd=False)  # noqa: SIM115
    with stream:
        if chosen in ("jsonl", "csv", "tsv", "warc"):
            if chosen != "warc" and stream.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]
                stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
            if chosen == "jsonl":
                yield from read_jsonl(
                    _STDIN_NAME,
                    mapping=opts.mapping,
                    max_record_bytes=opts.max_bytes,
                    stream=stream,
                )
            elif chosen == "warc":
                yield from read_warc(
                    _STDIN_NAME, max_record_bytes=opts.max_bytes, stream=stream, on_skip=note
                )
            else:
                yield from read_csv(
                    _STDIN_NAME,
                    mapping=opts.mapping,
                    max_record_bytes=opts.max_bytes,
                    delimiter="\t" if chosen == "tsv" else opts.delimiter,
                    stream=stream,
                )
            return
        data = stream.read(opts.max_bytes + 1)
        if len(data) > opts.max_bytes:
            yield Problem(
                _STDIN_NAME,
                0,
                None,
                f"standard input is over the record size limit of {opts.max_bytes:,} bytes "
                f"for the {chosen} format, which is read whole (raise max_record_bytes)",
            )
            return
    with tempfile.TemporaryDirectory(prefix="newsindex-stdin-") as folder:
        spool = os.path.join(folder, "stdin")
        with open(spool, "wb") as out:
            out.write(data)
        for item in _read(spool, chosen, opts, note):
            yield dataclasses.replace(item, path=_STDIN_NAME)


def _txt_kind(path: str) -> str:
    """``.txt`` is front matter when its first line is ``---``, else a scraped page."""
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip(b"\xef\xbb\xbf")
    except OSError:
        return "raw"  # the raw reader reports the error
    first = head.split(b"\n", 1)[0].strip()
    return "frontmatter" if first == b"---" else "raw"


def _files(root: str, fmt: str, follow: bool = False) -> Iterator[str | Problem | _Skipped]:
    """The files under ``root`` to read, sorted, problems for what cannot or must not be read,
    and the files skipped because their format cannot be told from their name.

    ``root`` itself is read even when it is a symbolic link: the caller named it. Links found
    while walking are reported, not followed, unless ``follow``: a link inside the tree only
    repeats what the walk reads anyway, and one leading out of it (to ``/etc/passwd``, to a
    private folder) would make files searchable that nobody asked to index.
    """
    try:
        is_dir = stat.S_ISDIR(os.stat(root).st_mode)
    except OSError as exc:
        yield file_problem(root, exc)
        return
    if not is_dir:
        yield _check_file(root) or root
        return
    if fmt == "whoosh":
        yield root  # named as a Whoosh index: one source
        return
    problems: list[Problem] = []
    found: list[tuple[tuple[str, ...], str]] = []
    ignored: list[tuple[tuple[str, ...], str]] = []
    seen: set[tuple[int, int]] = set()  # followed folders, so a link cycle is walked once
    walk = os.walk(
        root, onerror=lambda exc: problems.append(_walk_problem(exc)), followlinks=follow
    )
    for folder, dirs, names in walk:
        if follow:
            try:
                info = os.stat(folder)
            except OSError as exc:
                problems.append(file_problem(folder, exc))
                dirs[:] = []
                continue
            if (info.st_dev, info.st_ino) in seen:
                dirs[:] = []
                continue
            seen.add((info.st_dev, info.st_ino))
        toc = _whoosh_files(names) if fmt == "auto" else []
        if toc:  # reported, never opened; the folder's other files are read as usual
            problems.append(_whoosh_problem(folder, toc))
        kept = []
        for name in sorted(dirs):
            if name.startswith("."):
                continue
            if not follow and os.path.islink(os.path.join(folder, name)):
                problems.append(_link_problem(os.path.join(folder, name)))
                continue
            kept.append(name)
        dirs[:] = kept
        for name in names:
            if name.startswith("."):
                continue
            full = os.path.join(folder, name)
            if fmt == "auto" and format_for_path(name) is None:
                if not toc:  # a Whoosh index's own files: the folder is reported as one
                    ignored.append((Path(os.path.relpath(full, root)).parts, full))
                continue
            if not follow and os.path.islink(full):
                problems.append(_link_problem(full))
                continue
            found.append((Path(os.path.relpath(full, root)).parts, full))
    yield from problems
    for _, full in sorted(ignored):
        yield _Skipped(_unknown_format(full))
    for _, full in sorted(found):
        yield _check_file(full) or full
    if not found and not problems:
        note = f"; skipped {len(ignored)} file(s) with other extensions" if ignored else ""
        yield Problem(root, 0, None, f"no files to ingest in this folder{note}")


def _whoosh_files(names: list[str]) -> list[str]:
    return sorted(n for n in names if is_whoosh_toc(n))


def _whoosh_problem(folder: str, toc: list[str]) -> Problem:
    # Whoosh reads its table of contents with pickle, which runs whatever code the file
    # names: a folder is opened as a Whoosh index only when the caller says so.
    return Problem(
        folder,
        0,
        None,
        f"holds a Whoosh index ({', '.join(toc)}), not read: Whoosh indexes are pickles, which "
        "can run code when opened; import one you trust with format='whoosh'",
    )


def _link_problem(path: str) -> Problem:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    dangling = "" if os.path.exists(path) else ", which does not exist"
    return Problem(
        path,
        0,
        None,
        f"a symbolic link (to {target}{dangling}), not followed; pass follow_symlinks=True "
        "to read what links point to",
    )


def _check_file(path: str) -> Problem | None:
    """Why ``path`` cannot be read as a file, if it cannot: opening a FIFO would block forever."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:  # a dangling symlink, a file removed while walking
        return file_problem(path, exc)
    return None if stat.S_ISREG(mode) else Problem(path, 0, None, "not a regular file or folder")


def _walk_problem(exc: OSError) -> Problem:
    return file_problem(exc.filename or "?", exc)


def _count_file(path: str, fmt: str | None) -> int | None:
    if fmt == "whoosh":
        return count_whoosh(path)
    if fmt == "txt":
        fmt = _txt_kind(path)
    if fmt in ("raw", "frontmatter", "html"):
        return 1
    if fmt == "feed":
        with open(path, "rb") as f:
            return len(_ENTRY_TAG.findall(f.read()))
    if fmt == "jsonl":
        return _count_lines(path, header=False)
    if fmt in ("csv", "tsv"):
        return _count_lines(path, header=True)
    if fmt == "yaml":
        with open(path, "rb") as f:
            count = sum(1 for line in f if line.startswith(b"- "))
        return count or None
    return None


_ENTRY_TAG = re.compile(rb"<(?:item|entry)\b", re.I)
_SAMPLE = 4 << 20  # bytes of (decompressed) text read when a file is too big to count
_EXACT_LIMIT = 64 << 20
_CHUNK = 16 << 10


def _count_lines(path: str, *, header: bool) -> int:
    """Lines of a text file (gzip or not): counted when small, else extrapolated from a sample."""
    size = os.stat(path).st_size
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        limit = _SAMPLE if gzipped or size > _EXACT_LIMIT else size + 1
        lines, text_bytes, used, at_end, last = _sample_lines(raw, limit, gzipped)
    if at_end:  # the whole file was read: the count is exact
        return max(lines + (text_bytes > 0 and last != b"\n") - header, 0)
    # Scale the sample's lines by the share of the file's (compressed) bytes it used.
    return max(round(lines * size / max(used, 1)) - header, 0)


def _sample_lines(raw: IO[bytes], limit: int, gzipped: bool) -> tuple[int, int, int, bool, bytes]:
    """(newlines, text bytes, file bytes used, reached the end, last text byte) of a prefix.

    Gzip is decompressed chunk by chunk with zlib so the compressed bytes behind the sample are
    known to within a chunk (GzipFile reads ahead by 128 KiB, too coarse for small files).
    """
    inflate = zlib.decompressobj(wbits=31) if gzipped else None
    lines = text_bytes = used = 0
    last = b"\n"
    while text_bytes < limit:
        chunk = raw.read(_CHUNK)
        if not chunk:
            return lines, text_bytes, used, True, last
        used += len(chunk)
        while inflate is not None and chunk:
            data, chunk = inflate.decompress(chunk), b""
            if inflate.eof:  # concatenated gzip members: start the next one on what is left
                chunk, inflate = inflate.unused_data, zlib.decompressobj(wbits=31)
            lines, text_bytes, last = _tally(data, lines, text_bytes, last)
        if inflate is None:
            lines, text_bytes, last = _tally(chunk, lines, text_bytes, last)
    return lines, text_bytes, used, raw.read(1) == b"", last


def _tally(data: bytes, lines: int, size: int, last: bytes) -> tuple[int, int, bytes]:
    return lines + data.count(b"\n"), size + len(data), data[-1:] or last
