"""Whole benchmark runs through the gateway with the scripted LLM: numbers, resume, CLI, judges, plots."""

from __future__ import annotations

import json
import re
from pathlib import Path

import litellm
import pytest
from typer.testing import CliRunner

from tests.conftest import scripted_models
from ttd.bench.cli import app as bench_app
from ttd.bench.datasets import load
from ttd.bench.runner import BenchSpec, read_rows, run_bench
from ttd.bench.summary import fmt
from ttd.compare import comparison
from ttd.errors import TTDError
from ttd.shape import short_answer

SYSTEMS = ["closed-book", "rag", "iterative-rag", "ttd-backbone", "ttd-evolution", "ttd-full"]
# the ttd systems' short answers are read a sentence per call, hops + 1 here (none states the answer)
CALLS = {"closed-book": 2, "rag": 2, "iterative-rag": 3, "ttd-backbone": 9, "ttd-full": 12}
# a short-answer question saves the first question call (its plan's first hop)
SHORT_SAVES = {"closed-book": 0, "rag": 0, "iterative-rag": 0, "ttd-backbone": 1, "ttd-full": 1}
# a choice comparison ("..., A or B?") is read entity by entity first: a fact call per option and one
# decide call; the scripted reply names neither option, so the hop reader then reads as before
COMPARE_COSTS = {"closed-book": 0, "rag": 0, "iterative-rag": 0, "ttd-backbone": 3, "ttd-full": 3}


def gold_by_question(limit: int = 10) -> dict[str, list[str]]:
    return {r.question: r.answers for r in load("hotpotqa", limit)[1]}


def install_responders(scripted, golds: dict[str, list[str]]) -> None:
    """Extraction returns the gold answer for every other question; the judge says yes iff it sees it."""
    ordered = list(golds)

    def answer(messages):
        prompt = "\n".join(m["content"] for m in messages)
        if "The short answer the response gives" in prompt:
            question = re.search(r"Question: (.*)\n", prompt).group(1)
            return golds[question][0] if ordered.index(question) % 2 == 0 else "certainly not that"
        return "Some reasoning from the passages [1]."

    def judge(messages):
        prompt = "\n".join(m["content"] for m in messages)
        if "[correct_answer]:" not in prompt:  # self-evolution's variant judge
            return json.dumps({"helpfulness": 7, "comprehensiveness": 6, "critique": "more detail"})
        response = prompt.split("[response]:", 1)[1].split("[correct_answer]:", 1)[0]
        gold = prompt.split("[correct_answer]:", 1)[1].split("\n", 2)[0].strip()
        correct = "yes" if gold.split(" | ")[0].lower() in response.lower() else "no"
        return json.dumps(
            {"extracted_final_answer": "x", "reasoning": "r", "correct": correct, "confidence": 80}
        )

    scripted.respond("answer", answer)
    scripted.respond("judge", judge)


def spec(tmp_path: Path, **kw) -> BenchSpec:
    base = dict(dataset="hotpotqa", systems=["rag"], out=str(tmp_path / "out"), limit=10, steps=2, k=3)
    base.update(kw)
    base["overrides"] = {**scripted_models(), **base.get("overrides", {})}
    return BenchSpec(**base)


def test_whole_run_summary_matches_the_jsonl(scripted, tmp_path, benchmarks):
    golds = gold_by_question()
    questions = {r.id: r.question for r in load("hotpotqa", 10)[1]}
    assert any(map(short_answer, questions.values()))  # HotpotQA questions are factoid: the short shape
    install_responders(scripted, golds)
    result = run_bench(spec(tmp_path, systems=SYSTEMS, concurrency=3), progress=False, echo=lambda m: None)
    out = result.out
    rows = read_rows(out / "results.jsonl")
    assert result.unavailable == {}
    errors = [r["error"] for r in rows if r["error"]]
    assert len(rows) == 60 and not errors, errors
    # every model call is some row's cost, except the correctness judge (one per row, reported apart)
    assert sum(r["calls"] for r in rows) == len(scripted.calls) - len(rows)
    summary = json.loads((out / "summary.json").read_text())
    table = {row["system"]: row for row in summary["systems"]}
    markdown = (out / "summary.md").read_text()
    for system, calls in CALLS.items():
        mine = [r for r in rows if r["system"] == system]
        by_shape = {
            r["calls"]
            + SHORT_SAVES[system] * short_answer(questions[r["id"]])
            - COMPARE_COSTS[system] * (comparison(questions[r["id"]], []) is not None)
            for r in mine
        }
        assert len(mine) == 10 and by_shape == {calls}, system
        calls = sum(r["calls"] for r in mine) / 10
        expected = {
            "em": sum(r["em"] for r in mine) / 10,
            "f1": sum(r["f1"] for r in mine) / 10,
            "judge": sum(bool(r["judge_correct"]) for r in mine) / 10,
            "tokens_per_q": sum(r["tokens"] for r in mine) / 10,
            "calls_per_q": calls,
            "wall_s_per_q": sum(r["wall_s"] for r in mine) / 10,
        }
        recalls = [r["supporting_recall"] for r in mine if r["supporting_recall"] is not None]
        expected["supporting_recall"] = sum(recalls) / len(recalls) if recalls else None
        for key, value in expected.items():
            assert table[system][key] == pytest.approx(value), (system, key)
        assert expected["em"] == 0.5  # the extraction step's answer is what gets scored
        cells = [fmt(k, expected[k]) for k in ("em", "f1", "judge", "supporting_recall", "tokens_per_q")]
        assert f"| {system} | 10 | " + " | ".join(cells) in markdown
    assert any(comparison(q, []) for q in questions.values())  # the sample holds a choice comparison
    # no comparison was answered by its facts: the fallback fired and is counted, not hidden
    assert all(r["detail"]["compared"] == 0 for r in rows if r["system"].startswith("ttd-"))
    assert all(r["detail"]["extracted"] for r in rows)  # no response stated an answer line
    assert all(row["extracted"] == 1.0 for row in table.values())
    assert table["closed-book"]["supporting_recall"] is None  # retrieves nothing: no recall to report
    assert table["rag"]["supporting_recall"] > 0
    # the ablations differ in what they run: evolution adds variant and judge calls, denoising drafts
    evolution = [r for r in rows if r["system"] == "ttd-evolution"]
    assert min(r["calls"] for r in evolution) > CALLS["ttd-backbone"]
    assert {"draft", "revise", "judge"} <= {c.role for c in scripted.calls}
    for name in ("accuracy_vs_tokens.png", "accuracy_vs_wall.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # ttd systems ran through the project's stages with the bench corpus, not the wiki index
    full = next(r for r in rows if r["system"] == "ttd-full")
    assert full["retrieved_ids"] and all(i.startswith("para:") for i in full["retrieved_ids"])
    assert (out / "runs" / "ttd-full").is_dir()
    # each run's report fallbacks are counted, read from its own report.json
    saved = json.loads((out / "runs" / "ttd-full" / full["detail"]["run_id"] / "report.json").read_text())
    assert full["detail"]["report_fallbacks"] == {
        k: saved["citations"][k] for k in ("from_draft", "from_facts", "few_facts", "evidence_section")
    }
    # ... and the hops R_T left with no supported claim, which the summary gives per system
    full_rows = [r for r in rows if r["system"] == "ttd-full"]
    assert full["detail"]["uncovered"] == len(saved["trajectory"]["noise"][-1]["uncovered"])
    left = sum(r["detail"]["uncovered"] > 0 for r in full_rows) / len(full_rows)
    assert table["ttd-full"]["uncovered"] == pytest.approx(left)
    assert table["rag"]["uncovered"] is None  # no draft, no plan: nothing to cover


def test_a_stated_answer_line_is_scored_without_the_extraction_call(scripted, tmp_path, benchmarks):
    golds = gold_by_question(4)
    ordered = list(golds)

    def answer(messages):  # rag states an answer line on every other question
        question = re.search(r"Question: (.*)\n", messages[-1]["content"]).group(1)
        if ordered.index(question) % 2 == 0:
            return f"The passages name it [1].\nAnswer: {golds[question][0]} [1]"
        return "The passages name it [1]."

    scripted.respond("answer", answer)
    result = run_bench(spec(tmp_path, limit=4, judge=False), progress=False, echo=lambda m: None)
    rows = {r["question"]: r for r in read_rows(result.out / "results.jsonl")}
    for i, question in enumerate(ordered):
        row = rows[question]
        assert row["detail"]["extracted"] is (i % 2 == 1), question
        assert row["calls"] == 1 + (i % 2 == 1)  # the answer, plus the extraction where none was stated
        if i % 2 == 0:
            assert row["prediction"] == golds[question][0] and row["em"] == 1.0
    summary = json.loads((result.out / "summary.json").read_text())
    assert summary["systems"][0]["extracted"] == 0.5


def test_an_unavailable_system_is_reported_not_faked(scripted, tmp_path, monkeypatch, benchmarks):
    from ttd.bench import systems

    monkeypatch.setattr(systems, "preset_names", lambda: ["default"])
    said = []
    result = run_bench(
        spec(tmp_path, systems=["rag", "ttd-evolution"], limit=2), progress=False, echo=said.append
    )
    assert "self-evolution settings not found" in result.unavailable["ttd-evolution"]
    assert said == [f"skipping ttd-evolution: {result.unavailable['ttd-evolution']}"]
    assert {r["system"] for r in read_rows(result.out / "results.jsonl")} == {"rag"}
    assert "| ttd-evolution | unavailable: self-evolution" in (result.out / "summary.md").read_text()
    with pytest.raises(TTDError, match="no system can run"):
        run_bench(spec(tmp_path / "x", systems=["ttd-evolution"]), progress=False, echo=said.append)


def test_resume_skips_finished_items_and_retries_failures(scripted, tmp_path, benchmarks):
    golds = gold_by_question()
    install_responders(scripted, golds)
    unlucky = list(golds)[3]

    def fail(call, n):
        if call.role == "answer" and unlucky in call.prompt and "short answer" in call.prompt:
            return litellm.BadRequestError("boom", model="scripted/answer", llm_provider="scripted")
        return None

    scripted.fail = fail
    first = run_bench(spec(tmp_path, judge=False), progress=False)
    assert first.ran == 10 and first.summary["systems"][0]["errors"] == 1
    with pytest.raises(TTDError, match="--resume"):
        run_bench(spec(tmp_path, judge=False), progress=False)
    scripted.fail = None
    scripted.calls.clear()
    second = run_bench(spec(tmp_path, judge=False, resume=True), progress=False)
    assert (second.ran, second.skipped) == (1, 9)
    assert len(scripted.calls) == 2 and all(unlucky in c.prompt for c in scripted.calls)
    assert second.summary["systems"][0]["errors"] == 0 and second.summary["systems"][0]["n"] == 10
    scripted.calls.clear()
    third = run_bench(spec(tmp_path, judge=False, resume=True), progress=False)
    assert (third.ran, third.skipped, len(scripted.calls)) == (0, 10, 0)
    # a line cut off by a kill is ignored (that item is redone), anything else is an error with its line
    results = tmp_path / "out" / "results.jsonl"
    results.write_text(results.read_text() + '{"system": "rag", "id"')
    assert len(read_rows(results)) == 11
    results.write_text('{"oops"\n' + results.read_text())
    with pytest.raises(TTDError, match=r"results\.jsonl:1 is not valid JSON"):
        read_rows(results)


def test_cli_lists_every_system():
    from ttd.bench import cli, systems

    assert tuple(systems.SYSTEMS) == cli.SYSTEM_NAMES


def test_cli_runs_and_prints_the_table(scripted, tmp_path, benchmarks):
    args = ["hotpotqa", "-s", "closed-book", "--system", "rag", "--limit", "3", "--model", "scripted/answer"]
    args += ["--no-judge", "--quiet", "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(bench_app, args)
    assert result.exit_code == 0, result.output
    assert "| closed-book | 3 |" in result.output and "| rag | 3 |" in result.output
    bad = CliRunner().invoke(bench_app, ["hotpotqa", "-s", "nosuch", "--out", str(tmp_path / "x"), "--quiet"])
    assert bad.exit_code == 2 and "unknown system 'nosuch'" in bad.output


def write_long_form(tmp_path: Path) -> Path:
    path = tmp_path / "longform.jsonl"
    rows = [
        {
            "id": f"lf{i}",
            "question": f"Analyse the market for product {i}.",
            "paragraphs": [{"title": f"Product {i}", "text": f"Product {i} market grows and product sells."}],
        }
        for i in range(4)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_side_by_side_judge_in_both_orders(scripted, tmp_path):
    """The judge prefers the report that cites; shown in both orders, rag must win every question."""

    def judge(messages):
        prompt = messages[-1]["content"]
        a = prompt.split("=== Report A ===", 1)[1].split("=== Report B ===", 1)[0]
        better = "A much better" if "[1]" in a else "B much better"
        return json.dumps(
            {"helpfulness": better, "comprehensiveness": better.replace(" much", ""), "reasoning": "."}
        )

    scripted.respond("judge", judge)
    scripted.respond(
        "answer", lambda m: "Plain text." if "Passages" not in m[-1]["content"] else "Cited [1]."
    )
    path = write_long_form(tmp_path)
    result = run_bench(
        spec(tmp_path, dataset=str(path), systems=["rag"], vs="closed-book", limit=None), progress=False
    )
    pw = result.summary["pairwise"]
    assert pw["helpfulness"]["n"] == 4 and pw["helpfulness"]["win"] == 1.0
    assert pw["comprehensiveness"]["win"] == 1.0 and list(pw["comprehensiveness"]["win_ci"]) == [1.0, 1.0]
    judged = read_rows(result.out / "pairwise.jsonl")
    assert all(r["ab"]["helpfulness"] == 2 and r["ba"]["helpfulness"] == -2 for r in judged)
    assert sum(c.role == "judge" for c in scripted.calls) == 8  # 4 questions x 2 orders
    assert "Side by side: rag (A) vs closed-book (B)" in (result.out / "summary.md").read_text()
    # no extraction step on long-form sets: one call per system per question
    assert {r["calls"] for r in read_rows(result.out / "results.jsonl")} == {1}


def test_a_position_biased_judge_cancels_out(scripted, tmp_path):
    scripted.respond(
        "judge", lambda m: json.dumps({"helpfulness": "A better", "comprehensiveness": "A better"})
    )
    path = write_long_form(tmp_path)
    result = run_bench(
        spec(tmp_path, dataset=str(path), systems=["rag"], vs="closed-book", limit=None), progress=False
    )
    assert result.summary["pairwise"]["helpfulness"]["tie"] == 1.0


def test_accuracy_per_hop_count(scripted, tmp_path):
    path = tmp_path / "hops.jsonl"
    rows = [
        {
            "id": f"q{i}",
            "question": f"Question {i}?",
            "answers": ["yes"],
            "hops": f"{2 + i % 3}hop",
            "paragraphs": [{"title": "T", "text": f"text {i}", "is_supporting": True}],
        }
        for i in range(6)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    scripted.respond("answer", lambda m: "yes" if "Question 2?" in m[-1]["content"] else "no")
    result = run_bench(
        spec(tmp_path, dataset=str(path), systems=["closed-book"], judge=False, limit=None), progress=False
    )
    by = result.summary["systems"][0]["f1_by_hops"]
    assert by == {"2": 0.0, "3": 0.0, "4": 0.5}  # only q2 (4 hops of q2, q5) is right
    assert (result.out / "accuracy_by_hops.png").read_bytes()[:4] == b"\x89PNG"
    assert "F1 by hop count" in (result.out / "summary.md").read_text()


def test_shards_split_one_run_between_processes(scripted, tmp_path, benchmarks):
    first = run_bench(spec(tmp_path, judge=False, shard="0/2"), progress=False)
    second = run_bench(spec(tmp_path, judge=False, shard="1/2", resume=True), progress=False)
    rows = read_rows(tmp_path / "out" / "results.jsonl")
    assert (first.ran, second.ran) == (5, 5) and len({r["id"] for r in rows}) == len(rows) == 10
    assert second.summary["systems"][0]["n"] == 10
    with pytest.raises(TTDError, match="I/N"):
        run_bench(spec(tmp_path, shard="half", resume=True), progress=False)


def test_the_judge_model_is_checked_only_when_the_bench_judges(scripted, tmp_path, benchmarks):
    """No self-evolution here: only the bench's own correctness judge calls the judge model."""
    bad = {"judge_model": "nosuchprovider/judge"}
    with pytest.raises(TTDError, match="nosuchprovider/judge"):
        run_bench(spec(tmp_path / "a", limit=1, overrides=bad), progress=False, echo=lambda m: None)
    assert not (tmp_path / "a" / "out" / "results.jsonl").exists()  # refused before any work
    result = run_bench(
        spec(tmp_path / "b", limit=1, judge=False, overrides=bad), progress=False, echo=lambda m: None
    )
    assert [r["system"] for r in read_rows(result.out / "results.jsonl")] == ["rag"]
