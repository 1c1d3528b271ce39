"""The newsindex command, run as a user would: in a subprocess, output parsed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE

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


def test_search_json_lines(cli_index):
    out = run("search", cli_index, "aleppo battle", "--json", "--limit", "3").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["title"] == "Battle for strategic district in Aleppo continues"
    assert rows[0]["rank"] == 1 and rows[0]["date"].startswith("2016-11-09")
    assert set(rows[0]) == {"rank", "id", "score", "title", "date", "source", "section"}
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_search_text_output_and_sort(cli_index):
    out = run("search", cli_index, "oil", "--sort", "date", "--limit", "5").stdout
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
