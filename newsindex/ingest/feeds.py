"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds saved as files, read with feedparser: one article per entry.

Fields: ``title``; ``body`` from the entry's content, else its summary (HTML stripped to text,
one paragraph per block); ``date`` from its published date, else its updated date (UTC);
``source`` is the feed's title; ``section`` the entry's first category (all of them in
``extra["categories"]`` when there are several); ``author``; ``url`` the entry's link. The id is
the entry's id (``<guid>``, Atom ``<id>``), else its link, else derived from source, day and
title; an id over 512 characters is replaced by a hash of it.

A feed is parsed whole, so ``max_record_bytes`` applies to the file. Files are recognised by
extension (``.rss``, ``.atom``) or, for ``.xml``, by their root element (``<rss>``, ``<feed>``,
``<rdf:RDF>``): :func:`is_feed`. feedparser is imported on the first feed read.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from typing import Any

from ..article import MAX_ID_LENGTH, Article
from ..errors import ArticleError
from .decode import decode, read_file_bytes
from .html import page_id
from .records import Problem, Record

__all__ = ["html_to_text", "is_feed", "read_feed"]

_ROOT = re.compile(rb"<(?![?!])([A-Za-z_][\w:.-]*)")
_FEED_ROOTS = (b"rss", b"feed", b"rdf:rdf")
_ENTRY_START = re.compile(r"<(?:item|entry)\b", re.I)


def is_feed(head: bytes) -> bool:
    """Whether the first bytes of an XML file open an RSS, RDF or Atom feed."""
    text = re.sub(rb"<!--.*?-->", b"", head, flags=re.S)
    root = _ROOT.search(text)
    return root is not None and root.group(1).lower() in _FEED_ROOTS


def read_feed(
    path: str, *, mapping: Mapping[str, str | None] | None = None, max_record_bytes: int
) -> Iterator[Record | Problem]:
    """Yield a :class:`Record` per entry, a :class:`Problem` per bad entry or a bad file."""
    del mapping  # entries have feedparser's fixed field names, not the file's
    data = read_file_bytes(
        path, max_record_bytes, hint="; a feed is read whole (raise max_record_bytes to read it)"
    )
    if isinstance(data, Problem):
        yield data
        return
    yield from read_feed_bytes(data, path)


def read_feed_bytes(data: bytes, path: str) -> Iterator[Record | Problem]:
    """The entries of a feed held in memory (``path`` names it in records and problems)."""
    import feedparser  # type: ignore[import-untyped]  # lazily: only when a feed is read

    # feedparser fetches a URL, or reads a file, when handed a string; bytes are parsed as is.
    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=False)
    entries = parsed.entries
    if not entries:
        if parsed.bozo or not parsed.version:
            why = _first_line(parsed.get("bozo_exception")) or "no RSS or Atom root element"
            yield Problem(path, 0, None, f"not a readable RSS or Atom feed: {why}")
        return
    lines = _entry_lines(data)
    source = _text(parsed.feed.get("title"), parsed.feed.get("title_detail"))
    for number, entry in enumerate(entries):
        line = lines[number] if number < len(lines) else 1
        try:
            yield Record(_article(entry, source), path, line)
        except ArticleError as exc:
            yield Problem(path, line, exc.field, f"entry {number + 1}: {exc}")


def _article(entry: Any, source: str | None) -> Article:
    title = _text(entry.get("title"), entry.get("title_detail")) or ""
    content = entry.get("content") or []
    if content and content[0].get("value"):
        body = _text(content[0]["value"], content[0], paragraphs=True)
    else:
        body = _text(entry.get("summary"), entry.get("summary_detail"), paragraphs=True)
    if not title and not body:
        raise ArticleError("the entry has neither a title nor any text", field="body")
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    # feedparser gives the time as a UTC struct_time, whatever zone the feed wrote.
    date = _dt.datetime(*stamp[:6]).replace(tzinfo=_dt.timezone.utc) if stamp else None
    terms = [" ".join(t.get("term", "").split()) for t in entry.get("tags") or []]
    categories = [t for t in terms if t]
    link = (entry.get("link") or "").strip() or None
    extra: dict[str, Any] = {}
    if len(categories) > 1:
        extra["categories"] = categories
    day = date.date() if date else None
    entry_id = (entry.get("id") or "").strip() or link
    if not entry_id or len(entry_id) > MAX_ID_LENGTH or not entry_id.isprintable():
        entry_id = page_id(entry_id, source, day, title)
    if body and body.split("\n\n", 1)[0] == title:
        body = body.split("\n\n", 1)[1] if "\n\n" in body else body
    return Article(
        id=entry_id,
        title=title or (body or "").split("\n", 1)[0][:200],
        body=body or "",
        date=date,
        source=source,
        section=categories[0] if categories else None,
        author=" ".join((entry.get("author") or "").split()) or None,
        url=link,
        extra=extra,
    )


def _text(value: str | None, detail: Any, *, paragraphs: bool = False) -> str | None:
    if not value:
        return None
    kind = (detail or {}).get("type", "text/html") if isinstance(detail, Mapping) else "text/html"
    text = html_to_text(value) if "html" in kind else value
    if not paragraphs:
        text = " ".join(text.split())
    return text.strip() or None


def _entry_lines(data: bytes) -> list[int]:
    """The 1-based line of each ``<item>``/``<entry>`` start tag, in order."""
    text = decode(data)
    out = []
    line, pos = 1, 0
    for match in _ENTRY_START.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        out.append(line)
    return out


def _first_line(exc: object) -> str:
    lines = str(exc or "").strip().splitlines()
    return lines[0] if lines else ""


_BLOCKS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article figure "
    "figcaption header footer hr dd dt".split()
)
_HIDDEN = frozenset(["script", "style", "noscript", "template"])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, one paragraph per block element
    (separated by a blank line), spaces inside a paragraph collapsed.

    Example:
        >>> html_to_text("<p>Oil <b>rose</b> &amp; fell.</p><p>Second</p>")
        'Oil rose & fell.\\n\\nSecond'
    """
    parser = _Text()
    parser.feed(markup)
    parser.close()
    paragraphs = (" ".join(p.split()) for p in "".join(parser.parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)
