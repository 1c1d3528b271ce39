import gzip
import json
from pathlib import Path

import pytest

import newsindex

SAMPLE = Path(newsindex.__file__).parent / "data" / "reuters-sample.jsonl.gz"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_sample(limit: int | None = None) -> list[dict]:
    docs = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        for line in fh:
            docs.append(json.loads(line))
            if limit and len(docs) >= limit:
                break
    return docs


@pytest.fixture(scope="session")
def sample_docs() -> list[dict]:
    return load_sample()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, sample_docs):
    """The bundled sample indexed once per session (read-only for tests)."""
    ix = newsindex.Index.create(tmp_path_factory.mktemp("sample") / "idx")
    with ix.writer() as w:
        for d in sample_docs:
            w.add(d)
    return ix
