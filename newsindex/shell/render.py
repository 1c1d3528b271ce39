"""Rich renderables for the shell: result tables with snippets, facets, explain trees, stats.

Pure functions of their inputs (no console, no index), so tests can print them into a
``Console(file=io.StringIO(), ...)`` and compare text. User data always goes into
:class:`~rich.text.Text` objects, never into markup: titles like ``[Reuters]`` stay as typed;
and through :func:`~newsindex.terminal_safe` (``_safe`` here), so control characters in stored
text (an escape sequence in a title) reach the terminal as visible characters, never as
commands. It keeps lengths, so snippet marks and carets stay in place.
With ``plain=True`` (no colours: a pipe, a dumb terminal) marks are shown as «word».
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from .. import Article, Explanation, Facets, Query, Results, Scoring, Snippet, terminal_safe
from ..errors import QuerySyntaxError

MARK = "bold yellow"
FACET_ROWS = 8
SOURCE_WIDTH = 16
SECTION_WIDTH = 14
DATE_ROWS = 12
DATE_BAR_WIDTH = 40
SNIPPET_CHARS = 240
_PARAGRAPH = re.compile(r"\n[ \t]*\n|\n[ \t]+")  # as in results.snippets


def marked(snip: Snippet, *, plain: bool = False, style: str = "") -> Text:
    """A snippet as Text: marks styled, or between «» when ``plain`` (no colours)."""
    if plain:
        return Text(_safe(snip.format("plain")), style=style)
    text = Text(_safe(snip.text), style=style)
    for start, end in snip.spans:
        text.stylize(MARK, start, end)
    return text


def _safe(text: str | None, one_line: bool = False) -> str:
    return terminal_safe(text, one_line=one_line) if text else ""


def summary(query: str, results: Results, page_size: int, collapsed: bool = False) -> Text:
    """``6 matching articles for 'aleppo' · 1-6 · page 1 of 1 · 0.8 ms`` (collapsed: ``6
    matching stories (near-duplicates collapsed) ...``, the total counting groups)."""
    total = results.total
    pages = max(1, -(-total // page_size))
    page = results.offset // page_size + 1
    shown = f"{results.offset + 1}-{results.offset + len(results.hits)}" if results.hits else "none"
    noun = "article" if total == 1 else "articles"
    if collapsed:
        noun = ("story" if total == 1 else "stories") + " (near-duplicates collapsed)"
    return Text.assemble(
        (f"{total:,}", "bold"),
        f" matching {noun} for {_safe(repr(query))} \u00b7 {shown} \u00b7 ",
        f"page {page} of {pages} \u00b7 {results.took_ms:.1f} ms",
    )


def hits_table(
    results: Results,
    highlighter: Query,
    *,
    plain: bool = False,
    snippet_chars: int = SNIPPET_CHARS,
) -> Group:
    """rank, score, date, source, section and title, with the snippet under each hit.

    A rich Table cannot span a cell over columns, so each hit is a grid row of fixed column
    widths (the header uses the same) followed by its snippet at nearly the full width.
    """
    rows = []
    for hit in results.hits:
        art = hit.article
        title = marked(highlighter.highlight(art, field="title"), plain=plain, style="bold")
        rows.append(
            (
                str(hit.rank),
                f"{hit.score:.3f}",
                _day(art),
                _safe(art.source, True),
                _safe(art.section, True),
                title if art.title else Text("(untitled)", style="bold"),
                highlighter.snippet(art, max_chars=snippet_chars),
                hit.duplicates,
            )
        )
    heads = ("#", "score", "date", "source", "section")
    widths = [
        max([len(h)] + [len(meta[i]) for *meta, _title, _snip, _dups in rows])
        for i, h in enumerate(heads)
    ]
    widths[3], widths[4] = min(widths[3], SOURCE_WIDTH), min(widths[4], SECTION_WIDTH)
    indent = widths[0] + 2  # snippets line up under the score
    header = _grid(widths)
    header.add_row(*heads, "title", style="bold")
    parts: list[RenderableType] = [header, Rule(style="dim", characters="\u2500")]
    for *meta, title, snip, dups in rows:
        grid = _grid(widths)
        grid.add_row(*meta, title)
        parts.append(grid)
        if snip.text:
            parts.append(Padding(marked(snip, plain=plain), (0, 0, 0, indent)))
        if dups:
            copies = f"+ {len(dups)} near-duplicate{'s' * (len(dups) > 1)}: {', '.join(dups)}"
            parts.append(Padding(Text(_safe(copies, True), style="dim"), (0, 0, 0, indent)))
        parts.append(Text(""))
    return Group(*parts)


def _grid(widths: Sequence[int]) -> Table:
    grid = Table.grid(padding=(0, 2))
    for i, width in enumerate(widths):
        grid.add_column(
            width=width, justify="right" if i < 2 else "left", no_wrap=True, overflow="ellipsis"
        )
    grid.add_column(ratio=1)
    return grid


def facets_table(facets: Facets, rows: int = FACET_ROWS) -> Table:
    """Counts by source and section side by side, and the dates as a bar chart."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    columns = [
        ("sources", facets.sources[:rows]),
        ("sections", facets.sections[:rows]),
    ]
    for name, _ in columns:
        table.add_column(name, style="cyan", no_wrap=True)
        table.add_column("", justify="right", no_wrap=True)
    for i in range(max((len(values) for _, values in columns), default=0)):
        cells: list[str] = []
        for _, values in columns:
            cells += (
                [_safe(values[i][0], True), f"{values[i][1]:,}"] if i < len(values) else ["", ""]
            )
        table.add_row(*cells)
    return table


def date_chart(facets: Facets, rows: int = DATE_ROWS, width: int = DATE_BAR_WIDTH) -> Table:
    """The matches per day, month or year as horizontal bars (the newest ``rows`` buckets)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(f"{facets.date_bucket}s", style="cyan", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    table.add_column("", style="green", no_wrap=True)
    chart = facets.histogram(width=width, rows=rows)
    for bucket, count, bar in chart:
        table.add_row(bucket, f"{count:,}", bar)
    if len(facets.dates) > len(chart):
        earlier = len(facets.dates) - len(chart)
        table.add_row("", "", Text(f"(+{earlier} earlier {facets.date_bucket}s)", style="dim"))
    if facets.undated:
        table.add_row("undated", f"{facets.undated:,}", "")
    return table


def results_view(
    query: str,
    results: Results,
    highlighter: Query,
    *,
    page_size: int,
    plain: bool = False,
    show_facets: bool = True,
    collapsed: bool = False,
) -> Group:
    """The summary line, the hits table and (when there are any) the facet counts."""
    parts: list[RenderableType] = [summary(query, results, page_size, collapsed)]
    if results.hits:
        parts.append(hits_table(results, highlighter, plain=plain))
    if show_facets and results.facets is not None and results.total:
        parts.append(facets_table(results.facets))
        if results.facets.dates:
            parts.append(date_chart(results.facets))
    return Group(*parts)


def problem(err: QuerySyntaxError, query: str = "", *, warning: bool = False) -> Text:
    """The query with a caret under the bad position, and the message."""
    if not err.query:  # an error raised without its query text: attach what was typed
        err = QuerySyntaxError(err.message, query, err.position)
    head = "query warning (read leniently):" if warning else "query error:"
    style = "yellow" if warning else "red"
    lines = Text(head, style=f"bold {style}")  # the message follows the caret
    for line in _safe(err.caret()).splitlines():
        lines.append("\n  " + line, style=style)
    return lines


def explain_tree(hit_title: str, rank: int, explanation: Explanation) -> Tree:
    """The BM25F breakdown as a tree: each node's value and what it is."""
    title = _safe(hit_title, True)
    tree = Tree(Text.assemble(("why ", "dim"), (f"#{rank}", "bold"), " ", (title, "bold")))
    _grow(tree, explanation)
    return tree


def _grow(tree: Tree, node: Explanation) -> None:
    branch = tree.add(Text.assemble((f"{node.value:.4f}", "cyan"), "  ", _safe(node.description)))
    for child in node.details:
        _grow(branch, child)


def article_view(
    article: Article, highlighter: Query, *, plain: bool = False, marks: bool = True
) -> Group:
    """A whole article: title, what/when/who, and the body, query terms marked.

    ``marks=False`` prints the text as stored (for a pipe, where «» would alter it).
    """
    title = highlighter.highlight(article, field="title")
    meta = " \u00b7 ".join(
        x for x in (_day(article), article.source, article.section, article.author) if x
    )
    parts: list[RenderableType] = [
        marked(title, plain=plain, style="bold") if marks else Text(_safe(title.text), style="bold")
    ]
    parts.append(Text(_safe(meta, True), style="dim"))
    if article.url:
        parts.append(Text(_safe(article.url, True), style="dim underline"))
    parts.append(Text(f"id: {_safe(article.id, True)}", style="dim"))
    parts.append(Text(""))
    body = highlighter.highlight(reflow(article.body), field="body")
    parts.append(marked(body, plain=plain) if marks else Text(_safe(body.text)))
    return Group(*parts)


def reflow(text: str) -> str:
    """Paragraphs joined into lines, so the console wraps them to its width.

    Wire copy (Reuters) breaks lines at 70 columns and starts paragraphs with an indented
    line; scraped pages separate paragraphs with blank lines. Both become blank lines.
    """
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def stats_table(stats: dict[str, Any], overview: Facets, scoring: Scoring) -> Table:
    """What the index holds: size, documents, dates, sources, sections, scoring."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    dates = f"{stats['date_min']} to {stats['date_max']}" if stats["date_min"] else "(none)"
    rows = [
        ("index", stats["path"]),
        ("documents", f"{stats['documents']:,} ({stats['deleted']:,} deleted)"),
        ("segments", f"{stats['segments']:,}"),
        ("terms", f"{stats['terms']:,}"),
        ("size", f"{stats['size_bytes'] / 1e6:.2f} MB"),
        ("dates", dates),
        ("sources", _counts(overview.sources)),
        ("sections", _counts(overview.sections)),
        ("scoring", describe_scoring(scoring)),
    ]
    for key, value in rows:
        table.add_row(key, Text(_safe(value)))
    return table


def describe_scoring(scoring: Scoring) -> str:
    """``k1=1.2 b=0.75 title=2 body=1`` (with any per-field b)."""
    parts = [f"k1={scoring.k1:g}", f"b={scoring.b:g}"]
    parts += [f"{f}={w:g}" for f, w in scoring.weights.items()]
    parts += [f"{f}.b={b:g}" for f, b in scoring.field_b.items()]
    if scoring.proximity:
        parts.append(f"proximity={scoring.proximity:g} rescore_window={scoring.rescore_window}")
    if scoring.feedback:
        parts.append(
            f"feedback fb_docs={scoring.fb_docs} fb_terms={scoring.fb_terms} "
            f"fb_original_weight={scoring.fb_original_weight:g}"
        )
    return " ".join(parts)


def help_table(commands: Iterable[tuple[str, str, str]]) -> Table:
    """``(command, arguments, what it does)`` rows, and how queries are typed."""
    table = Table(
        box=None,
        show_header=False,
        pad_edge=False,
        title="type a query, or a command:",
        title_justify="left",
    )
    table.add_column(style="bold", no_wrap=True)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column()
    for name, args, what in commands:
        table.add_row(name, args, what)
    table.caption = (
        'queries: words, "a phrase", title: body: source: section: author: '
        "date: fields, AND OR NOT + -, word*, (groups); Tab completes"
    )
    table.caption_justify = "left"
    return table


def _counts(pairs: Sequence[tuple[str, int]], top: int = 10) -> str:
    shown = ", ".join(f"{name} {count:,}" for name, count in pairs[:top])
    return shown + (f" (+{len(pairs) - top} more)" if len(pairs) > top else "") if pairs else "-"


def _day(article: Article) -> str:
    return article.date.isoformat()[:10] if article.date else ""
