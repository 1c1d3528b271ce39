"""A news desk's day: corrections replace stories, retractions delete them, and the archive
is searched by date window and section, newest first.

    python examples/news_desk.py
"""

import tempfile
from pathlib import Path

import newsindex


def main() -> None:
    ix = newsindex.Index.create(Path(tempfile.mkdtemp()) / "desk")
    with ix.writer() as w:
        w.add(
            {
                "id": "a1",
                "title": "Storm closes coastal roads",
                "body": "Heavy rain flooded ...",
                "date": "2024-03-01T08:00:00Z",
                "source": "Desk",
                "section": "Weather",
            }
        )
        w.add(
            {
                "id": "a2",
                "title": "Council approves budget",
                "body": "The city council voted ...",
                "date": "2024-03-01T12:30:00Z",
                "source": "Desk",
                "section": "Politics",
            }
        )
        w.add(
            {
                "id": "a3",
                "title": "Storm damage estimated",
                "body": "Insurers estimate storm ...",
                "date": "2024-03-02T09:15:00Z",
                "source": "Wire",
                "section": "Weather",
            }
        )

    with ix.writer() as w:  # a correction (same id: replaces) and a retraction
        w.add(
            {
                "id": "a1",
                "title": "Storm closes coastal roads (corrected)",
                "body": "Heavy rain flooded two roads ...",
                "date": "2024-03-01T08:00:00Z",
                "source": "Desk",
                "section": "Weather",
            }
        )
        w.delete("a2")

    for query in ("storm", "section:weather", "storm date:2024-03-02", "-section:weather"):
        res = ix.search(query, sort="date" if ":" in query else "relevance")
        print(f"{query!r}: " + ", ".join(f"{h.id} {h.article.title!r}" for h in res.hits))


if __name__ == "__main__":
    main()
