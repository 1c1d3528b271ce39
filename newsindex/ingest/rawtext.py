"""Scraped news pages as plain text (the format of ``seeds/000_*.txt``) -> :class:`Article`.

The layout, top to bottom, every part but the headline and the body optional::

     date 2016-11-09 WORLD                 header: ISO date and section
    4 MIN READ                             reading time (skipped)
    Battle for strategic district ...      headline
    Syrian regime forces and rebels ...    standfirst           -> extra["standfirst"]
    Battle for strategic district ...      image caption repeating the headline (skipped)
    Russian-backed ... / TRT World and Agencies   photo caption -> extra["caption"]
    By Staff Reporter                      byline               -> author
    November 9, 2016                       dateline             -> date, when there is no header
    <blank line>
    body paragraphs, separated by blank lines
    SOURCE:TRTWorld and agencies           -> source "TRT World" (raw text in extra["source_raw"])
    Explore / unrelated headlines / By X / Sneak a peek at ... / Contact us   (site boilerplate)

The body ends at the ``SOURCE:`` line or at the first boilerplate marker (``Explore``,
``Contact us``, ``Sneak a peek at ...``), whichever comes first, so the site's lists of unrelated
headlines never enter the index. A page has no id, so one is derived from what identifies the
story (source, day, headline): re-ingesting a folder replaces articles instead of duplicating them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import re
from collections.abc import Iterator

from ..article import Article
from ..errors import ArticleError
from ..schema import normalize_keyword
from .dates import DateParseError, parse_news_date
from .decode import read_text_file
from .records import IngestError, Problem, Record

__all__ = ["normalize_source", "parse_raw_page", "raw_id", "read_raw"]

_HEADER = re.compile(r"date\s+(\d{4}-\d{2}-\d{2}\S*)(?:\s+(.*))?", re.IGNORECASE)
_READ_TIME = re.compile(r"\d+\s*(?:min|mins|minute|minutes)\.?\s+read", re.IGNORECASE)
_BYLINE = re.compile(r"(?:By|BY)\s+([A-Z\u00c0-\u024f].*)")
_SOURCE = re.compile(r"source\s*:\s*(.*)", re.IGNORECASE)
# "... rebels are not backing down. / TRT World and Agencies": a photo credit after a slash.
_PHOTO_CREDIT = re.compile(r"\s/\s*[A-Z][\w .&'-]{1,60}$")
_END_LINES = frozenset(
    [
        "explore",
        "contact us",
        "related",
        "related news",
        "related articles",
        "more stories",
        "you may also like",
        "most read",
        "most popular",
        "read more",
        "recommended",
    ]
)
_END_PREFIXES = ("sneak a peek at", "more from trt", "subscribe to our newsletter")
_AGENCIES = re.compile(r"\s*(?:,|\band\b|&|\+)?\s*(?:other\s+|news\s+)?agencies\s*$", re.IGNORECASE)
_SOURCE_SPLIT = re.compile(r"\s*(?:,|/|;|&|\band\b)\s*", re.IGNORECASE)
_SMALL_WORDS = frozenset(["and", "of", "the", "in", "on", "for", "to", "&"])

# Canonical names of the sources that appear in the seed pages and of the big wire services;
# anything else is kept as written (after "and agencies" is dropped).
_CANONICAL_SOURCES = {
    "TRT World": ("TRTWorld", "TRT World", "TRT"),
    "Reuters": ("Reuters", "Reuter", "Thomson Reuters"),
    "AP": ("AP", "Associated Press", "The Associated Press"),
    "AFP": ("AFP", "Agence France-Presse", "Agence France Presse"),
    "Anadolu Agency": ("AA", "Anadolu", "Anadolu Agency"),
    "dpa": ("dpa", "Deutsche Presse-Agentur"),
    "EFE": ("EFE",),
    "Xinhua": ("Xinhua",),
    "BBC": ("BBC", "BBC News"),
    "Al Jazeera": ("Al Jazeera", "AlJazeera"),
}
_SOURCE_TABLE = {
    normalize_keyword(alias): name
    for name, aliases in _CANONICAL_SOURCES.items()
    for alias in aliases
}


def normalize_source(raw: str) -> str | None:
    """The canonical name of a ``SOURCE:`` value.

    ``"TRTWorld and agencies"`` -> ``"TRT World"``, ``"Associated Press"`` -> ``"AP"``,
    ``"Reuters and AFP"`` -> ``"Reuters"`` (the first of several known agencies), an unknown
    ``"Daily Sabah and agencies"`` -> ``"Daily Sabah"``, ``"agencies"`` -> ``"Agencies"``.

    Example:
        >>> normalize_source("TRTWorld and agencies")
        'TRT World'
    """
    text = " ".join(raw.split()).strip(" .,;:-")
    if not text:
        return None
    text = _AGENCIES.sub("", text).strip(" .,;:-") or "Agencies"
    known = _SOURCE_TABLE.get(normalize_keyword(text))
    if known:
        return known
    first = _SOURCE_SPLIT.split(text, maxsplit=1)[0]
    return _SOURCE_TABLE.get(normalize_keyword(first), text)


def raw_id(source: str | None, day: _dt.date | None, title: str) -> str:
    """The stable id of a page: ``raw-`` + 16 hex digits of sha1(source|day|headline), normalized.

    Case, spacing and punctuation of the source, and case and spacing of the headline, do not
    change the id, so the same story scraped twice gets the same id.
    """
    day_text = day.isoformat() if day is not None else ""
    key = f"{normalize_keyword(source or '')}|{day_text}|{' '.join(title.lower().split())}"
    return "raw-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def parse_raw_page(text: str, *, path: str = "<text>") -> Article:
    """Parse one scraped page (see the module docstring for the layout).

    Args:
        text: the page, already decoded; any line endings.
        path: the file name used in error messages.

    Raises:
        IngestError: no headline, no body text, or an unreadable header date; the problem names
            ``path``, the line and the field.
    """
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:].strip()
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the final newline ends the last line; it does not start another
    n = len(lines)
    i = _skip_blank(lines, 0)
    date = section = None
    header = _HEADER.fullmatch(lines[i]) if i < n else None
    if header:
        date = _parse_date(header.group(1), path, i + 1)
        section = _section_name(header.group(2) or "")
        i += 1
    while i < n and (not lines[i] or _READ_TIME.fullmatch(lines[i])):
        i += 1
    if i >= n or _is_end_marker(lines[i]):
        raise IngestError(Problem(path, min(i, n - 1) + 1, "title", "no headline found"))
    title = lines[i]
    if _BYLINE.fullmatch(title) or _is_date_line(title) or _is_source_line(title):
        raise IngestError(
            Problem(path, i + 1, "title", f"no headline found: line {i + 1} is {title!r}")
        )
    pre = _Preamble(title)
    i = pre.consume(lines, i + 1)
    body, end = _body(lines, i)
    if not body and pre.standfirst:
        # The only text is what looked like a standfirst (no blank line, or nothing after the
        # byline): it is the body.
        body, pre.standfirst = "\n".join(pre.standfirst), []
    if not body:
        where = min(_skip_blank(lines, i), n - 1) + 1
        raise IngestError(
            Problem(path, where, "body", f"no body text after the headline {title!r}")
        )
    source_raw = _source_line(lines, end)
    source = normalize_source(source_raw) if source_raw else None
    date = date or pre.dateline
    extra: dict[str, str] = {}
    if pre.standfirst:
        extra["standfirst"] = " ".join(pre.standfirst)
    if pre.caption:
        extra["caption"] = pre.caption
    if source_raw and source_raw != source:
        extra["source_raw"] = source_raw
    day = date.date() if isinstance(date, _dt.datetime) else date
    try:
        return Article(
            id=raw_id(source, day, title),
            title=title,
            body=body,
            date=date,
            source=source,
            section=section,
            author=pre.author,
            extra=extra,
        )
    except ArticleError as exc:
        raise IngestError(Problem(path, 1, exc.field, str(exc))) from None


def read_raw(path: str, *, max_record_bytes: int) -> Iterator[Record | Problem]:
    """Read one raw page file: yields one :class:`Record` (line 1) or one :class:`Problem`."""
    text = read_text_file(path, max_record_bytes)
    if isinstance(text, Problem):
        yield text
        return
    try:
        yield Record(parse_raw_page(text, path=path), path, 1)
    except IngestError as exc:
        yield exc.problem


class _Preamble:
    """The lines between the headline and the body: standfirst, captions, byline, dateline."""

    def __init__(self, title: str):
        self.title_key = " ".join(title.lower().split())
        self.standfirst: list[str] = []
        self.caption: str | None = None
        self.author: str | None = None
        self.dateline: _dt.date | None = None
        self.seen_marker = False  # a byline or dateline: after it, plain text is body

    def consume(self, lines: list[str], i: int) -> int:
        """Classify lines from ``i``; return the index where the body (or its blanks) begins."""
        n = len(lines)
        while i < n:
            if not lines[i]:
                # A blank line ends the preamble, unless a caption, byline or dateline follows
                # (some scrapes put a blank line between every line of the page).
                k = _skip_blank(lines, i)
                if k < n and (self._kind(lines[k]) != "text" or self._marker_ahead(lines, k)):
                    i = k
                    continue
                return i
            kind = self._kind(lines[i])
            if kind == "text":
                if self.seen_marker or _is_end_marker(lines[i]) or _SOURCE.fullmatch(lines[i]):
                    return i
                self.standfirst.append(lines[i])
            elif kind == "byline":
                self.author = lines[i].split(None, 1)[1].strip()
                self.seen_marker = True
            elif kind == "dateline":
                self.dateline = parse_news_date(lines[i])
                self.seen_marker = True
            elif kind == "caption":
                self.caption = lines[i]
            i += 1
        return i

    def _marker_ahead(self, lines: list[str], i: int, lookahead: int = 5) -> bool:
        """Whether a byline or dateline comes soon, after at most one plain-text line (a
        standfirst); more text before it means the body has begun and the byline closes it."""
        if self.seen_marker:
            return False
        texts = 0
        ahead = (line for line in lines[i : i + 2 * lookahead] if line)
        for line in itertools.islice(ahead, lookahead):
            kind = self._kind(line)
            if kind in ("byline", "dateline"):
                return True
            texts += kind == "text"
            if texts > 1:
                return False
        return False

    def _kind(self, line: str) -> str:
        if " ".join(line.lower().split()) == self.title_key or _READ_TIME.fullmatch(line):
            return "skip"
        if _BYLINE.fullmatch(line) and len(line.split()) <= 8 and not line.endswith("."):
            return "byline"
        if _is_date_line(line):
            return "dateline"
        if _PHOTO_CREDIT.search(line) and not self.seen_marker:
            return "caption"
        return "text"


def _body(lines: list[str], start: int) -> tuple[str, int]:
    """The body paragraphs from ``start`` to the SOURCE line or boilerplate, and where it ended."""
    end = start
    while end < len(lines) and not _is_source_line(lines[end]) and not _is_end_marker(lines[end]):
        end += 1
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines[start:end]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs), end


def _source_line(lines: list[str], end: int) -> str | None:
    if end < len(lines) and _is_source_line(lines[end]):
        value = _SOURCE.fullmatch(lines[end])
        return value.group(1).strip() if value else None
    return None


def _is_source_line(line: str) -> bool:
    match = _SOURCE.fullmatch(line)
    if not match:
        return False
    # "SOURCE:" in capitals always counts; "Source: officials said ..." in a paragraph does not.
    return line[:6] == "SOURCE" or len(match.group(1).split()) <= 5


def _is_end_marker(line: str) -> bool:
    lower = line.lower()
    return lower in _END_LINES or lower.startswith(_END_PREFIXES)


def _is_date_line(line: str) -> bool:
    if len(line) > 40 or not any(ch.isdigit() for ch in line):
        return False
    try:
        parse_news_date(line)
    except DateParseError:
        return False
    return True


def _parse_date(text: str, path: str, line: int) -> _dt.date:
    try:
        return parse_news_date(text)
    except DateParseError as exc:
        raise IngestError(Problem(path, line, "date", str(exc))) from None


def _section_name(raw: str) -> str | None:
    """``WORLD`` -> ``World``, ``MIDDLE EAST`` -> ``Middle East``, ``SCI-TECH`` -> ``Sci-Tech``."""
    words = raw.split()
    if not words:
        return None
    if raw != raw.upper():  # already mixed case: the site chose it
        return " ".join(words)
    out = []
    for index, word in enumerate(words):
        lower = word.lower()
        if index and lower in _SMALL_WORDS:
            out.append(lower)
        elif len(word) <= 2 and word.isalpha():  # US, UK, EU stay acronyms
            out.append(word)
        else:
            out.append("-".join(part.capitalize() for part in word.split("-")))
    return " ".join(out)


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i]:
        i += 1
    return i
