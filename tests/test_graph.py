"""Orchestration of Algorithm 1 through the real gateway and graph, with the scripted provider."""

from __future__ import annotations

import json
import re

import litellm
import pytest

import ttd
import ttd.retrieval
from tests.conftest import scripted_models
from ttd.errors import ModelReplyError
from ttd.shape import uncovered_areas

Q = "What caused the fall of the Western Roman Empire?"
SHORT = "Which people defeated the Roman army at Adrianople?"


def run(tmp_path, question=Q, **kw):
    # These cover the plain loop; claim verification and exit on noise are covered in test_claims.py.
    kw.setdefault("verify", {"mode": "off"})
    kw.setdefault("few_facts", 0)  # the report writer is part of the loop under test here
    return ttd.research(question, out=tmp_path, **scripted_models(), **kw)


def test_stage_order_and_trajectory_for_n_steps(scripted, tmp_path):
    report = run(tmp_path, steps=3)
    assert scripted.roles() == ["plan", "draft"] + ["question", "answer", "revise"] * 3 + ["report"]
    assert len(report.trajectory.drafts) == 4  # R0..R3
    assert [s.step for s in report.trajectory.steps] == [1, 2, 3]
    assert report.trajectory.exit_reason == "steps"
    assert report.usage.total.calls == len(scripted.calls)
    assert set(report.usage.by_role) == {"plan", "draft", "question", "answer", "revise", "report"}
    drafts = sorted((tmp_path / report.run_id / "drafts").glob("R*.md"))
    assert [d.name for d in drafts] == ["R00.md", "R01.md", "R02.md", "R03.md"]
    saved = json.loads((tmp_path / report.run_id / "report.json").read_text())
    assert saved["markdown"] == report.markdown


def test_the_draft_is_written_without_retrieval_and_questions_see_the_draft(scripted, tmp_path):
    scripted.reply("draft", "DRAFT-ZERO about Rome")
    run(tmp_path, steps=1)
    draft_call = next(c for c in scripted.calls if c.role == "draft")
    assert "[1]" not in draft_call.prompt  # no passages shown to the draft
    question_call = next(c for c in scripted.calls if c.role == "question")
    assert "DRAFT-ZERO about Rome" in question_call.prompt


def test_zero_steps_goes_from_draft_to_report(scripted, tmp_path):
    report = run(tmp_path, steps=0)
    assert scripted.roles() == ["plan", "draft", "report"]
    assert len(report.trajectory.drafts) == 1


def test_early_exit_when_plan_is_covered(scripted, tmp_path):
    scripted.reply(
        "question",
        json.dumps({"question": "What role did the army play?", "covered": False}),
        json.dumps({"question": "", "covered": True}),
    )
    report = run(tmp_path, steps=5, min_steps=1)
    assert report.trajectory.exit_reason == "covered"
    assert len(report.trajectory.steps) == 1
    assert len(report.trajectory.drafts) == 2
    assert scripted.roles().count("question") == 2 and report.markdown.startswith("# ")


def test_covered_with_a_plan_area_unsupported_searches_that_area(scripted, tmp_path):
    """Every README run at e6feebd..44a826d stopped on "covered" after 2 of 3 steps while the check found
    two plan areas with no supported claim; the step searches the first such area instead, no extra call."""
    areas = [
        {"title": "Army strength", "goal": "How large the army was"},
        {"title": "Tax burden", "goal": "Taxes"},
    ]
    scripted.reply("plan", json.dumps({"areas": areas}))
    covered = json.dumps({"question": "", "covered": True})
    first = json.dumps({"question": "What role did the army play?", "covered": False})
    scripted.reply("question", first, *[covered] * 3)
    report = run(tmp_path, steps=5, min_steps=1, verify={"mode": "lexical", "patience": 10})
    noise = report.trajectory.noise
    open_areas = uncovered_areas([c.model_dump() for c in noise[1].claims], areas)
    assert open_areas == ["Army strength", "Tax burden"]
    asked = [s.question for s in report.trajectory.steps]
    assert asked[1:] == ["Army strength: How large the army was", "Tax burden: Taxes"]
    # each unsupported area searched once: "covered" then ends the loop, with no call to ask again
    assert report.trajectory.exit_reason == "covered" and scripted.roles().count("question") == 4


def test_covered_is_ignored_before_min_steps(scripted, tmp_path):
    scripted.reply("question", json.dumps({"question": "What role did the army play?", "covered": True}))
    report = run(tmp_path, steps=2, min_steps=1)
    assert len(report.trajectory.steps) == 2
    assert report.trajectory.exit_reason == "steps"


def test_exit_on_a_repeated_question_after_one_retry(scripted, tmp_path):
    same = json.dumps({"question": "What role did the army play in the fall?", "covered": False})
    near = json.dumps({"question": "What role did the army play in the fall of Rome?", "covered": False})
    scripted.reply("question", same, same, near)
    report = run(tmp_path, steps=4, min_steps=1)
    assert report.trajectory.exit_reason == "repeat"
    assert len(report.trajectory.steps) == 1
    assert scripted.roles().count("question") == 3  # step 1, step 2, step 2's retry


def test_citations_resolve_and_a_fabricated_one_is_dropped(scripted, tmp_path):
    scripted.respond("report", lambda m: "# Rome\n\nInvasions mattered [1]. Coins were debased [2][99].\n")
    report = run(tmp_path, steps=2)
    assert report.citations.dropped == 1
    assert "[99]" not in report.markdown
    retrieved = {s.id for s in report.trajectory.retrieved}
    assert {s.id for s in report.sources} <= retrieved
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", report.markdown.split("## Sources")[0])}
    # the writer's two, and the checked facts it left out (added under their groups)
    assert marks == {s.n for s in report.sources} and {1, 2} <= marks
    assert report.citations.facts_added > 0
    for source in report.sources:
        assert f"[{source.n}] {source.title}" in report.markdown


def test_structured_output_retries_once_with_the_parse_error(scripted, tmp_path):
    scripted.reply("plan", "Sure! Here is a plan without JSON", json.dumps({"areas": [{"title": "Economy"}]}))
    report = run(tmp_path, steps=1)
    plan_calls = [c for c in scripted.calls if c.role == "plan"]
    assert len(plan_calls) == 2
    assert "could not be parsed" in plan_calls[1].messages[-1]["content"]
    assert plan_calls[0].params.get("response_format") == {"type": "json_object"}
    assert report.trajectory.plan == [{"title": "Economy", "goal": ""}]
    assert report.usage.by_role["plan"].parse_errors == 1
    assert report.usage.total.fallbacks == 0  # the retry parsed: no fallback fired


def test_unparseable_plan_falls_back_to_list_lines(scripted, tmp_path):
    scripted.reply("plan", "1. Economy\n2. Army", "- Economy\n- Army and frontier")
    report = run(tmp_path, steps=1)
    assert [a["title"] for a in report.trajectory.plan] == ["Economy", "Army and frontier"]
    assert [c["fallback"] for c in report.usage.calls if c["role"] == "plan"] == [None, "list_lines"]
    assert report.usage.by_role["plan"].fallbacks == 1 and report.usage.total.fallbacks == 1


def test_every_call_is_counted_at_the_step_it_belongs_to(scripted, tmp_path):
    report = run(tmp_path, steps=2)
    assert [(c["role"], c["step"]) for c in report.usage.calls] == [
        ("plan", 0),
        ("draft", 0),
        *[(role, t) for t in (1, 2) for role in ("question", "answer", "revise")],
        ("report", 2),
    ]


def test_transient_errors_are_retried_with_backoff(scripted, tmp_path):
    def fail_first_answer(call, n):
        if call.role == "answer" and sum(c.role == "answer" for c in scripted.calls) == 1:
            return litellm.RateLimitError("slow down", llm_provider="scripted", model="scripted/answer")
        return None

    scripted.fail = fail_first_answer
    report = run(tmp_path, steps=1, retries=2)
    answer_usage = [c for c in report.usage.calls if c["role"] == "answer"]
    assert answer_usage[0]["attempts"] == 2
    assert len(report.trajectory.steps) == 1


def test_a_permanent_error_is_not_retried(scripted, tmp_path):
    scripted.fail = lambda call, n: (
        litellm.BadRequestError("bad", model="scripted/plan", llm_provider="scripted")
        if call.role == "plan"
        else None
    )
    with pytest.raises(ModelReplyError, match=r"scripted/plan answered HTTP 400: .*bad") as caught:
        run(tmp_path, steps=1)
    assert isinstance(caught.value.__cause__, litellm.BadRequestError)  # one clear line, the cause kept
    assert scripted.roles() == ["plan"]


def test_stream_yields_typed_events_in_order(scripted, tmp_path):
    events = list(ttd.stream(Q, out=tmp_path, steps=2, verify={"mode": "off"}, **scripted_models()))
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "report"
    assert isinstance(events[-1].data["report"], ttd.Report)
    stages = [e.stage for e in events if e.kind == "stage_started"]
    assert stages == [
        "plan",
        "draft",
        "verify",
        "question",
        "answer",
        "revise",
        "verify",
        "question",
        "answer",
        "revise",
        "verify",
        "report",
    ]
    questions = [e for e in events if e.kind == "question"]
    assert [e.step for e in questions] == [1, 2] and all(e.total_steps == 2 for e in questions)
    assert (
        sum(e.tokens for e in events if e.kind == "llm_call") == events[-1].data["report"].usage.total.tokens
    )


async def test_aresearch_runs_inside_an_event_loop(scripted, tmp_path):
    report = await ttd.aresearch(Q, out=tmp_path, steps=1, **scripted_models())
    assert len(report.trajectory.drafts) == 2
    with pytest.raises(RuntimeError, match="aresearch"):
        ttd.research(Q, out=tmp_path, steps=1, **scripted_models())


class FixedRetriever(ttd.retrieval.Retriever):
    name = "fixed"

    def __init__(self):
        self.queries = []

    async def search(self, query, k=5):
        self.queries.append(query)
        return [
            ttd.retrieval.Passage(
                id=f"doc:{i}", title=f"Doc {i}", text=f"Text {i}", location=f"/docs/{i}.txt"
            )
            for i in range(k)
        ]


def test_a_retriever_instance_can_be_passed_in(scripted, tmp_path):
    retriever = FixedRetriever()
    report = run(tmp_path, steps=2, k=2, retriever=retriever)
    # a report's search question that does not name the subject is searched with it (ttd.subject.scoped),
    # each beside the research question's own search (retrieval.anchor)
    steps = report.trajectory.steps
    assert retriever.queries[::2] == [f"{s.question} (Western Roman Empire)" for s in steps]
    assert retriever.queries[1::2] == [report.question] * len(steps)
    # merged across steps; a later step adds the question's next-ranked passage, not one already seen
    later = {"doc:2"} if len(steps) > 1 else set()
    assert {s.id for s in report.trajectory.retrieved} == {"doc:0", "doc:1"} | later
    assert all(s.location.startswith("/docs/") for s in report.sources)


def test_a_short_answer_that_loses_every_citation_falls_back_to_the_denoised_draft(scripted, tmp_path):
    scripted.respond("report", lambda m: "# Rome\n\nA report with no citations at all.\n")
    report = run(tmp_path, question=SHORT, steps=2, short_report="write")
    assert report.citations.from_draft == 1 and report.citations.from_facts == 0
    assert report.citations.cited >= 1
    assert report.markdown.startswith(report.trajectory.drafts[-1].split("[")[0].strip()[:10])


def test_a_user_error_inside_a_provider_is_not_retried_and_keeps_its_message(scripted, tmp_path):
    from ttd.errors import MissingExtraError

    scripted.fail = lambda call, n: MissingExtraError("local", "the thing") if call.role == "plan" else None
    with pytest.raises(MissingExtraError, match=r"pip install 'ttd-dr\[local\]'"):
        run(tmp_path, steps=1, retries=3)
    assert scripted.roles() == ["plan"]


def test_a_repeat_before_min_steps_does_not_end_the_loop(scripted, tmp_path):
    same = json.dumps({"question": "What role did the army play in the fall?", "covered": False})
    scripted.reply("question", same, same, same)
    report = run(tmp_path, steps=2, min_steps=2)
    assert len(report.trajectory.steps) == 2 and report.trajectory.exit_reason == "steps"


def test_a_report_that_loses_every_citation_sets_out_its_cited_facts_not_the_draft(scripted, tmp_path):
    scripted.respond("report", lambda m: "# Rome\n\nA report with no citations at all.\n")
    report = run(tmp_path, steps=2)
    assert report.citations.from_facts == 1 and report.citations.from_draft == 0
    assert report.citations.facts >= 1 and report.citations.cited >= 1
    body = report.markdown.split("## Sources")[0]
    assert "no citations at all" not in body and "## " in body  # the facts under their topics
    # each fact keeps its mark; nothing of R_T's own beliefs comes in uncited
    for sentence in re.findall(r"[^.\n]+\.", body.split("\n", 1)[1]):
        assert re.search(r"\[\d+\]", sentence), sentence


def test_a_short_answer_that_loses_every_citation_opens_with_the_best_cited_answer_sentence(
    scripted, tmp_path
):
    scripted.respond("revise", lambda m: "# Draft\n\nA rewrite that dropped every mark.\n")
    scripted.respond("report", lambda m: "# Rome\n\nA report with no citations at all.\n")
    report = run(tmp_path, question=SHORT, steps=2)
    assert report.citations.cited == 1 and report.markdown.split("\n\n")[1].startswith("**Answer:**")
    assert (report.citations.evidence_section, report.citations.from_draft) == (0, 0)


def test_when_nothing_keeps_a_citation_the_cited_step_answers_are_kept(scripted, tmp_path):
    scripted.respond("revise", lambda m: "# Draft\n\nA rewrite that dropped every mark.\n")
    scripted.respond("report", lambda m: "# Rome\n\nA report with no citations at all.\n")
    # answers that only talk about the passages: no answer line, no fact to set out
    scripted.respond("answer", lambda m: "Passage [1] does not say who won at Adrianople.")
    report = run(tmp_path, question=SHORT, steps=2)
    assert report.citations.evidence_section == 1 and report.citations.from_draft == 0
    assert "## Evidence from the research steps" in report.markdown
    assert report.citations.cited >= 1
    for step in report.trajectory.steps:
        assert f"**{step.question}**" in report.markdown
