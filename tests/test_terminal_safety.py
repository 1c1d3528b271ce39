"""Stored text never reaches a terminal as control characters: `newsindex search` (plain and
--json), the shell's tables, :open, :explain, :stats and facets, in colour and in a pipe."""

from __future__ import annotations

import io
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

import newsindex
from newsindex import terminal_safe
from newsindex.cli import main
from newsindex.shell.repl import run

# What a terminal may act on: C0 but tab and newline (CR too: it overwrites the line), DEL, C1,
# bidi embeddings/overrides/isolates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SGR = re.compile("\x1b\\[[0-9;]*m")  # the colours rich itself writes
ATTACKS = [
    "\x1b]0;pwned\x07",  # window title
    "\x1b[2J\x1b[H",  # clear screen, cursor home
    "\x1b[31m",  # an SGR sequence, as rich writes
    "\x9b2J",  # C1 CSI
    "\x9d0;x\x9c",  # C1 OSC ... ST
    "\u202egnp.exe",  # right-to-left override
    "\r",
    "\x00",
    "\x7f",
    "\x08",
]
hostile = st.lists(
    st.sampled_from(ATTACKS)
    | st.characters(max_codepoint=0xA0)
    | st.characters(blacklist_categories=["Cs"]),
    max_size=12,
).map("".join)


def build(folder, docs):
    ix = newsindex.Index.create(folder)
    with ix.writer() as w:
        for n, (title, body, source, section) in enumerate(docs):
            w.add(
                {
                    "id": f"d{n}",
                    "title": f"zebra {title}",
                    "body": f"{body} zebra crossing {title}",
                    "source": source.strip() or None,
                    "section": section.strip() or None,
                    "date": "2016-11-09",
                }
            )
    return ix


def shell_output(folder, *, colour: bool) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=100,
        force_terminal=colour,
        color_system="standard" if colour else None,
        no_color=not colour,
        highlight=False,
        emoji=False,
        markup=False,
    )
    script = "zebra\n:open 1\n:explain 1\n:stats\n:sort date\nzebra crossing\n:quit\n"
    assert run(folder, stdin=io.StringIO(script), console=console) == 0
    return buf.getvalue()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=st.lists(st.tuples(hostile, hostile, hostile, hostile), min_size=1, max_size=3))
def test_no_control_character_from_the_index_reaches_the_terminal(tmp_path_factory, capsys, docs):
    folder = tmp_path_factory.mktemp("tty") / "idx"
    build(folder, docs)
    capsys.readouterr()

    assert main(["search", str(folder), "zebra", "--limit", "5", "--no-snippets"]) == 0
    out = capsys.readouterr().out
    assert not UNSAFE.search(out), repr(out)
    assert len(out.splitlines()) == 1 + len(docs)  # no title can start a line of its own

    assert main(["search", str(folder), "zebra", "--limit", "5"]) == 0  # with snippets
    out = capsys.readouterr().out
    assert not UNSAFE.search(out), repr(out)
    assert len(out.splitlines()) <= 1 + 2 * len(docs)  # no snippet takes two lines either

    assert main(["search", str(folder), "zebra", "--limit", "5", "--jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(UNSAFE.search(line) for line in lines)
    ix = newsindex.Index.open(folder)
    hits = ix.search("zebra", limit=5).hits
    records = [json.loads(line) for line in lines]
    assert [{k: r[k] for k in h.to_dict()} for r, h in zip(records, hits)] == [
        h.to_dict() for h in hits
    ]  # exact: nothing lost to escaping
    assert [r["snippet"] for r in records] == [str(h.snippet().format("plain")) for h in hits]

    plain = shell_output(folder, colour=False)
    assert "zebra" in plain and not UNSAFE.search(plain), repr(plain)
    coloured = shell_output(folder, colour=True)
    assert SGR.search(coloured) and not UNSAFE.search(SGR.sub("", coloured)), repr(coloured)


def test_attacks_are_shown_not_run(tmp_path, capsys):
    folder = tmp_path / "idx"
    build(folder, [("\x1b]0;pwned\x07 \x1b[31mred", "\x1b[2J", "Src\x9b", "sec\u202e")])
    assert main(["search", str(folder), "zebra"]) == 0
    out = capsys.readouterr().out
    assert "zebra \u241b]0;pwned\u2407 \u241b[31mred  [Src\ufffd / sec\ufffd]" in out
    plain = shell_output(folder, colour=False)
    assert "\u241b]0;pwned\u2407" in plain and "\u241b[2J" in plain


def test_terminal_safe_keeps_length_and_plain_text():
    text = "a\x1b[1mb\x9b\u202ec\r\nd\te\x00"
    assert terminal_safe(text) == "a\u241b[1mb\ufffd\ufffdc \nd\te\u2400"
    assert terminal_safe(text, one_line=True) == "a\u241b[1mb\ufffd\ufffdc  d e\u2400"
    plain = "Oil prices \u00e9t\u00e9 \u4e2d\u6587 \U0001f600\n\tindent"
    assert terminal_safe(plain) is plain


@given(st.text())
def test_terminal_safe_leaves_nothing_a_terminal_acts_on(text):
    safe = terminal_safe(text)
    assert len(safe) == len(text) and not UNSAFE.search(safe)
    one = terminal_safe(text, one_line=True)
    assert len(one) == len(text) and "\n" not in one and "\t" not in one
    # Only unsafe characters change.
    assert all(a == b or UNSAFE.match(a) for a, b in zip(text, safe))
