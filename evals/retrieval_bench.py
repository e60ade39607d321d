"""Retrieval benchmark: recall@2/5/10 and MRR of supporting titles on pooled HotpotQA and MuSiQue, for
lexical (bm25s), dense (all-MiniLM-L6-v2) and hybrid (RRF) ranking through ttd's own corpus pipeline; then
index build rate and query latency at 10k documents, bm25s against rank_bm25 in the same run.

"Pooled": every paragraph of every record (supporting and distractor) goes into one corpus, so a question
competes against the whole set rather than its own ten paragraphs. Run: python evals/retrieval_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "benchmarks"
SETS = {
    "hotpotqa": DATA / "hotpotqa" / "dev_distractor.normalized.jsonl",
    "musique": DATA / "musique" / "dev_sample.normalized.jsonl",
}
KS = (2, 5, 10)


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pool(records: list[dict]) -> list[dict[str, str]]:
    """Unique paragraphs of all records (a title appears once; HotpotQA titles are Wikipedia pages)."""
    seen: dict[str, dict[str, str]] = {}
    for r in records:
        for p in r["paragraphs"]:
            seen.setdefault(p["title"], {"title": p["title"], "text": p["text"]})
    return list(seen.values())


def metrics(ranked_titles: list[list[str]], records: list[dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in KS:
        out[f"R@{k}"] = statistics.mean(
            len(set(r["supporting_titles"]) & set(t[:k])) / len(set(r["supporting_titles"]))
            for t, r in zip(ranked_titles, records, strict=True)
        )
    rr = []
    for t, r in zip(ranked_titles, records, strict=True):
        pos = [i for i, x in enumerate(t, start=1) if x in set(r["supporting_titles"])]
        rr.append(1.0 / pos[0] if pos else 0.0)
    out["MRR"] = statistics.mean(rr)
    return out


def ranked_titles(retriever, records: list[dict], depth: int = 10) -> list[list[str]]:  # noqa: ANN001
    title_of = {row.id: row.title for row in retriever._rows}
    out = []
    for r in records:
        titles: list[str] = []
        for cid in retriever.rank_ids(r["question"], depth * 3):  # chunks -> distinct titles
            if title_of[cid] not in titles:
                titles.append(title_of[cid])
        out.append(titles[:depth])
    return out


def quality(modes: list[str], limit: int | None) -> list[str]:
    from ttd.retrieval.corpus import Corpus
    from ttd.retrieval.hybrid import CorpusRetriever

    lines = [
        "| dataset | questions | pooled paragraphs | mode | R@2 | R@5 | R@10 | MRR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, path in SETS.items():
        if not path.exists():
            lines.append(f"| {name} | - | - | (data missing at {path}) | | | | |")
            continue
        records = load(path)[:limit]
        paras = pool(records)
        src = Path(tempfile.mkdtemp()) / f"{name}.jsonl"
        src.write_text("".join(json.dumps(p) + "\n" for p in paras))
        with Corpus(name) as c:
            c.update([src])
        for mode in modes:
            t0 = time.perf_counter()
            retr = CorpusRetriever([name], mode=mode)
            retr._load()  # embeds the corpus once for dense modes (cached in the corpus DB)
            load_s = time.perf_counter() - t0
            m = metrics(ranked_titles(retr, records), records)
            lines.append(
                f"| {name} | {len(records)} | {len(paras)} | {mode} | "
                + " | ".join(f"{m[k]:.3f}" for k in ("R@2", "R@5", "R@10", "MRR"))
                + " |"
            )
            print(f"  {name} {mode}: {m} (load/embed {load_s:.1f}s)", file=sys.stderr)
    return lines


def ten_k_docs(n: int) -> list[str]:
    """n distinct paragraphs: every pooled benchmark paragraph, then synthetic ones made by appending the
    first sentence of another paragraph (distinct texts with realistic vocabulary and length)."""
    paras: list[str] = []
    for path in [*SETS.values(), DATA / "2wikimultihopqa" / "dev_sample.normalized.jsonl"]:
        if path.exists():
            paras += [f"{p['title']}\n{p['text']}" for p in pool(load(path))]
    base = list(paras)
    i = 0
    while len(paras) < n:
        a, b = base[i % len(base)], base[(i * 7 + 3) % len(base)]
        first = re.split(r"(?<=[.!?])\s", b.split("\n", 1)[-1])[0]
        paras.append(f"{a} {first}")
        i += 1
    return paras[:n]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, q))


def speed(n: int, queries: list[str]) -> list[str]:
    import bm25s
    from rank_bm25 import BM25Okapi

    from ttd.retrieval.corpus import Corpus
    from ttd.retrieval.hybrid import CorpusRetriever
    from ttd.retrieval.lexical import LexicalIndex

    docs = ten_k_docs(n)
    stop = set(bm25s.stopwords.STOPWORDS_EN)
    tok = re.compile(r"(?u)\b\w\w+\b")

    def simple_tokens(t: str) -> list[str]:
        return [w for w in tok.findall(t.lower()) if w not in stop]

    rows = ["| system | build (paragraphs/s) | query p50 (ms) | query p95 (ms) |", "|---|---|---|---|"]

    t0 = time.perf_counter()
    okapi = BM25Okapi([simple_tokens(d) for d in docs])
    build = time.perf_counter() - t0
    lat = []
    for q in queries:
        t = time.perf_counter()
        scores = okapi.get_scores(simple_tokens(q))
        np.argpartition(-scores, 10)[:10]
        lat.append(time.perf_counter() - t)
    rows.append(
        f"| rank_bm25 BM25Okapi (baseline) | {n / build:,.0f} | {pct(lat, 50):.2f} | {pct(lat, 95):.2f} |"
    )

    t0 = time.perf_counter()
    lex = LexicalIndex(docs)
    build = time.perf_counter() - t0
    lat = []
    for q in queries:
        t = time.perf_counter()
        lex.search(q, 10)
        lat.append(time.perf_counter() - t)
    rows.append(
        f"| bm25s (ttd LexicalIndex, stemmed) | {n / build:,.0f} | {pct(lat, 50):.2f} | {pct(lat, 95):.2f} |"
    )

    # The whole ttd path: chunk + SQLite + lazily built index, then async search through the Retriever API.
    src = Path(tempfile.mkdtemp()) / "tenk.jsonl"
    src.write_text(
        "".join(json.dumps({"title": d.split("\n", 1)[0], "text": d.split("\n", 1)[1]}) + "\n" for d in docs)
    )
    t0 = time.perf_counter()
    with Corpus("tenk") as c:
        c.update([src])
    retr = CorpusRetriever(["tenk"], dense=False)
    retr._load()
    build = time.perf_counter() - t0
    import asyncio

    async def run_all() -> list[float]:
        out = []
        for q in queries:
            t = time.perf_counter()
            await retr.search(q, 10)
            out.append(time.perf_counter() - t)
        return out

    lat = asyncio.run(run_all())
    rows.append(
        f"| ttd corpus, lexical (index + SQLite + Retriever.search) | {n / build:,.0f} | "
        f"{pct(lat, 50):.2f} | {pct(lat, 95):.2f} |"
    )

    from ttd.retrieval.dense import dense_available, get_embedder

    if dense_available():
        emb = get_embedder()
        sample = docs[:500]
        t0 = time.perf_counter()
        emb.encode(sample)
        rate = len(sample) / (time.perf_counter() - t0)
        mat = np.tile(emb.encode(docs[:100]), (n // 100 + 1, 1))[:n]
        lat = []
        for q in queries:
            t = time.perf_counter()
            qv = emb.encode([q])[0]
            s = mat @ qv
            np.argpartition(-s, 10)[:10]
            lat.append(time.perf_counter() - t)
        rows.append(
            f"| dense MiniLM-L6 on CPU (embed; query = encode + 10k dot products) | {rate:,.0f} | "
            f"{pct(lat, 50):.2f} | {pct(lat, 95):.2f} |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", default="lexical,dense,hybrid")
    ap.add_argument("--limit", type=int, default=None, help="records per dataset (default: all)")
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("TTD_HOME", tempfile.mkdtemp(prefix="ttd-bench-"))
    import platform

    import torch

    machine = platform.processor() or platform.machine()
    print(
        f"# Retrieval benchmark\n\nmachine: {machine}, {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}; python {platform.python_version()}\n"
    )
    print("## Recall of supporting titles (pooled corpus)\n")
    print("\n".join(quality(args.modes.split(","), args.limit)))
    if not args.skip_speed:
        hp = SETS["hotpotqa"]
        queries = [r["question"] for r in load(hp)[:200]] if hp.exists() else ["test query"] * 50
        print(f"\n## Speed at {args.docs:,} documents ({len(queries)} HotpotQA questions as queries)\n")
        print("\n".join(speed(args.docs, queries)))


if __name__ == "__main__":
    main()
