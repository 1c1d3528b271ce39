"""HTML pages, WARC crawls and RSS/Atom feeds built from real article text, for ingest tests.

The text is the seed article (seeds/, a TRT World story) and Reuters-21578 stories from the
bundled sample; the markup around it is what news sites wrap articles in: a menu, a cookie
notice, "related stories", a footer. Nothing here touches the network.
"""

from __future__ import annotations

import gzip
import html
import io
import json
from pathlib import Path

from newsindex.ingest import parse_raw_page

ROOT = Path(__file__).resolve().parents[1]
SEED = parse_raw_page((ROOT / "seeds" / "000_bd656d18b2dd3dcd.txt").read_text(encoding="utf-8"))

BOILERPLATE = (
    "We use cookies to improve your experience on our website",
    "Sneak a peek at our most popular stories this week",
    "Copyright TRT World Research Centre",
)


def reuters(n: int) -> list[dict]:
    """The first ``n`` stories of the bundled Reuters sample that have a title and a date."""
    out = []
    with gzip.open(ROOT / "newsindex" / "data" / "reuters-sample.jsonl.gz", "rt") as f:
        for line in f:
            doc = json.loads(line)
            if doc.get("title") and doc.get("date") and len(doc.get("body") or "") > 400:
                out.append(doc)
                if len(out) == n:
                    break
    return out


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    date: str | None = "2016-11-09T10:30:00+00:00",
    author: str | None = "Staff Reporter",
    site: str | None = "TRT World",
    section: str | None = "World",
    url: str | None = "https://www.trtworld.com/mea/battle-for-aleppo-continues-222222",
    lang: str | None = "en",
    charset: str = "utf-8",
) -> str:
    """A news page as sites publish it: metadata in the head, the story in <article>, and
    boilerplate (menu, cookie notice, related stories, footer) that must not be indexed."""
    esc = html.escape
    meta = [f'<meta charset="{charset}">', f"<title>{esc(title)} | {esc(site or 'News')}</title>"]
    if url:
        meta.append(f'<link rel="canonical" href="{esc(url)}">')
        meta.append(f'<meta property="og:url" content="{esc(url)}">')
    meta.append(f'<meta property="og:title" content="{esc(title)}">')
    if site:
        meta.append(f'<meta property="og:site_name" content="{esc(site)}">')
    if date:
        meta.append(f'<meta property="article:published_time" content="{esc(date)}">')
    if author:
        meta.append(f'<meta name="author" content="{esc(author)}">')
    if section:
        meta.append(f'<meta property="article:section" content="{esc(section)}">')
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"""<!DOCTYPE html>
<html{lang_attr}><head>{"".join(meta)}</head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/business">Business</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<div class="cookie-banner">{BOILERPLATE[0]}. <button>Accept</button></div>
<main><article>
<h1>{esc(title)}</h1>
{f'<p class="byline">By {esc(author)}</p>' if author else ""}
{body}
</article>
<aside class="related"><h2>Related stories</h2><ul>
<li><a href="/a">{BOILERPLATE[1]}</a></li>
<li><a href="/b">Turkey hosts talks on regional energy corridor</a></li></ul></aside>
</main>
<footer><p>{BOILERPLATE[2]}. All rights reserved.</p></footer>
</body></html>
"""


def seed_page(**kwargs) -> str:
    return article_page(SEED.title, SEED.body.split("\n\n"), **kwargs)


def reuters_page(doc: dict) -> str:
    return article_page(
        doc["title"],
        [p for p in doc["body"].split("\n") if p.strip()] or [doc["body"]],
        date=doc["date"],
        author=None,
        site="Reuters",
        section=None,
        url=f"https://www.reuters.com/article/{doc['id']}",
    )


def write_warc(path: Path, records: list[tuple]) -> None:
    """A WARC (gzipped per record when ``path`` ends in .gz) holding ``records``: tuples of
    (kind, url, payload bytes, content type, capture date) with kind "response", "request",
    "revisit" or "metadata"."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=str(path).endswith(".gz"))
        for kind, url, payload, ctype, when in records:
            headers = {"WARC-Date": when}
            if kind == "response":
                http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
                rec = writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(payload),
                    http_headers=http,
                    warc_headers_dict=headers,
                )
            elif kind == "request":
                http = StatusAndHeaders(
                    f"GET {url} HTTP/1.1", [("Host", "example")], is_http_request=True
                )
                rec = writer.create_warc_record(
                    url,
                    "request",
                    payload=io.BytesIO(b""),
                    http_headers=http,
                    warc_headers_dict=headers,
                )
            elif kind == "revisit":
                http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
                rec = writer.create_revisit_record(
                    url,
                    digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    refers_to_uri=url,
                    refers_to_date=when,
                    http_headers=http,
                )
            else:
                rec = writer.create_warc_record(
                    url,
                    kind,
                    payload=io.BytesIO(payload),
                    warc_content_type=ctype,
                    warc_headers_dict=headers,
                )
            writer.write_record(rec)


def _rfc822(iso: str) -> str:
    import datetime as dt
    import email.utils

    when = dt.datetime.fromisoformat(iso).replace(tzinfo=dt.timezone.utc)
    return email.utils.format_datetime(when)


def rss_feed(docs: list[dict], *, title: str = "Reuters: Commodities") -> str:
    """RSS 2.0 as news sites publish it: HTML in content:encoded, a plain description."""
    esc = html.escape
    items = []
    for doc in docs:
        paragraphs = "".join(f"<p>{esc(p)}</p>" for p in doc["body"].split("\n") if p.strip())
        cats = "".join(f"<category>{esc(c)}</category>" for c in doc.get("categories", []))
        items.append(
            f"""  <item>
    <title>{esc(doc["title"])}</title>
    <link>https://www.reuters.com/article/{doc["id"]}</link>
    <guid isPermaLink="false">reuters-{doc["id"]}</guid>
    <pubDate>{_rfc822(doc["date"])}</pubDate>
    <dc:creator>Reuters Staff</dc:creator>
    {cats}
    <description>{esc(doc["body"][:120])}</description>
    <content:encoded><![CDATA[{paragraphs}]]></content:encoded>
  </item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>{esc(title)}</title>
  <link>https://www.reuters.com/</link>
  <description>Commodities news</description>
{chr(10).join(items)}
</channel>
</rss>
"""


def atom_feed(docs: list[dict], *, title: str = "TRT World") -> str:
    """Atom with the story as escaped HTML in <content type="html">."""
    esc = html.escape
    entries = []
    for doc in docs:
        paragraphs = "".join(f"<p>{esc(p)}</p>" for p in doc["body"].split("\n\n") if p.strip())
        cats = "".join(f'<category term="{esc(c)}"/>' for c in doc.get("categories", []))
        entries.append(
            f"""  <entry>
    <title>{esc(doc["title"])}</title>
    <id>tag:trtworld.com,2016:{doc["id"]}</id>
    <link rel="alternate" href="https://www.trtworld.com/{doc["id"]}"/>
    <published>{doc["date"]}</published>
    <updated>{doc["date"]}</updated>
    <author><name>{esc(doc.get("author") or "Staff Reporter")}</name></author>
    {cats}
    <content type="html">{esc(paragraphs)}</content>
  </entry>"""
        )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!-- saved from the site's feed -->
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{esc(title)}</title>
  <id>tag:trtworld.com,2016:feed</id>
  <updated>2016-11-09T12:00:00Z</updated>
{chr(10).join(entries)}
</feed>
"""
