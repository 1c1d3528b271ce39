"""WARC and WARC.gz web crawls (Common Crawl's CC-NEWS, the Internet Archive, newsroom crawlers).

Every HTML response record becomes an article as a saved page does (:mod:`.html`): its target
URI is the url (unless the page names a canonical one) and its capture date (``WARC-Date``) the
date when the page states none, kept in ``extra["warc_date"]`` either way. Everything else is
counted and skipped on purpose, then reported once per file through ``on_skip`` as a summary:
request, metadata and warcinfo records, revisits (a crawl's note that a page did not change),
responses that are not HTML (images, scripts, PDFs) or not successful (redirects, 404s), a
second response for a URL already read, and pages with no article text (section fronts, tag
pages). Only a record that yields an invalid article, or a file that is not a WARC or is cut
short, is a :class:`Problem`.

The file is streamed with warcio: one record is in memory at a time, and at most
``max_record_bytes`` of it (a larger payload is counted and skipped), so a multi-GB crawl reads
in bounded memory. What grows is the set of URLs seen, 8 bytes of hash each. A record's
:attr:`Record.line` is its ordinal in the file (1 for the first WARC record).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from ..errors import ArticleError
from .dates import DateParseError, parse_news_date
from .decode import file_problem
from .html import NoArticle, html_article
from .records import Problem, Record

__all__ = ["read_warc"]

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_MAX_SHOWN_TYPES = 3


def read_warc(
    path: str,
    *,
    mapping: Mapping[str, str | None] | None = None,
    max_record_bytes: int,
    stream: IO[bytes] | None = None,
    on_skip: Callable[[Problem], None] | None = None,
) -> Iterator[Record | Problem]:
    """Yield a :class:`Record` per HTML response record (see the module docstring).

    Args:
        path: the file, or the name to report when ``stream`` is given.
        stream: read this instead of opening ``path`` (standard input).
        on_skip: called once, at the end, with a :class:`Problem` (line 0) summing up the
            records skipped on purpose, if any were.
    """
    del mapping  # WARC records have no input field names to map
    # Imported here, not at the top: only a WARC being read needs warcio.
    from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
    from warcio.exceptions import ArchiveLoadFailed  # type: ignore[import-untyped]

    if stream is None:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            yield file_problem(path, exc)
            return
        owned = True
    else:
        owned = False
    head = stream.peek(8)[:8] if hasattr(stream, "peek") else b""
    if head and not head.startswith((b"\x1f\x8b", b"WARC/", b"filedesc:")):
        # warcio would go through the whole file line by line, warning on each.
        if owned:
            stream.close()
        yield Problem(path, 0, None, "not a WARC file (it does not start with 'WARC/')")
        return
    archive = None
    skipped: Counter[str] = Counter()
    other_types: Counter[str] = Counter()
    seen: set[int] = set()
    number = 0
    previous = None
    try:
        archive = ArchiveIterator(stream, arc2warc=True)
        # warcio writes a warning of its own to stderr for each record followed by stray bytes;
        # it is counted instead (err_count) and reported with the file's summary below.
        archive.INC_RECORD = ""
        records = iter(archive)
        while True:
            try:
                rec = next(records)
            except StopIteration:
                rec = None
            if previous is not None and _cut_short(previous):
                yield _truncated(path, number)
                break
            if rec is None:
                break
            previous = rec
            number += 1
            kind = rec.rec_type
            if kind == "revisit":
                skipped["revisits"] += 1
                continue
            if kind != "response":
                skipped[f"{kind} records"] += 1
                continue
            url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            ctype = _content_type(rec)
            status = rec.http_headers.get_statuscode() if rec.http_headers else ""
            if not status.startswith("2"):
                skipped[f"responses with HTTP status {status or 'unknown'}"] += 1
                continue
            if not ctype.startswith(_HTML_TYPES):
                skipped["responses that are not HTML"] += 1
                other_types[ctype or "no content type"] += 1
                continue
            key = int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest(), "big")
            if key in seen:
                skipped["repeated URLs"] += 1
                continue
            seen.add(key)
            payload = rec.content_stream().read(max_record_bytes + 1)
            if len(payload) > max_record_bytes:
                skipped[f"pages over max_record_bytes ({max_record_bytes:,})"] += 1
                continue
            if _cut_short(rec):  # half a page would be indexed as if it were whole
                yield _truncated(path, number)
                break
            captured = rec.rec_headers.get_header("WARC-Date") or ""
            try:
                when = parse_news_date(captured) if captured else None
            except DateParseError:
                when = None
            extra = {"warc_date": captured} if captured else {}
            try:
                article = html_article(payload, url=url or None, fallback_date=when, extra=extra)
            except NoArticle:
                skipped["pages without article text"] += 1
                continue
            except ArticleError as exc:
                yield Problem(path, number, exc.field, f"{url}: {exc}")
                continue
            yield Record(article, path, number)
    except ArchiveLoadFailed as exc:
        what = "not a WARC file" if number == 0 else f"cannot read past record {number}"
        yield Problem(path, number + 1, None, f"{what}: {_first_line(exc)}; stopped reading")
    except (OSError, EOFError, ValueError) as exc:  # truncated gzip, I/O error
        yield Problem(
            path,
            number + 1,
            None,
            f"cannot read past record {number}: {_first_line(exc)}; stopped reading this file",
        )
    finally:
        if owned:
            stream.close()
    if on_skip is None:
        return
    if skipped:
        on_skip(Problem(path, 0, None, _summary(number, skipped, other_types)))
    stray = getattr(archive, "err_count", 0)
    if stray:
        on_skip(
            Problem(
                path,
                0,
                None,
                f"{stray:,} WARC record(s) followed by stray bytes instead of a blank line (a "
                "wrong Content-Length?); the records after them were read on",
            )
        )


def _cut_short(rec: Any) -> bool:
    """Whether the file ended before the record's declared length (once it has been read to
    its end, as the iterator does before moving on): warcio then just stops."""
    return getattr(rec.raw_stream, "limit", 0) > 0


def _truncated(path: str, number: int) -> Problem:
    return Problem(
        path,
        number,
        None,
        f"the file ends inside WARC record {number} (cut short); stopped reading this file",
    )


def _content_type(rec: Any) -> str:
    value = rec.http_headers.get_header("Content-Type") if rec.http_headers else None
    return (value or "").split(";", 1)[0].strip().lower()


def _summary(total: int, skipped: Counter[str], other_types: Counter[str]) -> str:
    parts = []
    for what, count in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        text = f"{count:,} {what}"
        if what == "responses that are not HTML":
            shown = ", ".join(t for t, _ in other_types.most_common(_MAX_SHOWN_TYPES))
            more = ", ..." if len(other_types) > _MAX_SHOWN_TYPES else ""
            text += f" ({shown}{more})"
        parts.append(text)
    return f"skipped {sum(skipped.values()):,} of {total:,} WARC records on purpose: " + "; ".join(
        parts
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
