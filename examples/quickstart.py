"""Index the bundled sample, search it, and look at why the top hit ranks first.

python examples/quickstart.py [INDEX_DIR]
"""

import sys
import tempfile
from pathlib import Path

import newsindex

DATA = Path(newsindex.__file__).parent / "data"


def main(folder: Path) -> None:
    ix = newsindex.Index.create(folder, exist_ok=True)
    with ix.writer() as w:
        for record in newsindex.iter_records(
            [DATA / "seed-article.txt", DATA / "reuters-sample.jsonl.gz"]
        ):
            w.add(record.article)
    print(f"{ix.doc_count} articles in {folder}")

    res = ix.search("opec oil prices date:1987-03", limit=5, facets=True)
    print(f"\n{res.total} matches for 'opec oil prices date:1987-03' in {res.took_ms:.1f} ms")
    for hit in res.hits:
        print(f"{hit.rank}. {hit.score:.3f} {hit.article.title}")
        print(f"   {hit.snippet(max_chars=160)}")
    print("\nsections:", res.facets.sections[:5])

    top = res.hits[0]
    print(f"\nwhy {top.id} ranks first:\n{ix.explain('opec oil prices date:1987-03', top.id)}")

    seed = ix.search('"1070 apartments" source:trtworld').hits[0].article
    print(f"\nthe seed article: {seed.title} ({seed.date}, {seed.source}, by {seed.author})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "idx")
