"""The examples run as a user would run them, and say what they claim."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name, *args):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_quickstart(tmp_path):
    out = run("quickstart.py", tmp_path / "idx")
    assert "1001 articles" in out
    assert "matches for 'opec oil prices date:1987-03'" in out
    assert "why " in out and "idf" in out
    assert (
        "the seed article: Battle for strategic district in Aleppo continues (2016-11-09, TRT World, by Staff Reporter)"
        in out
    )


def test_news_desk():
    lines = run("news_desk.py").splitlines()
    assert lines[0].startswith("'storm': ") and "(corrected)" in lines[0] and "a3" in lines[0]
    assert (
        lines[1]
        == "'section:weather': a3 'Storm damage estimated', a1 'Storm closes coastal roads (corrected)'"
    )
    assert lines[2].startswith("'storm date:2024-03-02': a3 ") and "a1" not in lines[2]
    assert lines[3] == "'-section:weather': "
