"""The short answer's reader through the real path: the real offline Wikipedia index, the real 0.5B model."""

from __future__ import annotations

import asyncio
import re

import pytest

from ttd.config import resolve_config
from ttd.run import dependencies
from ttd.stages import report as report_stage

pytestmark = pytest.mark.real
pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")

QUESTION = "Which people defeated the Roman army at the Battle of Adrianople?"


def test_the_real_model_reads_a_short_answer_from_the_questions_own_passages():
    config = resolve_config(model="local/qwen2.5-coder-0.5b", temperature=0.0, short_report="reason")
    deps = dependencies(config)

    async def main():
        try:
            expected = await deps.retriever.search(QUESTION, k=config.retrieval.k)
            state = {"question": QUESTION, "sources": {}, "qa": [], "drafts": [], "usage": []}
            return expected, await report_stage.run(state, deps)
        finally:
            await deps.retriever.aclose()

    expected, out = asyncio.run(main())
    # the passages the question itself retrieves join the run's sources, numbered in retrieval order
    added = sorted(out["sources"].values(), key=lambda r: r["n"])
    assert [r["id"] for r in added] == [p.id for p in expected]
    reads = [u for u in out["usage"] if u["role"] == "report"]
    assert 1 <= len(reads) <= config.hops + 1  # a sentence per call, at most one per hop and the answer
    assert {u["role"] for u in out["usage"]} <= {"report", "verify"}
    body = out["report"]
    assert body.startswith("# ") and body.split("\n\n")[1].startswith("**Answer:**")
    # every mark resolves to a listed source: none was dropped as fabricated, none is left broken
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", body.split("## Sources")[0])}
    assert marks and marks <= {s["n"] for s in out["report_sources"]}
    assert out["citations"]["dropped"] == 0
    print(body, out["citations"])
