"""The date histogram as a bar chart: Facets.histogram and the shell's chart."""

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from newsindex import Facets, Index
from newsindex.errors import ConfigError
from newsindex.shell import render

EIGHTHS = " \u258f\u258e\u258d\u258c\u258b\u258a\u2589"


def eighths_of(bar: str) -> int:
    """A bar's length in eighths of a cell, read back from its characters."""
    full = len(bar.rstrip(EIGHTHS[1:]))
    assert set(bar[:full]) <= {"\u2588"} and len(bar) - full <= 1
    return 8 * full + (EIGHTHS.index(bar[full]) if len(bar) > full else 0)


counts = st.lists(st.integers(0, 10**6), min_size=1, max_size=40)


@given(values=counts, width=st.integers(1, 80), rows=st.integers(1, 50))
def test_bars_are_proportional_and_never_hide_a_story(values, width, rows):
    dates = [(f"1987-{i:03d}", c) for i, c in enumerate(values)]
    chart = Facets(dates=dates).histogram(width=width, rows=rows)
    shown = dates[-rows:]
    assert [(b, c) for b, c, _ in chart] == shown  # the newest rows, in date order
    top = max(c for _, c in shown)
    lengths = [eighths_of(bar) for _, _, bar in chart]
    for (_, c), n in zip(shown, lengths):
        assert (n > 0) == (c > 0)
        assert abs(n - 8 * width * c / top) <= 1 if top else n == 0
        assert n <= 8 * width
    if top:
        assert max(lengths) == 8 * width
    order = sorted(range(len(shown)), key=lambda i: shown[i][1])
    assert [lengths[i] for i in order] == sorted(lengths)  # monotone in the count


def test_bad_sizes_are_a_clear_error():
    with pytest.raises(ConfigError, match="width and rows"):
        Facets(dates=[("1987-03", 1)]).histogram(width=0)


def test_the_shell_charts_the_matches_by_month(sample_index):
    res = sample_index.search("oil", facets=True, date_bucket="month")
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render.date_chart(res.facets))
    lines = console.file.getvalue().splitlines()
    assert lines[0].split() == ["months"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], int(r[1].replace(",", ""))) for r in rows] == res.facets.dates
    widest = max(len(r[2]) for r in rows)
    assert widest == render.DATE_BAR_WIDTH
    busiest = max(res.facets.dates, key=lambda d: d[1])[0]
    assert next(r for r in rows if r[0] == busiest)[2] == "\u2588" * widest
    assert sum(c for _, c in res.facets.dates) + res.facets.undated == res.total


def test_undated_and_older_buckets_are_noted(tmp_path):
    ix = Index.create(tmp_path / "idx")
    with ix.writer() as w:
        for year in range(1990, 2010):
            w.add({"id": str(year), "title": "oil", "body": "oil", "date": f"{year}-01-01"})
        w.add({"id": "x", "title": "oil", "body": "oil"})
    facets = ix.search("oil", facets=True).facets
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render.date_chart(facets, rows=5))
    out = console.file.getvalue()
    assert "(+15 earlier years)" in out and "undated" in out and "2009" in out
    assert "1994" not in out
