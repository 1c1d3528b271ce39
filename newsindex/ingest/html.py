"""Saved news web pages (``.html``/``.htm``) -> :class:`Article`, with trafilatura and htmldate.

trafilatura finds the article in the page and drops the boilerplate around it (menus, "related
stories", cookie notices, comments); its metadata gives the title, author, site name (the
``source``), categories (the first is the ``section``, all of them ``extra["categories"]``), canonical url and, through htmldate, the original
publication date. The page's language (``<html lang>`` or a ``content-language`` meta) goes to
``extra["language"]``, its description to ``extra["description"]`` and its tags to
``extra["tags"]``.

A page has no id field, so one is derived from its url when it has one (the same page saved twice
replaces itself), else from what identifies the story (source, day, headline), as for raw pages.
trafilatura, htmldate and lxml are imported on the first page read, never by ``import
newsindex``: a search process does not pay for them.

WARC records are turned into articles by :func:`html_article` too (see :mod:`.warcfile`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..article import Article
from ..errors import ArticleError, NewsIndexError
from ..schema import normalize_keyword
from .dates import DateParseError, parse_news_date
from .decode import decode, read_file_bytes
from .records import Problem, Record

__all__ = ["html_article", "page_id", "read_html"]

# Where the language is declared, in the order trusted: the root element, then a meta.
_LANG = re.compile(
    rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)", re.I
)
_META_LANG = re.compile(
    rb"<meta\b[^>]*?http-equiv\s*=\s*[\"']?content-language[\"']?[^>]*?content\s*=\s*[\"']?"
    rb"([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)",
    re.I,
)
_LANG_SCAN = 16 << 10  # the head of a page, where both live


class NoArticle(NewsIndexError, ValueError):
    """The page holds no article text trafilatura could find (an index page, an empty page)."""


def page_id(url: str | None, source: str | None, day: _dt.date | None, title: str) -> str:
    """``page-`` + 16 hex digits of sha1 of the url (scheme, ``www.``, fragment and a trailing
    slash ignored), or of source|day|headline when the page has no url."""
    if url:
        key = re.sub(r"^[a-z][a-z0-9+.-]*://(?:www\.)?", "", url.strip(), flags=re.I)
        key = "url|" + key.split("#", 1)[0].rstrip("/")
    else:
        day_text = day.isoformat() if day is not None else ""
        key = f"{normalize_keyword(source or '')}|{day_text}|{' '.join(title.lower().split())}"
    return "page-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def html_article(
    data: bytes,
    *,
    url: str | None = None,
    fallback_date: _dt.date | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Article:
    """The article in one HTML page.

    Args:
        data: the page as bytes (its declared or detected encoding is honoured).
        url: where the page came from (a WARC record's target URI); the page's own canonical
            url wins when it declares one.
        fallback_date: the date when the page states none (a WARC capture date).
        extra: more ``extra`` fields (e.g. the capture date).

    Raises:
        NoArticle: no article text found.
        ArticleError: the article is invalid (``.field`` says which field).
    """
    import trafilatura  # lazily: heavy, and only needed when pages are read

    extracted = trafilatura.bare_extraction(
        _as_text(data),
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params=_date_params(),
    )
    # As plain data: a Document in trafilatura 2, already a dict in 1.x, None when nothing.
    as_dict = getattr(extracted, "as_dict", None)
    doc: dict[str, Any] = as_dict() if as_dict else extracted if isinstance(extracted, dict) else {}
    text = (doc.get("text") or "").strip()
    if not text:
        raise NoArticle("no article text found in the page")
    title = _clean(doc.get("title")) or _first_line(text)
    body = _paragraphs(text, title)
    if not body:  # a lone line (a menu item, a heading) is not an article
        raise NoArticle("no article text found in the page, only a heading")
    date = _page_date(doc.get("date")) or fallback_date
    page_url = _clean(doc.get("url")) or url
    source = _clean(doc.get("sitename")) or _clean(doc.get("hostname"))
    fields: dict[str, Any] = {}
    language = _language(data)
    if language:
        fields["language"] = language
    description = _clean(doc.get("description"))
    if description:
        fields["description"] = description
    tags = [t for t in (_clean(x) for x in _as_list(doc.get("tags"))) if t]
    if tags:
        fields["tags"] = tags
    categories = [c for c in (_clean(x) for x in _as_list(doc.get("categories"))) if c]
    if len(categories) > 1:  # the section is the first; a facet on "A, B" would help nobody
        fields["categories"] = categories
    if url and page_url != url:
        fields["fetched_url"] = url
    fields.update(extra or {})
    day = date.date() if isinstance(date, _dt.datetime) else date
    return Article(
        id=page_id(page_url, source, day, title),
        title=title,
        body=body,
        date=date,
        source=source,
        section=categories[0] if categories else None,
        author=_clean(doc.get("author")),
        url=page_url,
        extra=fields,
    )


def read_html(
    path: str, *, mapping: Mapping[str, str | None] | None = None, max_record_bytes: int
) -> Iterator[Record | Problem]:
    """Read one saved page: one :class:`Record` (line 1) or one :class:`Problem`."""
    del mapping  # pages have no input field names to map
    data = read_file_bytes(path, max_record_bytes, hint=" (raise max_record_bytes to read it)")
    if isinstance(data, Problem):
        yield data
        return
    try:
        yield Record(html_article(data), path, 1)
    except NoArticle as exc:
        yield Problem(path, 0, "body", str(exc))
    except ArticleError as exc:
        yield Problem(path, 0, exc.field, str(exc))


def _as_text(data: bytes) -> str | bytes:
    # trafilatura detects the encoding of bytes itself (meta charset, then a guess); a page
    # that is valid UTF-8 is handed over decoded so no guess can get it wrong.
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return data


def _as_list(value: Any) -> list[str]:
    # Lists in trafilatura 2; one comma-separated string in 1.x.
    if isinstance(value, str):
        return value.split(",")
    return [v for v in value or [] if isinstance(v, str)]


def _page_date(value: str | None) -> _dt.date | None:
    if not value:
        return None
    try:
        return parse_news_date(value)
    except DateParseError:
        return None  # htmldate gives ISO dates; anything else is not a date we can trust


def _language(data: bytes) -> str | None:
    head = data[:_LANG_SCAN]
    found = _LANG.search(head) or _META_LANG.search(head)
    return decode(found.group(1)).replace("_", "-").lower() if found else None


def _clean(value: str | None) -> str | None:
    text = " ".join(value.split()) if value else ""
    return text or None


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line[:200]


def _paragraphs(text: str, title: str) -> str:
    # trafilatura puts one paragraph per line; a blank line between them is what the other
    # readers and the snippet code treat as a paragraph break. The headline, when the page
    # repeats it above the story, is the title already: kept in the body it would count twice.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and " ".join(lines[0].lower().split()) == " ".join(title.lower().split()):
        lines = lines[1:]
    return "\n\n".join(lines)


def _date_params() -> dict[str, Any]:
    # htmldate's defaults refuse dates before 1995 (it was made for the web's own pages);
    # news archives hold older stories, saved as pages since. Not after today: a date in the
    # future is a misread, not a publication date.
    return {
        "original_date": True,
        "extensive_search": True,
        "min_date": "1900-01-01",
        "max_date": _dt.date.today().isoformat(),
    }
