"""The ``newsindex`` command: thin over the public API.

Exit codes: 0 success (a search matching nothing included), 1 an error newsindex reports
(bad input, corrupt index, lock held, an unknown article id), 2 a usage or query-syntax error. A reader that closes the pipe early (``newsindex search ... |
head -1``) is no error: the command stops writing and exits quietly with status 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from . import (
    COLLAPSE_THRESHOLD,
    SORTS,
    Facets,
    Hit,
    Index,
    IndexSettings,
    Results,
    __version__,
    terminal_safe,
)
from .errors import IndexNotFoundError, NewsIndexError, QuerySyntaxError

if TYPE_CHECKING:
    from . import Problem


class ArticleNotFoundError(NewsIndexError, ValueError):
    """No article with the id named on the command line."""


DATA = Path(__file__).parent / "data"
DEMO_QUERIES = (
    "aleppo battle",
    '"1070 apartments"',
    "oil prices opec",
    "coffee export quotas date:1987-03",
    "bank rate cut section:interest",
    "title:gold -section:gold",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    words = _with_default_index(parser, list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(_query_after_dashdash(parser, words))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with _one_shot(args.func in _ONE_SHOT and not getattr(args, "collapse", False)):
            status = args.func(args) or 0
        sys.stdout.flush()  # a closed pipe must show here, not in the interpreter's last flush
        return status
    except BrokenPipeError:  # `newsindex search ... | head`: the reader has all it wants
        _silence_stdout()
        return 0
    except QuerySyntaxError as err:
        # The caret line names the problem, so the message is not printed a second time.
        print("newsindex: query error:", file=sys.stderr)
        print(_indent(terminal_safe(err.caret())), file=sys.stderr)
        return 2
    except NewsIndexError as err:
        print(f"newsindex: error: {terminal_safe(str(err))}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk, a permission problem: no traceback, no data lost
        print(f"newsindex: error: {terminal_safe(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("newsindex: interrupted; the last commit is intact", file=sys.stderr)
        return 130


#: The environment variable that turns the compiled kernels off (numpy answers alone).
COMPILED_ENV = "NEWSINDEX_COMPILED"


@contextmanager
def _one_shot(on: bool) -> Iterator[None]:
    """A command that answers one query loads the compiled kernels (numba and LLVM) only
    for a query large enough to repay their load (``NEWSINDEX_COMPILED=large``); others run
    on the numpy path. A user's own ``NEWSINDEX_COMPILED`` is respected; the setting is
    restored afterwards (the command may run inside a longer-lived Python process)."""
    if not on or COMPILED_ENV in os.environ:
        yield
        return
    os.environ[COMPILED_ENV] = "large"
    try:
        yield
    finally:
        os.environ.pop(COMPILED_ENV, None)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so Python's flush at exit meets no closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by an object without a file descriptor
        pass


#: The environment variable naming the index the reading commands use when none is given.
INDEX_ENV = "NEWSINDEX_INDEX"
#: Commands that only read an index, and how many other positional words each takes. Those
#: that write (index, delete, optimize) always name their index: a forgotten variable must
#: not make them change another index than the one the user has in mind.
READING_COMMANDS = {
    "search": 1,
    "similar": 1,
    "get": 1,
    "stats": 0,
    "check": 0,
    "shell": 0,
    "duplicates": 0,
}


def _with_default_index(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """``args`` with ``$NEWSINDEX_INDEX`` put in as IDX when a reading command leaves it out.

    Which words are there decides, not what they look like: ``search IDX QUERY`` names its
    index, ``search QUERY`` (one word besides the options) takes the variable's, whatever
    folders exist. An index named on the command line always wins.
    """
    if not args or args[0] not in READING_COMMANDS or {"-h", "--help"} & set(args[1:]):
        return args
    options = _options_of(parser, args[0])
    positional = i = 0
    rest = args[1:]
    while i < len(rest):
        word = rest[i]
        if word == "--":
            positional += len(rest) - i - 1
            break
        name = word.split("=", 1)[0]
        if name in options:
            i += 1 if "=" in word else 1 + options[name]
            continue
        positional += 1
        i += 1
    if positional != READING_COMMANDS[args[0]]:
        return args
    default = os.environ.get(INDEX_ENV)
    if not default:
        what = "the index folder" + (" first" if positional else "")
        parser.exit(2, f"newsindex {args[0]}: error: name {what}, or set {INDEX_ENV} to it\n")
    return [args[0], default, *args[1:]]


def _query_after_dashdash(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> list[str]:
    """Let ``search IDX '-section:sport'`` name a query that starts with '-' (an exclusion).

    argparse reads any word starting with '-' as an option. In ``search``, a word after the
    index folder that is not one of the command's options is the query whatever it starts
    with, so it moves to the end behind a ``--``; options may still come before or after it.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "search" or "--" in args:
        return args
    options = _options_of(parser, "search")
    positional = 0
    i = 1
    while i < len(args):
        word = args[i]
        name = word.split("=", 1)[0]
        if name in options:
            i += 1 if "=" in word else 1 + options[name]
            continue
        if positional == 1:
            # Options that follow the query are read first; after "--" nothing is an option.
            return [*args[:i], *args[i + 1 :], "--", word] if word.startswith("-") else args
        positional += 1
        i += 1
    return args


def _options_of(parser: argparse.ArgumentParser, command: str) -> dict[str, int]:
    """The option strings of a subcommand, each with the number of values it takes."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():  # noqa: SLF001
        sub = getattr(action, "choices", None) or {}
        if command in sub:
            return {
                opt: (0 if a.nargs == 0 else 1)
                for a in sub[command]._actions  # noqa: SLF001
                for opt in a.option_strings
            }
    return {}


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser. One marked ``intermixed`` reads options anywhere among its
    positional words: argparse alone takes ``index IDX --format csv a.csv`` as an index
    folder with no paths, then rejects ``a.csv`` as an unrecognized argument."""

    intermixed = False
    _inside = False

    def parse_known_args(self, args=None, namespace=None):
        if not self.intermixed or self._inside:
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args itself, twice.
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


_INDEX_HELP = f"the index folder; may be left out when ${INDEX_ENV} names it"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsindex", description="Full-text search for news archives.")
    p.add_argument("--version", action="version", version=f"newsindex {__version__}")
    sub = p.add_subparsers(metavar="COMMAND", parser_class=_CommandParser)

    s = sub.add_parser(
        "index",
        help="index files (JSONL, JSON, CSV, YAML, HTML pages, WARC crawls, RSS/Atom feeds, "
        "raw scraped pages) into an index",
    )
    s.add_argument("index_dir", type=Path)
    s.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="files, folders, or - for stdin"
    )
    s.intermixed = True
    s.add_argument(
        "--format",
        default="auto",
        help="auto (by extension; JSONL for stdin), jsonl, json, csv, tsv, yaml, frontmatter, "
        "raw, txt, html, warc, feed or whoosh (see docs/input-formats.md)",
    )
    s.add_argument(
        "--delimiter", help="the field separator of CSV files, one character (default ',')"
    )
    s.add_argument(
        "--from-whoosh",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="import the stored fields of a Whoosh index folder (repeatable). Whoosh indexes "
        "are pickles, which can run code when opened: import only ones you trust",
    )
    s.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="follow symbolic links found in folders (by default they are reported, not read)",
    )
    s.add_argument("--map", type=Path, help="YAML file renaming input fields to article fields")
    s.add_argument("--on-error", choices=("fail", "skip"), default="fail")
    s.add_argument(
        "--max-record-bytes",
        type=_positive_int,
        metavar="BYTES",
        help="largest record (a JSONL line, a CSV row, a page, a file read whole) read; "
        "default 10,000,000",
    )
    s.add_argument("--batch-size", type=int, default=100_000, help="articles per commit")
    s.add_argument("--settings", type=Path, help="YAML settings for a new index")
    s.add_argument(
        "--no-store-body",
        dest="store_body",
        action="store_false",
        help="a new index that indexes article bodies without storing their text (settings' "
        "store_body: false); get and snippets then show titles only",
    )
    s.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="a sharded index of N shards, built in parallel on a Dask cluster (README)",
    )
    dask = s.add_mutually_exclusive_group()
    dask.add_argument(
        "--workers", type=int, metavar="N", help="build on a LocalCluster of N processes"
    )
    dask.add_argument("--scheduler", metavar="ADDRESS", help="build on this Dask scheduler")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="search an index")
    s.add_argument("index_dir", type=Path, help=_INDEX_HELP)
    s.add_argument("query")
    s.add_argument("--limit", type=int, default=10)
    s.add_argument("--offset", type=int, default=0)
    s.add_argument("--sort", choices=SORTS, default="relevance")
    s.add_argument(
        "--plain", action="store_true", help="treat the query as plain words (no operators)"
    )
    s.add_argument("--and", dest="default_and", action="store_true", help="all words must match")
    s.add_argument(
        "--recency",
        metavar="HALF_LIFE",
        help="favour fresh stories: scores halve every HALF_LIFE of age (30d, 2w, 6m, 1y)",
    )
    out = s.add_mutually_exclusive_group()
    out.add_argument(
        "--json",
        action="store_true",
        help="one JSON object: total, took_ms, offset, hits (and facets with --facets)",
    )
    out.add_argument("--jsonl", action="store_true", help="one JSON object per hit, per line")
    s.add_argument(
        "--no-snippets", dest="snippets", action="store_false", help="titles only, no passages"
    )
    s.add_argument(
        "--facets", action="store_true", help="counts of all matches by source, section, date"
    )
    s.add_argument("--explain", metavar="ID", help="how the article ID scores for the query")
    s.add_argument(
        "--scheduler", metavar="ADDRESS", help="search a sharded index on this Dask scheduler"
    )
    s.add_argument(
        "--collapse",
        action="store_true",
        help="one hit per group of near-duplicates (wire copies), listing the copies' ids",
    )
    s.add_argument(
        "--feedback",
        action="store_true",
        help="expand the query with terms of its best hits (RM3 pseudo-relevance feedback)",
    )
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("similar", help="stories related to one article (more like this)")
    s.add_argument("index_dir", type=Path, help=_INDEX_HELP)
    s.add_argument("article_id", metavar="ID")
    s.add_argument("--limit", type=int, default=10)
    s.add_argument("--offset", type=int, default=0)
    s.add_argument("--filter", metavar="QUERY", help="only stories matching this query")
    s.add_argument("--recency", metavar="HALF_LIFE", help="favour fresh stories (as search)")
    out = s.add_mutually_exclusive_group()
    out.add_argument(
        "--json", action="store_true", help="one JSON object, as search --json prints it"
    )
    out.add_argument("--jsonl", action="store_true", help="one JSON object per hit, per line")
    s.add_argument(
        "--no-snippets", dest="snippets", action="store_false", help="no passages in the JSON"
    )
    s.set_defaults(func=cmd_similar)

    s = sub.add_parser("duplicates", help="groups of near-duplicate stories, largest first")
    s.add_argument("index_dir", type=Path, help=_INDEX_HELP)
    s.add_argument(
        "--threshold",
        type=float,
        default=COLLAPSE_THRESHOLD,
        help="estimated Jaccard similarity of word shingles (0.5 to 1; default %(default)s)",
    )
    s.add_argument("--json", action="store_true", help="one JSON array of ids per group, per line")
    s.set_defaults(func=cmd_duplicates)

    s = sub.add_parser("get", help="print one stored article")
    s.add_argument("index_dir", type=Path, help=_INDEX_HELP)
    s.add_argument("article_id", metavar="ID")
    s.add_argument("--json", action="store_true", help="the article as one JSON object")
    s.set_defaults(func=cmd_get)

    s = sub.add_parser("delete", help="delete articles by id")
    s.add_argument("index_dir", type=Path)
    s.add_argument("article_ids", nargs="+", metavar="ID")
    s.set_defaults(func=cmd_delete)

    s = sub.add_parser("stats", help="show what an index holds")
    s.add_argument("index_dir", type=Path, help=_INDEX_HELP)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("check", help="verify an index's files (checksums and structure)")
    s.add_argument("index_dir", type=Path, help=_INDEX_HELP)
    s.set_defaults(func=cmd_check)

    s = sub.add_parser(
        "optimize", help="merge an index into one segment, dropping deleted articles"
    )
    s.add_argument("index_dir", type=Path)
    s.set_defaults(func=cmd_optimize)

    s = sub.add_parser(
        "bench",
        help="benchmarks beside whoosh, bm25s, tantivy and SQLite FTS5 (from a source checkout)",
        add_help=False,  # --help goes on to the harness, which lists its own options
        prefix_chars="\0",  # every word after `bench`, options too, belongs to the harness
    )
    s.add_argument("bench_args", nargs="*")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("demo", help="index the bundled sample and run example queries")
    s.add_argument(
        "--dir", type=Path, help="where to build the demo index (default: a temp folder)"
    )
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("shell", help="search an index interactively (snippets, facets, explain)")
    s.add_argument("index_dir", type=Path, help=_INDEX_HELP)
    s.add_argument(
        "--cache-mb",
        type=int,
        default=None,
        metavar="MIB",
        help="memory the session keeps of per-word arrays for later searches (default 256; "
        "0: none, repeated phrases slower)",
    )
    s.set_defaults(func=cmd_shell)

    s = sub.add_parser(
        "completion",
        help='print a completion script: eval "$(newsindex completion bash)" (or zsh)',
    )
    s.add_argument("shell", choices=("bash", "zsh"))
    s.set_defaults(func=cmd_completion)
    return p


# -- commands -----------------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    from . import IngestError, Problem, count_hint, iter_records, load_mapping

    if args.batch_size < 1:
        raise SystemExit("newsindex: --batch-size must be >= 1")
    if not args.paths and not args.from_whoosh:
        raise SystemExit("newsindex: index: give a PATH to read, or --from-whoosh DIR")
    # Checked before the index is created, so a mistyped path leaves no empty index behind.
    for path in [*args.paths, *args.from_whoosh]:
        if str(path) != "-" and not path.exists() and not path.is_symlink():
            raise IngestError(Problem(str(path), 0, None, "no such file or folder"))
    if args.shards is not None or args.workers is not None or args.scheduler is not None:
        return _index_sharded(args)
    mapping = load_mapping(args.map) if args.map else None
    ix = _open_or_create(args.index_dir, args.settings, args.store_body)
    # Files and folders by their own format, then the Whoosh folders named as such.
    sources = [(args.paths, args.format)] if args.paths else []
    sources += [(args.from_whoosh, "whoosh")] if args.from_whoosh else []
    follow = args.follow_symlinks
    size_limit = {"max_record_bytes": args.max_record_bytes} if args.max_record_bytes else {}
    problems: list = []  # errors skipped with --on-error skip, and what is skipped on purpose
    records = itertools.chain(
        *[
            iter_records(
                paths,
                format=fmt,
                mapping=mapping,
                on_error=args.on_error,
                follow_symlinks=follow,
                delimiter=args.delimiter,
                on_skip=problems.append,
                **size_limit,
            )
            for paths, fmt in sources
        ]
    )
    started = time.perf_counter()
    added = replaced = 0
    show = sys.stderr.isatty()
    progress = None
    if show:
        counts = [count_hint(p, format=f, follow_symlinks=follow) for p, f in sources]
        progress = _progress(None if None in counts else sum(counts))  # type: ignore[arg-type]
    writer = ix.writer()
    try:
        in_batch = 0
        for item in records:
            if isinstance(item, Problem):
                problems.append(item)
                continue
            writer.add(item.article)
            in_batch += 1
            if progress:
                progress.advance()
            if in_batch >= args.batch_size:
                if progress:
                    progress.phase("committing")
                writer.commit()
                if progress:
                    progress.phase("reading")
                added += writer.added
                replaced += writer.replaced
                writer = ix.writer()
                in_batch = 0
        if progress:
            progress.phase("committing")
        writer.commit()
        added += writer.added
        replaced += writer.replaced
    except BaseException as exc:
        writer.rollback()
        if progress:
            progress.stop()
        if isinstance(exc, IngestError):
            problem = _with_cli_hints(exc.problem)
            print(f"newsindex: {terminal_safe(str(problem), one_line=True)}", file=sys.stderr)
            print("newsindex: nothing from the failing batch was committed", file=sys.stderr)
            return 1
        raise
    if progress:
        progress.stop()
    elapsed = time.perf_counter() - started
    for problem in problems:
        shown = str(_with_cli_hints(problem))
        print(f"skipped: {terminal_safe(shown, one_line=True)}", file=sys.stderr)
    rate = added / elapsed if elapsed > 0 else 0.0
    print(
        f"indexed {_count(added, 'article')} ({added - replaced:,} new, {replaced:,} replaced), "
        f"skipped {len(problems):,}, in {elapsed:.2f}s ({rate:,.0f} docs/s); "
        f"the index holds {ix.doc_count:,}"
    )
    return 0


def _index_sharded(args: argparse.Namespace) -> int:
    """``index --shards/--workers/--scheduler``: a distributed build of a sharded index."""
    from . import ShardedIndex

    if args.from_whoosh or "-" in map(str, args.paths) or args.map or args.delimiter:
        raise SystemExit(
            "newsindex: index: a distributed build reads files and folders in their own "
            "format (no -, --from-whoosh, --map or --delimiter)"
        )
    if args.format != "auto" or args.on_error != "fail" or args.follow_symlinks:
        raise SystemExit("newsindex: index: a distributed build skips and reports bad records")
    try:
        ix = Index.open(args.index_dir)
    except IndexNotFoundError:
        settings = _new_settings(args.settings, args.store_body)
        ix = ShardedIndex.create(args.index_dir, settings, shards=args.shards or 2)
    if not isinstance(ix, ShardedIndex):
        raise SystemExit(f"newsindex: index: {args.index_dir} is not a sharded index")
    _check_store_body(ix, args.store_body)
    if args.shards is not None and args.shards != ix.shards:
        raise SystemExit(f"newsindex: index: {args.index_dir} has {ix.shards} shards")
    started = time.perf_counter()
    report = ix.build(args.paths, workers=args.workers, scheduler=args.scheduler)
    elapsed = time.perf_counter() - started
    for problem in report["problems"]:
        print(f"skipped: {terminal_safe(problem, one_line=True)}", file=sys.stderr)
    added, replaced = report["added"], report["replaced"]
    rate = added / elapsed if elapsed > 0 else 0.0
    print(
        f"indexed {_count(added, 'article')} ({added - replaced:,} new, {replaced:,} replaced), "
        f"skipped {report['problem_count']:,}, in {elapsed:.2f}s ({rate:,.0f} docs/s) on "
        f"{report['partitions']} partitions; the index holds {ix.doc_count:,} in {ix.shards} shards"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    ix = Index.open(args.index_dir, scheduler=args.scheduler)
    res = ix.search(
        args.query,
        limit=args.limit,
        offset=args.offset,
        sort=args.sort,
        syntax="plain" if args.plain else "query",
        default_operator="and" if args.default_and else "or",
        recency=args.recency,
        facets=args.facets,
        collapse=args.collapse,
        feedback=args.feedback or None,
    )
    for warning in res.warnings:
        print(f"newsindex: warning: {warning}", file=sys.stderr)
    if args.explain is not None:
        if args.explain not in ix:
            raise ArticleNotFoundError(f"--explain: no article with id {args.explain!r}")
        why = ix.explain(
            args.query,
            args.explain,
            syntax="plain" if args.plain else "query",
            default_operator="and" if args.default_and else "or",
            collapse=args.collapse,
            feedback=args.feedback or None,
        )
        print(terminal_safe(str(why)))
        return 0
    if args.json or args.jsonl:
        _print_json(res, snippets=args.snippets, lines=args.jsonl, collapsed=args.collapse)
    else:
        _print_results(args.query, res, snippets=args.snippets, collapsed=args.collapse)
        if res.facets is not None:
            _print_facets(res.facets)
    if res.expansion and not (args.json or args.jsonl):  # --json has it in the envelope
        terms = ", ".join(f"{term} {weight:.3f}" for term, weight in res.expansion)
        print(f"newsindex: expanded with: {terminal_safe(terms, one_line=True)}", file=sys.stderr)
    for hint in res.hints:  # on stderr: they are about the query, not part of the answer
        print(f"newsindex: {terminal_safe(hint, one_line=True)}", file=sys.stderr)
    if res.suggestion is not None and not args.json:  # --json has it in the envelope
        shown = terminal_safe(res.suggestion, one_line=True)
        print(f"newsindex: did you mean: {shown}?", file=sys.stderr)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    ix = Index.open(args.index_dir)
    res = ix.more_like_this(
        args.article_id,
        limit=args.limit,
        offset=args.offset,
        query=args.filter,
        recency=args.recency,
    )
    if args.json or args.jsonl:
        _print_json(res, snippets=args.snippets, lines=args.jsonl)
        return 0
    _print_results(f"like {args.article_id}", res)
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    ix = Index.open(args.index_dir)
    found = ix.duplicates(threshold=args.threshold)
    if args.json:
        for ids in found:
            print(_json_line({"size": len(ids), "ids": list(ids)}))
        return 0
    print(
        f"{_count(len(found), 'group')} of near-duplicates "
        f"(Jaccard >= {args.threshold:g}) holding {_count(sum(map(len, found)), 'article')}"
    )
    for ids in found:
        first = ix.get(ids[0])
        title = (first.title if first else None) or "(untitled)"
        print(terminal_safe(f"{len(ids):>4}  {title}", one_line=True))
        print(terminal_safe(f"      {', '.join(ids)}", one_line=True))
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    ix = Index.open(args.index_dir)
    art = ix.get(args.article_id)
    if art is None:
        raise ArticleNotFoundError(f"{args.index_dir}: no article with id {args.article_id!r}")
    if args.json:
        print(_json_line(art.to_dict()))
        return 0
    meta = (art.date.isoformat()[:10] if art.date else None, art.source, art.section, art.author)
    print(terminal_safe(art.title or "(untitled)", one_line=True))
    print(terminal_safe(" · ".join(x for x in meta if x), one_line=True))
    if art.url:
        print(terminal_safe(art.url, one_line=True))
    print(f"id: {terminal_safe(art.id, one_line=True)}\n")
    if ix.settings.store_body:
        print(terminal_safe(art.body))
    else:  # an empty body would read as an empty article
        print("(body not stored: this index was made with store_body: false)")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    ix = Index.open(args.index_dir)
    ids = list(dict.fromkeys(args.article_ids))  # an id named twice is deleted once
    missing = [i for i in ids if i not in ix]
    with ix.writer() as w:
        for article_id in ids:
            w.delete(article_id)
    print(
        f"deleted {_count(len(ids) - len(missing), 'article')}"
        + (f"; not found: {terminal_safe(', '.join(missing), one_line=True)}" if missing else "")
        + f"; the index holds {ix.doc_count:,}"
    )
    return 1 if missing else 0


def cmd_stats(args: argparse.Namespace) -> int:
    stats = Index.open(args.index_dir).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for key in (
        "path",
        "documents",
        "deleted",
        "segments",
        "terms",
        "postings",
        "date_min",
        "date_max",
    ):
        value = stats[key]
        print(f"{key:>10}: {'none' if value is None else value}")  # an empty index has no dates
    print(f"{'size':>10}: {stats['size_bytes'] / 1e6:.2f} MB")
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    from .shell import run  # rich and readline only load for the shell

    return run(args.index_dir, cache_mb=args.cache_mb)


def cmd_check(args: argparse.Namespace) -> int:
    from . import check_index

    if not args.index_dir.is_dir():
        raise IndexNotFoundError(f"{args.index_dir}: no such index folder")
    problems = check_index(args.index_dir)
    for problem in problems:
        print(f"problem: {terminal_safe(str(problem))}")
    if problems:
        print(f"{_count(len(problems), 'problem')} found in {args.index_dir}", file=sys.stderr)
        return 1
    print(f"{args.index_dir}: ok")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    ix = Index.open(args.index_dir)
    stats = ix.stats()
    before = stats["segments"]
    if before <= 1 and not stats["deleted"]:
        print(f"nothing to merge: {_count(before, 'segment')}, no deleted articles")
        return 0
    ix.optimize()
    after = ix.stats()["segments"]
    print(
        f"merged {_count(before, 'segment')} into {after}, dropping "
        f"{_count(stats['deleted'], 'deleted article')}; {_count(ix.doc_count, 'article')}"
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if (Path.cwd() / "benchmarks" / "__init__.py").exists():
        sys.path.insert(0, str(Path.cwd()))  # the checkout's harness, not an installed package
    try:
        import benchmarks
    except ImportError:
        print(
            "newsindex: bench needs the benchmarks/ folder of a source checkout: run it from "
            "the repository root (pip install -e '.[bench]' installs the peers)",
            file=sys.stderr,
        )
        return 1
    return benchmarks.main(args.bench_args)


def cmd_demo(args: argparse.Namespace) -> int:
    from . import Record, iter_records

    folder = args.dir or Path(tempfile.mkdtemp(prefix="newsindex-demo-")) / "index"
    ix = Index.create(folder, exist_ok=True)
    started = time.perf_counter()
    with ix.writer() as w:
        for record in iter_records([DATA / "seed-article.txt", DATA / "reuters-sample.jsonl.gz"]):
            assert isinstance(
                record, Record
            )  # on_error="fail" raises instead of yielding a Problem
            w.add(record.article)
    took = time.perf_counter() - started
    print(f"Indexed {_count(ix.doc_count, 'article')} into {folder} in {took:.2f}s")
    print("(the seed article + 1,000 stories of Reuters-21578, Distribution 1.0; research use)\n")
    for query in DEMO_QUERIES:
        print(f"$ newsindex search {folder} {_shell_quote(query)}")
        _print_results(query, ix.search(query, limit=3))
        print()
    print(f"Try your own: newsindex search {folder} 'your words here'")
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    print(_completion_script(_parser(), args.shell))
    return 0


# Written from the parser itself, so a new command or option completes without editing this.
# zsh runs the bash function through bashcompinit (part of zsh), which needs no other file.
_BASH_COMPLETION = """\
_newsindex() {
    local cur=${COMP_WORDS[COMP_CWORD]} opts
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "%(commands)s -h --help --version" -- "$cur"))
        return
    fi
    case ${COMP_WORDS[1]} in
%(cases)s
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _newsindex newsindex"""


def _completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    commands: dict[str, list[str]] = {}
    for action in parser._subparsers._group_actions if parser._subparsers else ():  # noqa: SLF001
        for name, sub in (getattr(action, "choices", None) or {}).items():
            commands[name] = [o for a in sub._actions for o in a.option_strings]  # noqa: SLF001
    cases = "\n".join(
        f'        {name}) opts="{" ".join(opts)}" ;;' for name, opts in commands.items()
    )
    script = _BASH_COMPLETION % {"commands": " ".join(commands), "cases": cases}
    if shell == "zsh":
        script = "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script


# -- helpers --------------------------------------------------------------------------------
# iter_records' messages name its Python parameters; the command names its own flags instead.
# Only a problem's message is rewritten, never its path, which is the user's own text.
_CLI_HINTS = (
    (re.compile(r"""mapping=\{(['"])(.*?)\1: None\}"""), r"--map FILE holding '\2: null'"),
    (re.compile(r"""mapping=\{(['"])(.*?)\1: (['"])(.*?)\3\}"""), r"--map FILE holding '\2: \4'"),
    (re.compile(r"\bformat='whoosh'"), "--from-whoosh DIR"),
    (re.compile(r"\bformat=(?![\w'])"), "--format"),
    (re.compile(r"\bfollow_symlinks=True\b"), "--follow-symlinks"),
    (re.compile(r"\bmax_record_bytes\b"), "--max-record-bytes"),
)


def cli_hints(message: str) -> str:
    """``message`` with the Python parameters it suggests named as ``newsindex index`` flags."""
    for pattern, flag in _CLI_HINTS:
        message = pattern.sub(flag, message)
    return message


def _with_cli_hints(problem: Problem) -> Problem:
    return dataclasses.replace(problem, message=cli_hints(problem.message))


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _open_or_create(folder: Path, settings: Path | None, store_body: bool = True) -> Index:
    try:
        ix = Index.open(folder)
    except IndexNotFoundError:
        return Index.create(folder, _new_settings(settings, store_body))
    if settings:
        print("newsindex: note: --settings only applies to a new index; ignored", file=sys.stderr)
    _check_store_body(ix, store_body)
    return ix


def _new_settings(settings: Path | None, store_body: bool) -> IndexSettings | Path | None:
    """``--settings`` with ``--no-store-body`` applied (it wins over the file's value)."""
    if store_body:
        return settings
    base = IndexSettings.from_yaml(settings) if settings else IndexSettings()
    return dataclasses.replace(base, store_body=False)


def _check_store_body(ix: Index, store_body: bool) -> None:
    # Refused rather than ignored: someone keeping bodies out of an index must not find them
    # stored because the index already existed.
    if not store_body and ix.settings.store_body:
        raise SystemExit(
            f"newsindex: index: {ix.path} stores article bodies; --no-store-body only applies "
            "to a new index (index into a new folder)"
        )


def _hit_record(hit: Hit, snippet: bool) -> dict[str, object]:
    """A hit as the ``--json``/``--jsonl`` record (documented in the README)."""
    art = hit.article
    return {
        "rank": hit.rank,
        "id": hit.id,
        "score": round(hit.score, 6),
        "title": art.title,
        "date": art.date.isoformat() if art.date else None,
        "source": art.source,
        "section": art.section,
        "author": art.author,
        "url": art.url,
        "snippet": str(hit.snippet().format("plain")) if snippet else None,
    }


def _print_json(res: Results, *, snippets: bool, lines: bool, collapsed: bool = False) -> None:
    """``--json``: one envelope (documented in the README); ``--jsonl``: one hit per line
    (``collapsed``: each hit with its near-duplicates' ids, ``"duplicates"``)."""
    records = [_hit_record(hit, snippets) for hit in res.hits]
    if collapsed:
        for record, hit in zip(records, res.hits):
            record["duplicates"] = list(hit.duplicates)
    if lines:
        for record in records:
            print(_json_line(record))
        return
    envelope: dict[str, object] = {
        "total": res.total,
        "took_ms": round(res.took_ms, 3),
        "offset": res.offset,
        "hits": records,
    }
    if res.facets is not None:
        envelope["facets"] = res.facets.to_dict()
    if res.hints:
        envelope["hints"] = res.hints
    if res.suggestion is not None:
        envelope["suggestion"] = res.suggestion
    if res.expansion:
        envelope["expansion"] = [[term, weight] for term, weight in res.expansion]
    print(_json_line(envelope))


#: Cells of the longest bar of the date histogram in text mode.
HISTOGRAM_WIDTH = 40


def _print_facets(facets: Facets) -> None:
    for name, counts in (
        ("sources", facets.sources),
        ("sections", facets.sections),
        ("authors", facets.authors),
    ):
        shown = ", ".join(f"{value} ({n:,})" for value, n in counts[:10])
        more = f", ... {len(counts) - 10:,} more" if len(counts) > 10 else ""
        print(terminal_safe(f"{name}: {shown or 'none'}{more}", one_line=True))
    chart = facets.histogram(width=HISTOGRAM_WIDTH, rows=len(facets.dates) or 1)
    print(f"dates by {facets.date_bucket}:" + ("" if chart else " none"))
    wide = max((len(f"{n:,}") for _, n, _ in chart), default=0)
    for bucket, n, bar in chart:
        print(f"  {bucket}  {n:>{wide},}  {bar}")
    if facets.undated:
        print(f"  undated: {facets.undated:,}")


def _print_results(
    query: str, res: Results, *, snippets: bool = False, collapsed: bool = False
) -> None:
    # Stored text is printed through terminal_safe: a title is the indexed files' word, and
    # an escape sequence in it would otherwise reach the terminal.
    matching = _count(res.total, "matching story" if collapsed else "matching article")
    if collapsed:
        matching = matching.replace("storys", "stories") + " (near-duplicates collapsed)"
    print(f"{matching} for {terminal_safe(repr(query))} ({res.took_ms:.1f} ms)")
    for hit in res.hits:
        art = hit.article
        day = art.date.isoformat()[:10] if art.date else "----------"
        where = " / ".join(x for x in (art.source, art.section) if x)
        line = f"{hit.rank:>3}. {hit.score:7.3f}  {day}  {art.title or '(untitled)'}"
        print(terminal_safe(line + (f"  [{where}]" if where else ""), one_line=True))
        if snippets:
            found = hit.snippet()
            passage = str(found.format("plain"))
            # An index without stored bodies gives the title's snippet: shown once, above.
            if passage and found.text != art.title:
                print("       " + terminal_safe(passage, one_line=True))
        if hit.duplicates:
            copies = ", ".join(hit.duplicates)
            print(
                terminal_safe(
                    f"       + {_count(len(hit.duplicates), 'near-duplicate')}: {copies}",
                    one_line=True,
                )
            )


# JSON escapes C0 controls but not DEL, C1 controls or bidi overrides; escaping them too keeps
# the line exact JSON (the same values once parsed) and safe to print.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_line(record: dict[str, object]) -> str:
    text = json.dumps(record, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _Progress(Protocol):
    def advance(self) -> None: ...
    def phase(self, text: str) -> None: ...
    def stop(self) -> None: ...


def _progress(total: int | None) -> _Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class _Bar:
        def __init__(self) -> None:
            self._p = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=True,
                console=Console(stderr=True),
            )
            # count_hint estimates (lines, a sample scaled up): "of ~N" says so.
            self._of = f" of ~{total:,}" if total is not None else ""
            self._task = self._p.add_task("reading", total=total, rate="", count=f"0{self._of}")
            self._start = time.perf_counter()
            self._n = 0
            self._p.start()

        def advance(self) -> None:
            self._n += 1
            if self._n % 256 == 0:
                rate = self._n / max(time.perf_counter() - self._start, 1e-9)
                self._p.update(
                    self._task,
                    advance=256,
                    rate=f"{rate:,.0f} docs/s",
                    count=f"{self._n:,}{self._of}",
                )

        def phase(self, text: str) -> None:
            """Name the current step: the index is built at commit, after reading."""
            self._p.update(self._task, description=text)

        def stop(self) -> None:
            self._p.stop()

    return _Bar()


def _count(n: int, noun: str) -> str:
    """``1 article``, ``2 articles``, ``1,001 articles``: counts in messages read as English."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


#: Commands that answer one query and end (see :func:`_one_shot`); `similar` and the others
#: never take a kernel. A collapsed search is not one query: its process first finds every
#: group of near-duplicates in the index, where the kernel that compares them pays (on an
#: index too small for it to pay, collapse.py keeps to numpy and numba stays unloaded).
_ONE_SHOT = (cmd_search,)


if __name__ == "__main__":  # (last: ``python -m newsindex.cli`` runs main() right here)
    sys.exit(main())
