"""The newsindex command, run as a user would: in a subprocess, output parsed."""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE

import newsindex

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)], capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    idx = tmp_path_factory.mktemp("cli") / "idx"
    out = run("index", idx, SAMPLE, SEEDS).stdout
    assert "indexed 1,001 articles" in out and "the index holds 1,001" in out
    return idx


HIT_KEYS = {"rank", "id", "score", "title", "date", "source", "section", "author", "url"}


def test_every_way_to_run_the_command_answers_alike(cli_index):
    """``python -m newsindex``, ``python -m newsindex.cli`` and the installed ``newsindex``
    script run the same main(): ``-m newsindex.cli`` once met a name its module defined
    after its ``__main__`` block (a NameError for every command)."""
    args = ["search", str(cli_index), "oil prices", "--jsonl", "--limit", "3"]
    ways = [[sys.executable, "-m", "newsindex"], [sys.executable, "-m", "newsindex.cli"]]
    script = Path(sys.executable).with_name("newsindex")
    if script.exists():  # (an install in this interpreter's environment)
        ways.append([str(script)])
    root = str(Path(__file__).resolve().parents[1])  # (each way runs this checkout's code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    outs = []
    for way in ways:
        proc = subprocess.run(way + args, capture_output=True, text=True, env=env)
        assert proc.returncode == 0 and not proc.stderr, (way, proc.stderr)
        outs.append([json.loads(line)["id"] for line in proc.stdout.splitlines()])
    assert outs[0] and all(out == outs[0] for out in outs)


def test_search_json_lines(cli_index):
    out = run("search", cli_index, "aleppo battle", "--jsonl", "--limit", "3").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["title"] == "Battle for strategic district in Aleppo continues"
    assert rows[0]["rank"] == 1 and rows[0]["date"].startswith("2016-11-09")
    assert set(rows[0]) == HIT_KEYS | {"snippet"} and rows[0]["author"] == "Staff Reporter"
    assert "«Aleppo»" in rows[0]["snippet"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


@pytest.mark.parametrize("facets", [False, True])
def test_search_json_envelope_matches_the_api(cli_index, facets):
    query = "oil prices"
    args = ["--json", "--limit", "4", "--offset", "2"] + (["--facets"] if facets else [])
    env = json.loads(run("search", cli_index, query, *args).stdout)
    res = newsindex.Index.open(cli_index).search(query, limit=4, offset=2, facets=facets)
    assert set(env) == {"total", "took_ms", "offset", "hits"} | ({"facets"} if facets else set())
    assert env["total"] == res.total and env["offset"] == 2
    assert [h["id"] for h in env["hits"]] == [h.id for h in res.hits]
    for record, hit in zip(env["hits"], res.hits):
        assert {k: record[k] for k in HIT_KEYS} == {
            **hit.to_dict(),
            "author": hit.article.author,
            "url": hit.article.url,
        }
        assert record["snippet"] == str(hit.snippet().format("plain"))
    if facets:
        assert json.loads(json.dumps(res.facets.to_dict())) == env["facets"]
    no_snippets = json.loads(run("search", cli_index, query, "--json", "--no-snippets").stdout)
    assert all(h["snippet"] is None for h in no_snippets["hits"])


def test_search_text_shows_snippets_unless_asked_not_to(cli_index):
    with_snippets = run("search", cli_index, "aleppo battle", "--limit", "1").stdout.splitlines()
    assert (
        with_snippets[2].startswith("       Syrian regime forces")
        and "«Aleppo»" in with_snippets[2]
    )
    plain = run("search", cli_index, "aleppo battle", "--limit", "1", "--no-snippets").stdout
    assert plain.splitlines()[1:] == with_snippets[1:2]  # line 0 holds the time taken


def test_search_facets_and_explain(cli_index):
    out = run("search", cli_index, "aleppo battle", "--facets", "--no-snippets").stdout
    facets = newsindex.Index.open(cli_index).search("aleppo battle", facets=True).facets
    top_source, n = facets.sources[0]
    assert f"sources: {top_source} ({n})" in out and "dates by " in out
    hit = newsindex.Index.open(cli_index).search("aleppo battle").hits[0]
    why = run("search", cli_index, "aleppo battle", "--explain", hit.id).stdout
    assert why.split()[0] == f"{hit.score:.6f}" and "BM25F" in why
    proc = run("search", cli_index, "aleppo", "--explain", "no-such-id", check=False)
    assert proc.returncode == 1 and "no article with id 'no-such-id'" in proc.stderr


def test_get_and_delete(tmp_path):
    idx = tmp_path / "idx"
    run("index", idx, _jsonl(tmp_path / "in.jsonl", ["a", "b", "c"]))
    got = json.loads(run("get", idx, "b", "--json").stdout)
    assert got == newsindex.Index.open(idx).get("b").to_dict()
    assert run("get", idx, "b").stdout.splitlines()[0] == "story b zebra"
    missing = run("get", idx, "zz", check=False)
    assert missing.returncode == 1 and "no article with id 'zz'" in missing.stderr
    out = run("delete", idx, "a", "c", "a").stdout
    assert out.strip() == "deleted 2 articles; the index holds 1"
    assert [a for a in "abc" if a in newsindex.Index.open(idx)] == ["b"]
    partly = run("delete", idx, "b", "zz", check=False)
    assert partly.returncode == 1
    assert partly.stdout.strip() == "deleted 1 article; not found: zz; the index holds 0"


def test_search_text_output_and_sort(cli_index):
    out = run("search", cli_index, "oil", "--sort", "date", "--limit", "5", "--no-snippets").stdout
    assert "matching articles for 'oil'" in out
    days = [line.split()[2] for line in out.splitlines()[1:]]
    assert days == sorted(days, reverse=True) and len(days) == 5


def test_reindexing_replaces_instead_of_duplicating(cli_index):
    out = run("index", cli_index, SEEDS).stdout
    assert "(0 new, 1 replaced)" in out and "the index holds 1,001" in out


def test_stats(cli_index):
    stats = json.loads(run("stats", cli_index, "--json").stdout)
    assert stats["documents"] == 1001
    assert stats["date_min"] == "1987-02-26" and stats["date_max"] == "2016-11-09"
    assert "documents: 1001" in run("stats", cli_index).stdout


def test_missing_index_is_a_clear_error(tmp_path):
    proc = run("search", tmp_path / "nope", "x", check=False)
    assert proc.returncode == 1
    assert "no such index folder" in proc.stderr and "Traceback" not in proc.stderr


def test_query_error_shows_a_caret(cli_index):
    proc = run("search", cli_index, 'aleppo "unclosed', check=False)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("newsindex: query error:")
    caret_line = next(line for line in lines if line.strip().startswith("^"))
    query_line = lines[lines.index(caret_line) - 1]
    assert query_line.strip() == 'aleppo "unclosed'
    assert caret_line.index("^") == query_line.index('"')


def test_bad_jsonl_fails_and_commits_nothing(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "title": "ok"}\n{"id": "2", "title": \n')
    proc = run("index", tmp_path / "idx", bad, check=False)
    assert proc.returncode == 1
    assert "bad.jsonl:2" in proc.stderr
    stats = json.loads(run("stats", tmp_path / "idx", "--json").stdout)
    assert stats["documents"] == 0


def test_skip_mode_indexes_the_good_records(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "1", "title": "ok"}\n{"id": "2", "title": \n{"id": "3", "title": "fine"}\n'
    )
    proc = run("index", tmp_path / "idx", bad, "--on-error", "skip")
    assert "skipped 1" in proc.stdout and "bad.jsonl:2" in proc.stderr
    assert json.loads(run("stats", tmp_path / "idx", "--json").stdout)["documents"] == 2


def test_demo_runs_end_to_end(tmp_path):
    out = run("demo", "--dir", tmp_path / "demo").stdout
    assert "Indexed 1,001 articles" in out
    assert "Battle for strategic district in Aleppo continues" in out
    assert "SAUDI OIL MINISTER" in out or "OPEC" in out


def _first_line_then_close(args, stdin=None):
    """Run the command into a real pipe, read one line and close the pipe, as `| head -1`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsindex", *map(str, args)],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return first.decode(), proc.wait(timeout=120), err


@pytest.mark.parametrize("extra", [[], ["--jsonl"]])
def test_a_closed_pipe_ends_the_search_quietly(cli_index, extra):
    # Far more output than a pipe buffers, so the writer really meets the closed pipe.
    first, status, err = _first_line_then_close(
        ["search", cli_index, "-section:nothing", "--limit", "5000", *extra]
    )
    assert first.strip()
    assert status == 0 and err == ""


def test_a_closed_pipe_ends_the_shell_quietly(cli_index):
    first, status, err = _first_line_then_close(["shell", cli_index], stdin="oil\n" * 300)
    assert first.startswith("61 matching articles for 'oil'")
    assert status == 0 and err == ""


@pytest.mark.parametrize(
    "args",
    [
        ["-section:earn"],
        ["--jsonl", "-section:earn"],
        ["-section:earn", "--jsonl"],
        ["--limit", "3", "-section:earn", "--jsonl"],
        ["-section:earn", "--limit=3", "--jsonl"],
        ["--", "-section:earn", "--jsonl"],  # an explicit "--" is respected as is
    ],
)
def test_a_query_may_start_with_a_dash(cli_index, args):
    proc = run("search", cli_index, *args[:1], *args[1:], check=False)
    if args[0] == "--":  # after "--", "--jsonl" is a second query word: a usage error
        assert proc.returncode == 2 and "unrecognized arguments" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    excluded = run("search", cli_index, "section:earn", "--jsonl", "--limit", "1").stdout
    assert excluded  # the exclusion has something to exclude
    if "--jsonl" in args:
        rows = [json.loads(line) for line in proc.stdout.splitlines()]
        assert rows and all(r["section"] != "earn" for r in rows)
        assert len(rows) == (3 if any("3" in a for a in args) else 10)
    else:
        total = int(proc.stdout.split()[0].replace(",", ""))
        assert 0 < total < 1001 and "matching articles for '-section:earn'" in proc.stdout


def test_bench_help_reaches_the_harness():
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", "bench", "--help"],
        capture_output=True,
        text=True,
        cwd=repo,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "benchmark harness" in proc.stdout and "unrecognized" not in proc.stderr


# -- messages -------------------------------------------------------------------------------
def _jsonl(path, ids):
    path.write_text("".join(json.dumps({"id": i, "title": f"story {i} zebra"}) + "\n" for i in ids))
    return path


@pytest.mark.parametrize("n", [0, 1, 2])
def test_count_messages_agree_with_their_number(tmp_path, n):
    idx = tmp_path / "idx"
    noun = "article" if n == 1 else "articles"
    out = run("index", idx, _jsonl(tmp_path / "in.jsonl", [f"d{i}" for i in range(n)])).stdout
    assert out.startswith(f"indexed {n} {noun} ({n} new, 0 replaced)"), out
    found = run("search", idx, "zebra").stdout
    assert found.startswith(f"{n} matching {noun} for 'zebra'"), found
    optimized = run("optimize", idx).stdout
    segments = "segment" if n else "segments"  # n articles in one commit: 0 or 1 segment
    assert optimized.startswith(f"nothing to merge: {min(n, 1)} {segments}"), optimized


def test_optimize_merges_and_says_what_it_dropped(tmp_path):
    idx = tmp_path / "idx"
    run("index", idx, _jsonl(tmp_path / "a.jsonl", ["a", "b"]))
    run("index", idx, _jsonl(tmp_path / "b.jsonl", ["b", "c"]))  # replaces b: 1 deleted
    out = run("optimize", idx).stdout
    assert out.startswith("merged 2 segments into 1, dropping 1 deleted article; 3 articles"), out
    assert run("optimize", idx).stdout.startswith("nothing to merge: 1 segment,")


@pytest.mark.parametrize(
    "runs",
    [
        [["a", "a"]],  # an id repeated within one file
        [["a", "b", "a", "a"], ["b", "c"]],
        [["x"], ["x", "x", "y"]],
    ],
)
def test_new_and_replaced_add_up_to_what_the_index_holds(tmp_path, runs):
    idx = tmp_path / "idx"
    seen: set[str] = set()
    for k, ids in enumerate(runs):
        out = run("index", idx, _jsonl(tmp_path / f"{k}.jsonl", ids)).stdout
        new = len(set(ids) - seen)
        seen |= set(ids)
        noun = "article" if len(ids) == 1 else "articles"
        expect = f"indexed {len(ids)} {noun} ({new} new, {len(ids) - new} replaced)"
        assert out.startswith(expect) and out.rstrip().endswith(f"holds {len(seen)}"), out


def test_stats_of_an_empty_index_say_none(tmp_path):
    idx = tmp_path / "idx"
    run("index", idx, _jsonl(tmp_path / "in.jsonl", []))
    out = run("stats", idx).stdout
    assert "date_min: none" in out and "date_max: none" in out and "None" not in out


def test_a_missing_input_file_creates_no_index(tmp_path):
    proc = run("index", tmp_path / "idx", tmp_path / "nope.jsonl", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip()
        == f"newsindex: error: {tmp_path / 'nope.jsonl'}: no such file or folder"
    )
    assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize("query", ['oil "unclosed', "oil AND (", "title:"])
def test_a_query_error_is_printed_once(cli_index, query):
    proc = run("search", cli_index, query, check=False)
    assert proc.returncode == 2
    caret = next(line for line in proc.stderr.splitlines() if line.strip().startswith("^"))
    message = caret.strip()[1:].strip()
    assert message and proc.stderr.count(message) == 1, proc.stderr


def test_shell_pipe_lines_have_no_trailing_spaces_and_open_gives_stored_text(cli_index):
    script = "oil\n:open 1\n:explain 1\n:facets\n:stats\n:help\n"
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", "shell", str(cli_index)],
        input=script,
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="80"),
        timeout=120,
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) > 40 and [x for x in lines if x != x.rstrip()] == []
    top = json.loads(run("search", cli_index, "oil", "--jsonl", "--limit", "1").stdout)
    opened = proc.stdout[proc.stdout.index(f"id: {top['id']}") :]
    assert "«" not in opened.split("\n\n", 2)[1]  # the body, as stored: no marks
    assert "oil" in opened.split("\n\n", 2)[1].lower()


def _complete(shell_script: str, words: list[str]) -> list[str]:
    """What bash's Tab offers for the last of ``words`` after sourcing the script."""
    array = " ".join(f"'{w}'" for w in words)
    proc = subprocess.run(
        [
            "bash",
            "--norc",
            "-c",
            f'{shell_script}\nCOMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _newsindex; printf "%s\\n" "${{COMPREPLY[@]}}"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.split()


def test_bash_completion_offers_what_help_lists():
    import re

    script = run("completion", "bash").stdout
    commands = _complete(script, ["newsindex", ""])
    assert {"index", "search", "get", "delete", "completion"} <= set(commands)
    assert _complete(script, ["newsindex", "sea"]) == ["search"]
    for command in set(commands) - {"-h", "--help", "--version", "bench"}:
        usage = run(command, "--help").stdout
        listed = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", usage))
        offered = set(_complete(script, ["newsindex", command, "-"]))
        assert offered == listed, command
    zsh = run("completion", "zsh").stdout
    assert zsh.startswith("autoload -U +X bashcompinit && bashcompinit\n") and script in zsh


# -- the date histogram, similar's envelope, NEWSINDEX_INDEX, hints, optimize ---------------
def test_facets_draw_the_date_histogram_and_json_gives_its_counts(cli_index):
    query = "oil prices"
    out = run("search", cli_index, query, "--facets", "--no-snippets").stdout.splitlines()
    facets = newsindex.Index.open(cli_index).search(query, facets=True).facets
    head = out.index(f"dates by {facets.date_bucket}:")
    rows = [line.split() for line in out[head + 1 : head + 1 + len(facets.dates)]]
    assert [(r[0], int(r[1].replace(",", ""))) for r in rows] == facets.dates
    # Bars are proportional: the largest count has the full width, each within an eighth.
    top = max(n for _, n in facets.dates)
    for (_, n), row in zip(facets.dates, rows):
        cells = sum(1.0 if ch == "\u2588" else 0.5 for ch in row[2])  # full + at most 1 part
        assert abs(cells - 40 * n / top) <= 1.0, (row, n, top)
    env = json.loads(run("search", cli_index, query, "--facets", "--json").stdout)
    assert [tuple(x) for x in env["facets"]["dates"]] == facets.dates
    assert env["facets"]["date_bucket"] == facets.date_bucket


def test_similar_json_prints_the_search_envelope(cli_index):
    ix = newsindex.Index.open(cli_index)
    source = ix.search("aleppo battle").hits[0].id
    env = json.loads(run("similar", cli_index, source, "--json", "--limit", "3").stdout)
    res = ix.more_like_this(source, limit=3)
    assert set(env) == {"total", "took_ms", "offset", "hits"} and env["total"] == res.total
    assert [h["id"] for h in env["hits"]] == [h.id for h in res.hits]
    assert all(set(h) == HIT_KEYS | {"snippet"} for h in env["hits"])
    searched = json.loads(run("search", cli_index, "oil", "--json", "--limit", "1").stdout)
    assert set(env["hits"][0]) == set(searched["hits"][0])
    lines = run("similar", cli_index, source, "--jsonl", "--limit", "3").stdout.splitlines()
    assert [json.loads(x) for x in lines] == env["hits"]


def run_env(*args, env_index=None, check=True):
    env = {k: v for k, v in os.environ.items() if k != "NEWSINDEX_INDEX"}
    if env_index is not None:
        env["NEWSINDEX_INDEX"] = str(env_index)
    proc = subprocess.run(
        [sys.executable, "-m", "newsindex", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.mark.parametrize(
    "command",
    [
        ["search", "-section:crude", "--limit", "2", "--json"],
        ["search", "--limit", "2", "oil prices", "--jsonl"],
        ["search", "--", "-oil"],
        ["stats", "--json"],
        ["get", "1", "--json"],
        ["similar", "1", "--json"],
        ["check"],
    ],
)
def test_newsindex_index_is_the_index_when_a_reading_command_leaves_it_out(
    cli_index, tmp_path, command
):
    def same(proc):
        return proc.stdout.replace('"took_ms": ', "").split(",", 2)[-1], proc.returncode

    explicit = run_env(command[0], cli_index, *command[1:], check=False)
    implicit = run_env(*command, env_index=cli_index, check=False)
    assert explicit.returncode == 0 and same(implicit) == same(explicit)
    # A folder named on the command line wins over the variable.
    named = run_env(command[0], cli_index, *command[1:], env_index=tmp_path / "x", check=False)
    assert same(named) == same(explicit)
    # Without the variable, leaving the index out is a usage error that says what to do.
    missing = run_env(*command, check=False)
    assert missing.returncode == 2 and "NEWSINDEX_INDEX" in missing.stderr


def test_every_command_that_only_reads_an_index_takes_it_from_the_environment():
    # A command added later (as `duplicates` was) must be placed: reading commands take
    # $NEWSINDEX_INDEX with their other positional words counted right; the rest write.
    from newsindex import cli

    writing = {"index", "delete", "optimize"}
    sub = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        positionals = [a.dest for a in parser._actions if not a.option_strings]
        if "index_dir" not in positionals:
            assert name not in cli.READING_COMMANDS
            continue
        if name in writing:
            assert name not in cli.READING_COMMANDS
            continue
        assert name in cli.READING_COMMANDS, f"{name} reads an index but ignores {cli.INDEX_ENV}"
        others = [p for p in positionals if p != "index_dir"]
        assert cli.READING_COMMANDS[name] == len(others), name
        assert cli.INDEX_ENV in (
            next(a for a in parser._actions if a.dest == "index_dir").help or ""
        )


def test_search_feedback_shows_its_expansion(cli_index):
    plain = json.loads(run("search", cli_index, "oil prices", "--json").stdout)
    fed = json.loads(run("search", cli_index, "oil prices", "--json", "--feedback").stdout)
    assert "expansion" not in plain
    terms = [term for term, weight in fed["expansion"]]
    assert terms and all(weight > 0 for _, weight in fed["expansion"])
    assert fed["total"] >= plain["total"]  # expansion adds optional words, never requirements
    res = newsindex.Index.open(cli_index).search("oil prices", feedback=True)
    assert [term for term, _ in res.expansion] == terms
    assert [h["id"] for h in fed["hits"]] == [h.id for h in res.hits[: len(fed["hits"])]]
    text = run("search", cli_index, "oil prices", "--feedback")
    assert "expanded with: " + terms[0] in text.stderr


def test_commands_that_write_always_name_their_index(tmp_path):
    idx = tmp_path / "idx"
    run("index", idx, _jsonl(tmp_path / "in.jsonl", ["a", "b"]))
    for command in (["delete", "a"], ["optimize"], ["index", tmp_path / "in.jsonl"]):
        proc = run_env(*command, env_index=idx, check=False)
        assert proc.returncode != 0
    assert newsindex.Index.open(idx).doc_count == 2 and "a" in newsindex.Index.open(idx)


def test_optimize_leaves_only_the_files_of_its_commit(tmp_path):
    idx = tmp_path / "idx"
    run("index", idx, _jsonl(tmp_path / "a.jsonl", ["a", "b"]))
    run("index", idx, _jsonl(tmp_path / "b.jsonl", ["b", "c"]))
    before = {p.name for p in idx.glob("seg-*")}
    out = run("optimize", idx).stdout
    assert out.startswith("merged 2 segments into 1")
    after = {p.name for p in idx.glob("seg-*")}
    stats = json.loads(run("stats", idx, "--json").stdout)
    assert not after & before and len({name.split(".")[0] for name in after}) == 1
    assert len(list(idx.glob("manifest-*"))) == 1 and stats["documents"] == 3


def _ingest_texts():
    """Every string the ingest modules build (docstrings aside), an f-string's values as 'X'."""
    import ast

    for path in sorted((Path(newsindex.__file__).parent / "ingest").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                skip.add(id(body[0].value))  # a docstring: documentation, not a message
            if isinstance(node, ast.JoinedStr):
                skip.update(id(v) for v in node.values)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.JoinedStr):
                yield (
                    path.name,
                    "".join(v.value if isinstance(v, ast.Constant) else "'X'" for v in node.values),
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield path.name, node.value


def test_every_ingest_hint_names_python_parameters_in_python_and_flags_in_the_cli():
    import inspect

    from newsindex.cli import _options_of, _parser, cli_hints

    params = [p for p in inspect.signature(newsindex.iter_records).parameters if p != "paths"]
    # How a message suggests a parameter: "name=..." or, for names no prose uses, the bare name.
    mention = re.compile(
        r"\b(?:" + "|".join(params) + r")=|\b(?:" + "|".join(p for p in params if "_" in p) + r")\b"
    )
    flags = set(_options_of(_parser(), "index"))
    # "on_error must be one of ..." checks a Python argument; the command's own argument
    # checks (choices, _positive_int) come first, so such messages never reach its users.
    checks = re.compile(r"(?:" + "|".join(params) + r") must ")
    hints = [
        (name, text)
        for name, text in _ingest_texts()
        if mention.search(text) and not checks.match(text)
    ]
    assert len(hints) >= 8  # the scan finds the hints (size limit, format, mapping, links...)
    for name, text in hints:
        shown = cli_hints(text)
        assert not mention.search(shown), (name, text, shown)
        named = re.findall(r"--[a-z][a-z-]*", shown)
        assert named and set(named) <= flags, (name, text, shown)
        assert not re.search(r"--[a-z]", text), (name, text)  # Python messages name no flags


def test_ingest_hints_in_a_real_run_name_the_flags(tmp_path):
    tree = tmp_path / "in"
    tree.mkdir()
    big = json.dumps({"id": "1", "title": "x" * 500})
    (tree / "a.jsonl").write_text(big + "\n" + json.dumps({"title": "no id"}) + "\n")
    (tree / "notes.docx").write_text("hello")
    (tree / "link.jsonl").symlink_to(tree / "a.jsonl")
    proc = run("index", tmp_path / "idx", tree, "--on-error", "skip", "--max-record-bytes", "200")
    err = proc.stderr
    assert "raise --max-record-bytes" in err and "pass --format" in err
    assert "--follow-symlinks" in err and "--map FILE holding 'your_field: id'" in err
    assert not re.search(r"max_record_bytes|format=|mapping=|follow_symlinks", err)
    assert "indexed 0 articles" in proc.stdout
    # The flag is honoured: the long record is read with a larger limit.
    ok = run("index", tmp_path / "idx", tree / "a.jsonl", "--on-error", "skip")
    assert "indexed 1 article " in ok.stdout
    bad = run("index", tmp_path / "idx", tree, "--max-record-bytes", "0", check=False)
    assert bad.returncode == 2 and "--max-record-bytes" in bad.stderr


def _sample_words(action: argparse.Action) -> list[str]:
    """Words an option accepts (one valid value), or none for a flag."""
    if action.nargs == 0:
        return []
    if action.choices:
        return [str(next(iter(action.choices)))]
    return ["1"]  # a number, a name and a path alike


def test_options_go_anywhere_among_a_commands_many_positional_words():
    # `newsindex index IDX --no-store-body a.jsonl` read the option as ending the paths and
    # rejected `a.jsonl`. For every command taking a variable number of positional words,
    # every option parses the same wherever it stands among them.
    from newsindex import cli

    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for name, command in sub.choices.items():
        positionals = [a for a in command._actions if not a.option_strings]
        if not any(a.nargs in ("*", "+") for a in positionals) or name == "bench":
            continue  # (bench hands every word to the harness, which parses its own)
        words = ["IDX", "a.jsonl", "b.jsonl"]
        for action in command._actions:
            if not action.option_strings or action.dest == "help":
                continue
            option = [action.option_strings[-1], *_sample_words(action)]
            expected = vars(parser.parse_args([name, *words, *option]))
            for at in range(len(words)):
                argv = [name, *words[:at], *option, *words[at:]]
                assert vars(parser.parse_args(argv)) == expected, argv
            checked += 1
    assert checked >= 5  # `index` has many options; the test must not pass on none


_KERNEL_PROBE = """
import sys
import newsindex.search.scan as scan
scan.MIN_POSTINGS = 1  # any disjunction would load the compiled kernel
scan.ONE_QUERY_POSTINGS = {one_query}  # (the command line's bar)
from newsindex.cli import main
{call}
print("numba" in sys.modules, __import__("os").environ.get("NEWSINDEX_COMPILED"))
"""


def _numba_loaded_by(code: str, index: Path) -> list[str]:
    """Run ``code`` (which prints whether numba was imported, then NEWSINDEX_COMPILED) in
    a fresh process with ``index`` as its argument and no NEWSINDEX_COMPILED of ours."""
    env = {k: v for k, v in os.environ.items() if k != "NEWSINDEX_COMPILED"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(index)],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[-2:]


@pytest.mark.parametrize(
    "call, one_query, loads",
    [
        ("main(['search', sys.argv[1], 'oil prices', '--limit', '3'])", 10**9, False),
        ("main(['search', sys.argv[1], 'oil prices', '--limit', '3'])", 1, True),
        ("main(['search', sys.argv[1], '\"crude oil\"', '--limit', '3'])", 1, False),
        ("import newsindex; newsindex.Index.open(sys.argv[1]).search('oil prices')", 10**9, True),
    ],
)
def test_a_one_query_search_loads_the_compiled_kernels_only_where_they_pay(
    cli_index, call, one_query, loads
):
    """``newsindex search`` answers its one query on the numpy path unless its words' postings
    reach ``ONE_QUERY_POSTINGS`` (loading numba costs more than a smaller query gains; a
    phrase never pays) and leaves the environment as it found it; the library, asked the
    same, loads them at MIN_POSTINGS (so the probe can tell)."""
    pytest.importorskip("numba")
    code = _KERNEL_PROBE.format(call=call, one_query=one_query)
    assert _numba_loaded_by(code, cli_index) == [str(loads), "None"]


@pytest.mark.parametrize("small, loads", [(False, False), (True, True)])
def test_a_collapsed_search_loads_the_kernel_where_finding_copies_pays(cli_index, small, loads):
    """A collapsed search is not one query: its process first finds every pair of
    near-duplicates in the index, so the command leaves the kernels on, and collapse.py
    loads numba for an index large enough for its kernel to pay (here the small test index
    is made to count as one), not otherwise."""
    pytest.importorskip("numba")
    code = (
        "import sys\n"
        "import newsindex.search.collapse as collapse\n"
        + ("collapse._COMPILED_ROWS = 0\n" if small else "")
        + "from newsindex.cli import main\n"
        "main(['search', sys.argv[1], 'oil prices', '--limit', '3', '--collapse'])\n"
        "print('numba' in sys.modules, __import__('os').environ.get('NEWSINDEX_COMPILED'))\n"
    )
    assert _numba_loaded_by(code, cli_index) == [str(loads), "None"]
