"""The answer's shape: a factoid question gets a hop plan, a short draft, a step per hop, the answer first."""

from __future__ import annotations

import json
import re

import pytest

import ttd
from tests.conftest import scripted_models
from tests.test_claims import PASSAGES, PLAN, Wiki, answer_from_passage, revise_with_answer
from ttd.resources import load_sections
from ttd.shape import short_answer

SHORT = "Which people defeated the Roman army at Adrianople?"


@pytest.mark.parametrize(
    ("question", "short"),
    [
        (SHORT, True),
        ("In what year did the Danish botanist Tyge W. Böcher die?", True),
        ("Hugo Rodríguez Romero plays for a team in the autonomous community of what?", True),
        ("Lorenzo Monaco was influenced by which Italian painter and architect?", True),
        ("What caused the fall of the Western Roman Empire?", False),
        (
            'The actor known for his role as "Freddie" in The Deep Blue Sea won the Laurence Olivier Award '
            "for his performance in which play?",
            True,
        ),
        ("What role did the Huns play in the fall of Rome?", False),
        ("Why did the Western Roman Empire fall?", False),
        ("Evaluate the consequences of TikTok bans. Which companies are exposed?", False),
        ("Chart the landscape of AI agents and core technologies.", False),
    ],
)
def test_factoid_questions_want_a_short_answer(question: str, short: bool) -> None:
    assert short_answer(question) is short


def test_every_stage_has_words_for_both_shapes() -> None:
    sections = load_sections("shape")
    for stage in ("plan", "draft", "revise", "report"):
        assert sections[f"{stage}.short"] and sections[f"{stage}.long"], stage
    assert "one after another" in sections["plan.short"]
    assert "Answer: <short answer>" in sections["report.short"]


def _hops(n: int) -> str:
    return json.dumps({"areas": [{"title": f"Hop {i}", "goal": f"Find fact {i}"} for i in range(1, n + 1)]})


def research(question: str, tmp_path, **kw):
    kw.setdefault("few_facts", 0)  # a report question's writer call is part of the stage order under test
    return ttd.research(question, out=tmp_path, retriever=Wiki(), k=2, **scripted_models(), **kw)


def _two_hops(scripted, tmp_path, **kw):
    """A 2-hop plan run with 5 steps allowed; R_0's claim is one the word-overlap pass cannot settle, so
    a model check of R_1 or R_2 asks the verifier."""
    scripted.reply("plan", _hops(2))
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    scripted.respond("draft", lambda m: "# Adrianople\n\nThe Huns pushed many peoples west.\n")
    scripted.respond("verify", lambda m: json.dumps({"verdicts": []}))
    return research(SHORT, tmp_path, steps=5, min_steps=3, **kw)


def test_a_short_answer_takes_one_step_per_hop_and_reuses_the_drafts_verdicts(scripted, tmp_path):
    report = _two_hops(scripted, tmp_path, short_report="draft")
    assert [s.step for s in report.trajectory.steps] == [1, 2]  # two hops, not five steps
    assert report.trajectory.exit_reason == "steps"
    prompts = {c.role: c.prompt for c in scripted.calls}
    assert "1 to 3 areas" in prompts["plan"] and "120 words" in prompts["draft"]
    assert "keep it a short answer" in prompts["revise"]
    # the first hop is the plan's own; only the second is asked, and never offered "covered"
    assert report.trajectory.steps[0].question == "Hop 1: Find fact 1"
    asked = [c.prompt for c in scripted.calls if c.role == "question"]
    assert len(asked) == 1 and 'Set "covered" to false' in asked[0]
    caps = {c.role: c.params.get("max_tokens") for c in scripted.calls}
    assert (caps["draft"], caps["answer"], caps["revise"]) == (220, 200, 300)  # shape.SHORT_MAX_TOKENS
    # R_1, half the answer, is checked without a call; R_2 is the report: no rewrite call, and its
    # verdicts are reused, so no other check
    assert "report" not in scripted.roles() and scripted.roles().count("verify") == 1
    assert [r.checked for r in report.trajectory.noise] == [None, "lexical", None]
    from ttd.display import noise_table

    saved = json.loads((tmp_path / report.run_id / "report.json").read_text())
    assert "R1 (checked lexically)" in [str(c) for c in noise_table(saved).columns[0]._cells]
    # plan, draft, (answer, revise), question, (answer, revise, verify)
    assert len(scripted.calls) == 8
    assert report.markdown.split("\n\n")[1].startswith("**Answer:**")
    assert report.trajectory.report_noise is not None and report.trajectory.report_noise.claims


def _draft_then(answer: str):
    """The report writer repeats the checked draft it is shown and closes with "Answer: <answer>"."""
    return lambda m: m[-1]["content"].split("<draft>\n")[1].split("\n</draft>")[0] + f"\n\nAnswer: {answer}"


def test_a_written_short_answers_report_is_rewritten_from_the_notes(scripted, tmp_path):
    scripted.respond("report", _draft_then("Germanic foederati"))
    report = _two_hops(scripted, tmp_path, short_report="write")
    call = next(c for c in scripted.calls if c.role == "report")
    assert 'End with a line "Answer:' in call.prompt and call.params.get("max_tokens") == 300
    # written from R_2 without its unsupported claim (the scripted verifier supports none of R_0's)
    assert "The Huns pushed" not in call.prompt.split("<draft>")[1].split("</draft>")[0]
    # it reads the passages the notes cite, not only the notes' summary of them, and no other passage
    shown, notes = call.prompt.split("Passages:")[1].split("Research notes")
    cited = set(re.findall(r"\[(\d+)\]", notes.split("Checked draft")[0]))
    listed = re.findall(r"^\[(\d+)\] [^:]+: (.*)$", shown, re.M)
    assert listed and {n for n, _ in listed} == cited
    assert all(text in PASSAGES.values() for _, text in listed)
    # the rewrite repeats R_2's checked sentences: their verdicts are reused, no other check
    assert scripted.roles().count("verify") == 1 and len(scripted.calls) == 9
    # its closing answer, borne out by a checked sentence, opens the report with that sentence's mark
    opening = report.markdown.split("\n\n")[1]
    assert re.fullmatch(r"\*\*Answer:\*\* Germanic foederati \[1\]", opening), opening
    assert report.citations.answer_stated == 1
    assert report.markdown.count("Answer:") == 1


def _first_passage_then(answer: str):
    """The report writer restates the first passage it is shown, cited, and closes with the answer."""

    def reply(messages):
        n, text = re.search(r"^\[(\d+)\] [^:]+: ([^.]+)", messages[-1]["content"], re.M).groups()
        return f"{text} [{n}].\n\nAnswer: {answer}"

    return reply


def test_an_evidence_report_answers_from_the_runs_passages_alone(scripted, tmp_path):
    scripted.respond("report", _first_passage_then("Germanic foederati"))
    report = _two_hops(scripted, tmp_path, short_report="evidence")
    call = next(c for c in scripted.calls if c.role == "report")
    # every passage the run retrieved, cited or not, and neither the notes nor the draft
    listed = re.findall(r"^\[(\d+)\] ", call.prompt, re.M)
    assert sorted(map(int, listed)) == [s.n for s in report.trajectory.retrieved]
    assert "Research notes" not in call.prompt and "<draft>" not in call.prompt
    assert call.prompt.rstrip().endswith('End with a line "Answer: <short answer>".')
    assert report.markdown.split("\n\n")[1] == "**Answer:** Germanic foederati [1]"
    assert report.citations.answer_stated == 1


def test_a_supported_sentence_the_writer_left_unmarked_is_cited_from_the_verifiers_source(scripted, tmp_path):
    # HotpotQA, Bolelli or Wozniacki: "Simone Bolelli was born on October 8, 1985." stood uncited (3
    # words beside the question's, too few to attribute), so the report fell back to an evidence section
    # and its answer line had no mark to take
    said = "The Roman army relied on Germanic foederati"
    scripted.respond("report", lambda m: f"{said}.\n\nAnswer: Germanic foederati")
    report = _two_hops(scripted, tmp_path, short_report="write")
    assert report.citations.attributed == 0  # the words alone did not place the mark
    n = next(s.n for s in report.sources if s.title == "Army")
    assert report.markdown.split("\n\n")[1] == f"**Answer:** Germanic foederati [{n}]"
    assert f"{said} [{n}]." in report.markdown
    assert report.citations.evidence_section == 0 and report.citations.answer_stated == 1


def test_a_stated_answer_no_checked_sentence_bears_out_does_not_open_the_report(scripted, tmp_path):
    scripted.respond("report", _draft_then("the Vandals"))
    report = _two_hops(scripted, tmp_path, short_report="write")
    opening = report.markdown.split("\n\n")[1]
    # the cited sentence of the evidence that best answers the question opens it instead
    assert opening.startswith("**Answer:**") and "Vandals" not in report.markdown
    assert re.fullmatch(r"\*\*Answer:\*\* The Roman army relied on Germanic foederati.*\[1\]\.", opening)
    assert report.citations.answer_stated == 0


def test_a_short_answer_can_have_every_hop_checked_by_the_model(scripted, tmp_path):
    report = _two_hops(scripted, tmp_path, short_report="draft", verify={"between_hops": "llm"})
    assert scripted.roles().count("verify") == 2 and len(scripted.calls) == 9
    assert [r.checked for r in report.trajectory.noise] == [None, None, None]


def test_a_short_answer_without_a_draft_has_its_report_written(scripted, tmp_path):
    scripted.reply("plan", _hops(3))
    report = research(SHORT, tmp_path, steps=5, denoise=False, hops=3, short_report="write")
    assert len(report.trajectory.steps) == 3  # `hops` raised from its default 2
    call = next(c for c in scripted.calls if c.role == "report")
    assert 'End with a line "Answer:' in call.prompt and call.params.get("max_tokens") == 300
    assert "group of facts" not in call.prompt


def _plan(*titles: str) -> str:
    return json.dumps({"areas": [{"title": t, "goal": f"Find {t}"} for t in titles]})


def _one_clean_hop(scripted, tmp_path, second_hop: str):
    """R_1 states the whole answer with its source: every claim supported after the first hop."""
    scripted.reply("plan", _plan("The Roman army at Adrianople", second_hop))
    scripted.respond("draft", lambda m: "# Adrianople\n\nThe Visigoths defeated the Roman army.\n")
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    return research(SHORT, tmp_path, steps=5, min_steps=3)


def test_a_supported_short_answer_stops_after_its_first_step(scripted, tmp_path):
    report = _one_clean_hop(scripted, tmp_path, "The Visigoths")
    assert report.trajectory.exit_reason == "noise" and len(report.trajectory.steps) == 1
    assert report.markdown.split("\n\n")[1].startswith("**Answer:**")


def test_a_clean_first_hop_does_not_end_a_short_answer_whose_next_hop_it_does_not_name(scripted, tmp_path):
    # "Dmytryk or Preminger?": R_1 about Dmytryk alone was clean, and ended the run before Preminger
    report = _one_clean_hop(scripted, tmp_path, "Gothic kings")
    assert report.trajectory.noise[1].noise == 0.0  # low noise alone would have ended it here
    assert report.trajectory.noise[1].uncovered == ["Gothic kings"]  # ... and the record says why not
    from ttd.display import noise_table

    saved = json.loads((tmp_path / report.run_id / "report.json").read_text())
    assert "Gothic kings" in [str(c) for c in noise_table(saved).columns[5]._cells]
    assert len(report.trajectory.steps) == 2  # the second hop was searched
    asked = next(c.prompt for c in scripted.calls if c.role == "question")
    assert "no supported claim yet: Gothic kings" in asked


def test_a_short_answer_ended_on_a_lexical_check_has_its_unclear_claims_checked_by_the_model(
    scripted, tmp_path
):
    scripted.reply("plan", _plan("The Roman army at Adrianople", "The Visigoths"))
    scripted.respond(
        "draft",
        lambda m: (
            "# Adrianople\n\nThe Visigoths defeated the Roman army at Adrianople in 378. The Huns pushed "
            "the Goths across the Danube in 376. The Goths crossed the Danube in 376. The Huns pushed the "
            "Goths in 376. The Huns pushed many peoples west.\n"
        ),
    )
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)

    def supported(messages):  # the model finds claim 1 in the first passage it is told to check
        n = int(re.search(r"check against: \[(\d+)\]", messages[-1]["content"]).group(1))
        return json.dumps({"verdicts": [{"claim": 1, "status": "supported", "sources": [n]}]})

    scripted.respond("verify", supported)
    report = research(SHORT, tmp_path, steps=5, short_report="draft")
    # R_1 is 5 of 6 supported by the sources' own words: the loop ends after hop 1 without a model check
    assert report.trajectory.exit_reason == "noise" and len(report.trajectory.steps) == 1
    assert [r.checked for r in report.trajectory.noise] == [None, "lexical"]
    # ... and the claim the word-overlap pass could not settle is checked by the model, not dropped
    assert scripted.roles().count("verify") == 1
    assert "The Huns pushed many peoples west" in report.markdown.split("## Sources")[0]
    assert "Not verified" not in report.markdown


def test_a_report_question_keeps_the_configured_steps(scripted, tmp_path):
    scripted.reply("plan", PLAN)
    question = "What caused the fall of the Western Roman Empire?"
    report = research(question, tmp_path, steps=3, early_exit=False, verify={"mode": "off"})
    assert len(report.trajectory.steps) == 3
    assert "one section for each group of facts" in next(
        c.prompt for c in scripted.calls if c.role == "report"
    )
    assert next(c.params["max_tokens"] for c in scripted.calls if c.role == "draft") == 700  # configured


def test_a_refused_short_question_falls_back_to_the_next_hop_not_a_claim() -> None:
    from ttd.stages.question import fallback_questions

    noise = [
        {"draft": 1, "noise": 1.0, "claims": [{"text": "Rush formed in 1968 [2].", "status": "unsupported"}]}
    ]
    plan = [{"title": "The band", "goal": "Which band recorded Counterparts"}]
    state = {"question": SHORT, "plan": plan, "noise": noise}
    assert fallback_questions(state)[0] == "The band: Which band recorded Counterparts"  # type: ignore[arg-type]
    state["question"] = "What caused the fall of the Western Roman Empire?"
    assert fallback_questions(state)[0] == "Rush formed in 1968."  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("asked", "searched"),
    [
        # about hop 1's subject again, in other words (not a repeat by similarity)
        ("What other factors shaped Simone Bolelli's career?", "Caroline Wozniacki's birth date: Find it"),
        ("When was Caroline Wozniacki born?", "When was Caroline Wozniacki born?"),  # about its hop: kept
    ],
)
def test_a_short_answers_later_question_must_be_about_its_hop(scripted, tmp_path, asked, searched):
    hops = [
        {"title": f"{n}'s birth date", "goal": "Find it"} for n in ("Simone Bolelli", "Caroline Wozniacki")
    ]
    scripted.reply("plan", json.dumps({"areas": hops}))
    scripted.reply("question", json.dumps({"question": asked, "covered": False}))
    report = research("Who was born earlier, Simone Bolelli or Caroline Wozniacki?", tmp_path, steps=5)
    assert [s.question for s in report.trajectory.steps] == ["Simone Bolelli's birth date: Find it", searched]
    assert report.trajectory.question_fallbacks == (asked != searched)


def test_a_short_answer_searches_each_hop_anchored_to_the_question(scripted, tmp_path):
    class Recorder(Wiki):
        queries: list[str] = []

        async def search(self, query, k=5):
            self.queries.append(query)
            return await super().search(query, k)

    scripted.reply("plan", _hops(1))
    retriever = Recorder()
    report = ttd.research(SHORT, out=tmp_path, retriever=retriever, k=2, steps=3, **scripted_models())
    asked = [s.question for s in report.trajectory.steps]
    # each step's question and the research question beside it, and the reader's own search of the latter
    assert asked and sorted(retriever.queries) == sorted([*asked, *[SHORT] * (len(asked) + 1)])


def test_the_reports_own_answer_line_goes_first_else_the_best_cited_sentence() -> None:
    from ttd.answer_line import open_with as _open_with

    body = "# Rome\n\n## Battle\n\nThe Goths won at Adrianople [1].\n\n**Answer:** The Goths [1]\n"
    opened = _open_with(body, "The Huns pushed the Goths [2].")
    assert opened.split("\n\n")[:3] == ["# Rome", "**Answer:** The Goths [1]", "## Battle"]
    assert opened.count("**Answer:**") == 1
    plain = _open_with("# Rome\n\nThe Goths won at Adrianople [1].", "The Goths won at Adrianople [1].")
    assert plain.split("\n\n")[1] == "**Answer:** The Goths won at Adrianople [1]."
    emptied = _open_with("# Rome\n\n**Answer:** [1]\n\nThe Goths won [1].", "The Goths won [1].")
    assert emptied == "# Rome\n\n**Answer:** The Goths won [1].\n\nThe Goths won [1]."


def test_labels_the_code_writes_into_prompts_never_reach_a_report() -> None:
    from ttd.hygiene import clean, problems

    copied = (
        "# Spurs\n\n## Plan Areas with No Supported Claim Yet: Leonard Francis\n\nSpurs is the club [1].\n"
    )
    text, fixes = clean(copied)
    assert "Plan Areas" not in text and fixes >= 1 and "Spurs is the club [1]." in text
    assert problems(copied)["scaffolding"] >= 1
