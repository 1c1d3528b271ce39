"""What an install ships: the typing marker (PEP 561), the bundled data, and the licence
of the code copied from nltk (Apache-2.0 asks that its text go with it)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_build_ships_py_typed_and_data(tmp_path):
    """Type checkers use newsindex's annotations only if ``py.typed`` is installed with it."""
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py"]
        + ["--build-lib", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    built = tmp_path / "newsindex"
    assert (built / "py.typed").is_file()
    assert (built / "data" / "reuters-sample.jsonl.gz").is_file()
    assert (built / "results" / "hits.py").is_file()
    licence = built / "analysis" / "NLTK-LICENSE.txt"
    assert (
        "Apache License" in licence.read_text() and (built / "analysis" / "snowball.py").is_file()
    )
