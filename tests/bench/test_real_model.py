"""A real-model smoke run: 2 HotpotQA questions, `rag`, the small embedded model (offline, CPU)."""

from __future__ import annotations

import pytest

from ttd.bench.runner import BenchSpec, read_rows, run_bench
from ttd.bench.systems import stated_answer
from ttd.errors import TTDError

pytestmark = pytest.mark.real
pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")


def test_rag_on_two_questions_with_the_local_model(tmp_path, benchmarks):
    from ttd.llm.local import check_available

    try:
        check_available("qwen2.5-coder-0.5b")
    except TTDError as exc:
        pytest.skip(f"the local model is not installed: {exc}")
    spec = BenchSpec(
        dataset="hotpotqa",
        systems=["rag"],
        out=str(tmp_path / "real"),
        limit=2,
        model="local/qwen2.5-coder-0.5b",
        k=3,
        judge=False,
    )
    result = run_bench(spec, progress=False)
    rows = read_rows(result.out / "results.jsonl")
    assert len(rows) == 2 and not any(r["error"] for r in rows)
    for row in rows:
        assert row["prediction"] and row["response"]
        # the answer call, plus the extraction call only for a response that states no short answer
        stated = stated_answer(row["response"])
        assert row["detail"]["extracted"] is (stated is None)
        assert row["calls"] == 1 + row["detail"]["extracted"]
        assert stated is None or row["prediction"] == stated
        assert row["prompt_tokens"] > 100 and row["completion_tokens"] > 0
        assert row["retrieved_ids"] and row["supporting_recall"] is not None
    assert result.summary["systems"][0]["n"] == 2
    assert (result.out / "summary.md").read_text().count("| rag | 2 |") == 1
