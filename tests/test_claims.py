"""Claim-level noise through the real gateway and graph with the scripted provider: the verifier's labels,
the question agent seeing the noise, exit on noise, report grounding and hygiene, the never-repeat rule."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

import ttd
import ttd.retrieval
from tests.conftest import scripted_models
from ttd.claims import VerifierSettings, altered, remove_claims, split_claims, verify
from ttd.config import resolve_config
from ttd.hygiene import clean, problems, scaffolding_phrases
from ttd.llm.gateway import Gateway
from ttd.stages.question import similarity
from ttd.stages.report import NO_FACTS

Q = "What caused the fall of the Western Roman Empire?"
# A plan whose areas the passages bear on, so the report has facts to be written from (ttd.facts)
PLAN = json.dumps(
    {
        "areas": [
            {"title": "Army", "goal": "How the army and its Germanic foederati declined"},
            {"title": "Taxes", "goal": "How heavy taxation drove farmers off their land"},
        ]
    }
)
PASSAGES = {
    "army": "The Roman army relied on Germanic foederati, whose loyalty to the emperors declined in the "
    "fifth century as pay fell short.",
    "tax": "Heavy taxation drove small farmers off their land, and the tax base of Rome's western provinces "
    "shrank as estates passed to great landowners.",
    "huns": "The Huns pushed the Goths across the Danube in 376, and the Visigoths defeated the Roman army "
    "at Adrianople in 378.",
}


class Wiki(ttd.retrieval.Retriever):
    """A fixed corpus: every query gets the passages whose words it shares, best first."""

    async def search(self, query, k=5):
        words = set(re.findall(r"[a-z]+", query.lower()))
        ranked = sorted(PASSAGES, key=lambda n: -len(words & set(PASSAGES[n].lower().split())))
        return [
            ttd.retrieval.Passage(id=f"doc:{n}", title=n.title(), text=PASSAGES[n], location=f"/docs/{n}")
            for n in ranked[:k]
        ]


def sources(*names: str) -> dict:
    return {
        f"doc:{n}": {"id": f"doc:{n}", "n": i, "title": n.title(), "text": PASSAGES[n], "location": ""}
        for i, n in enumerate(names, 1)
    }


def answer_from_passage(messages):
    """The answer agent restates the first passage it is shown, with its number."""
    n, text = re.search(r"^\[(\d+)\] [^:]+: ([^.]+)", messages[-1]["content"], re.M).groups()
    return f"{text} [{n}]."


def revise_with_answer(messages):
    """The reviser keeps the draft and appends the cited answer."""
    prompt = messages[-1]["content"]
    answer = re.search(r"^Cited answer from the sources: (.*)$", prompt, re.M).group(1)
    draft = re.search(r"<draft>\n(.*)\n</draft>", prompt, re.S).group(1)
    return f"{draft}\n\n{answer}\n"


def run(tmp_path, question=Q, **kw):
    kw.setdefault("few_facts", 0)  # these test the report writer; the scripted runs find 1-4 facts
    kw.setdefault("retriever", Wiki())
    kw.setdefault("k", 2)
    return ttd.research(question, out=tmp_path, **scripted_models(), **kw)


# ------------------------------------------------------------------ the verifier


def test_a_full_stop_inside_a_number_or_after_an_initial_does_not_end_a_claim():
    claims = split_claims("The U.S. Army shipped 3.5 tons of grain to Rome [2]. Pay fell.")
    assert [c.text for c in claims] == ["The U.S. Army shipped 3.5 tons of grain to Rome [2]."]


def test_claims_are_sentences_with_their_section_and_citations():
    claims = split_claims(
        "# Rome\n\n## Army\n\nThe army hired Goths [2]. Pay fell.\n\n- Taxes rose on farmers."
    )
    assert [c.text for c in claims] == ["The army hired Goths [2].", "Taxes rose on farmers."]
    assert claims[0].area == "Army" and claims[0].cited == [2]


def test_code_fenced_either_way_holds_no_claim_or_heading():
    from ttd.claims import headings

    text = (
        "## Army\n\n~~~\n# not a heading\nx = the army hired Goths\n~~~\n\n"
        "```py\n## Nor this\n```\nPay fell on farmers."
    )
    assert [c.text for c in split_claims(text)] == ["Pay fell on farmers."]
    assert headings(text) == ["Army"]
    # a fence closes only on its own character: a Markdown example inside a ``` block stays code
    nested = (
        "````md\n~~~\nThe army hired Goths in 376.\n~~~\n```\n## Not a heading\n````\nPay fell on farmers."
    )
    assert [c.text for c in split_claims(nested)] == ["Pay fell on farmers."] and headings(nested) == []


def test_a_code_block_left_open_is_closed_with_its_own_fence():
    from ttd.hygiene import clean

    out = clean("# Rome\n\nThe army hired Goths [1].\n\n~~~~\nx = 1")[0]
    assert out.rstrip().endswith("x = 1\n~~~~")


def test_lexical_first_pass_settles_clear_cases_without_a_model_call(scripted):
    draft = (
        "Heavy taxation drove small farmers off their land [2]. "
        "Emperor Nero played the lyre while Carthage burned in winter."
    )
    gateway = Gateway(resolve_config(**scripted_models()))
    claims, usage = asyncio.run(verify(draft, sources("army", "tax"), question=Q, gateway=gateway))
    assert [c["status"] for c in claims] == ["supported", "unsupported"]
    assert claims[0]["source_ids"] == ["doc:tax"] and claims[1]["source_ids"] == []
    assert usage == [] and scripted.calls == []


def test_a_mark_standing_as_a_claims_subject_is_not_support(scripted):
    """ "Case Study: [1] demonstrated how ..." says what a source did: the 1.5B verifier passed it on a
    page about war. It is unsupported before any overlap is scored, however many words it shares."""
    draft = (
        "Case study: [2] demonstrated that heavy taxation drove small farmers off their land. "
        "[1][2] showed that the army relied on Germanic foederati. "
        "Heavy taxation drove small farmers off their land [2]."
    )
    gateway = Gateway(resolve_config(**scripted_models()))
    claims, usage = asyncio.run(verify(draft, sources("army", "tax"), question=Q, gateway=gateway))
    assert [c["status"] for c in claims] == ["unsupported", "unsupported", "supported"]
    assert usage == [] and scripted.calls == []
    # a label before a mark is no reporting verb: "Taxes: [2] heavy levies ..." is a claim, checked as one
    claims, _ = asyncio.run(
        verify("Taxes: [2] heavy taxation drove small farmers off their land.", sources("tax"))
    )
    assert claims[0]["status"] == "supported"
    # hygiene leaves such a line's mark where it stands (dropped, it would read "showed that ..." and pass)
    assert "- [2] showed that" in clean("# Rome\n\n- [2] showed that taxes rose.\n- [1] The army fell.\n")[0]


def test_a_writers_mark_is_no_evidence_for_the_claim_it_ends(scripted):
    """A mark orders the passages the check reads and adds nothing to a claim's overlap. With a bonus
    for it, half a claim's words in the passage it cites passed the lexical bar unasked, and a claim
    sharing one word with it reached the lenient 1.5B (session 32's AI agents report)."""
    scripted.reply("verify", json.dumps({"verdicts": [{"claim": 1, "status": "unsupported", "sources": []}]}))
    half = "Heavy taxation drove Roman generals to invent catapults [2]."  # 3 of its 6 words in [2]
    one = "Taxation inspired the poets of Athens and Sparta greatly [2]."  # 1 of 6
    gateway = Gateway(resolve_config(**scripted_models()))
    claims, usage = asyncio.run(
        verify(
            f"{half} {one}", sources("army", "tax"), question=Q, gateway=gateway, settings=VerifierSettings()
        )
    )
    assert [c["status"] for c in claims] == ["unsupported", "unsupported"]
    assert scripted.roles() == ["verify"] and len(usage) == 1  # only the half-borne claim was asked about
    prompt = scripted.calls[0].prompt
    assert "1. Heavy taxation drove Roman generals" in prompt and "(check against: [2])" in prompt
    assert "Athens" not in prompt


def test_a_passage_sentence_with_words_of_the_writers_own_put_in_is_not_supported(scripted):
    """Session 33's Roman report, asked again, put its own subject on a fact: most words match, so the
    overlap passed it and the 1.5B check did too. Words of its own in no passage checked make it new."""
    fall = {
        "id": "doc:fall",
        "n": 1,
        "title": "Fall of the Western Roman Empire",
        "text": "The fall of the Western Roman Empire, also called the fall of Rome, was the loss of central "
        "political control in the Western Roman Empire, a process in which the Empire failed to enforce "
        "its rule. Increasing pressure from invading peoples outside Roman culture contributed greatly.",
        "location": "",
    }
    church = {
        "id": "doc:church",
        "n": 2,
        "title": "Church",
        "text": "Christianity became the state religion.",
    }
    garbled = (
        "The rise of Christianity as the Roman state religion, also called the rise of Rome, was the loss of "
        "central political control in the Western Roman Empire, a process in which the Empire failed to "
        "enforce its rule [1]."
    )
    copied = "Increasing pressure from invading peoples outside Roman culture contributed greatly [1]."
    added_one = (
        "Increasing pressure from invading Germanic peoples outside Roman culture contributed greatly [1]."
    )
    gateway = Gateway(resolve_config(**scripted_models()))
    text = f"{garbled} {copied} {added_one}"
    claims, usage = asyncio.run(verify(text, {"doc:fall": fall}, question=Q, gateway=gateway))
    assert [c["status"] for c in claims] == ["unsupported", "supported", "supported"]
    assert usage == [] and scripted.calls == []  # settled without asking the model
    # the words are the writer's own only when no passage checked has them
    assert not altered(garbled, [fall, church], set()) and altered(garbled, [fall], set())
    # reworded with common words, naming nothing new: left to the check (a paraphrase, not a new claim)
    reworded = (
        "The collapse of the Western Roman Empire was the loss of central political authority in the Western "
        "Roman Empire, a process in which the Empire was unable to enforce its rule [1]."
    )
    assert not altered(reworded, [fall], set())


def test_a_copied_sentence_under_a_new_head_of_its_subject_is_not_supported():
    """The README run at e6feebd: "Economic Decline: The economy of Ancient Rome was the Roman civilisation
    from ..." on the Ancient Rome page's first sentence. One word is the writer's own, and "economy" is in
    another passage, so the rule for added names misses it; the overlap and the 1.5B passed it."""
    rome = {
        "id": "doc:rome",
        "n": 1,
        "title": "Ancient Rome",
        "text": "In modern historiography, ancient Rome is the Roman civilisation from the founding of the "
        "Italian city of Rome in the 8th century BC to the collapse of the Western Roman Empire in the 5th "
        "century AD. His mother was Helen Graham, daughter of Sir James Graham.",
    }
    fall = {"id": "doc:fall", "n": 2, "title": "Fall", "text": "Factors include the strength of the economy."}
    tail = (
        "the Roman civilisation from the founding of the Italian city of Rome in the 8th century BC to the "
        "collapse of the Western Roman Empire in the 5th century AD [1]."
    )
    assert altered(f"Economic Decline: The economy of Ancient Rome was {tail}", [rome, fall], set())
    assert not altered(f"Ancient Rome was {tail}", [rome, fall], set())  # the copy as it is
    # a head the question names is its subject, not the writer's; "the name of" says what the passage does
    assert not altered(f"The economy of Ancient Rome was {tail}", [rome], {"economy"})
    assert not altered(
        "The name of his mother was Helen Graham, daughter of Sir James Graham [1].", [rome], set()
    )
    # a short claim naming a relation is no copy: a director or a father is for the check to judge
    hamlet = {**rome, "text": "Hamlet was directed by Laurence Olivier. Edward was the son of Henry Tudor."}
    assert not altered("The director of Hamlet was Laurence Olivier [1].", [hamlet], set())
    assert not altered("The father of Edward was Henry Tudor [1].", [hamlet], set())
    # a relation the sentence states with a verb of its own is the check's to judge (a review's cases)
    born = {
        **rome,
        "text": "Albert Einstein was born in Ulm, in the Kingdom of Württemberg in the German Empire.",
    }
    birthplace = (
        "The birthplace of Albert Einstein was Ulm, in the Kingdom of Württemberg in the German Empire."
    )
    assert not altered(birthplace, [born], set())
    wed = {**rome, "text": "Abraham Lincoln married Mary Todd in Springfield, Illinois, in November 1842."}
    assert not altered(
        "The wife of Abraham Lincoln was Mary Todd, married in Springfield, Illinois, in 1842.", [wed], set()
    )
    # a long claim holding only part of a long sentence is no copy of it
    film = (
        "Hamlet is a 1948 British film adaptation of William Shakespeare's play, directed by and starring "
        "Laurence Olivier, and the first British film to win the Academy Award for Best Picture."
    )
    star = "The star of Hamlet, the 1948 British film adaptation of Shakespeare's play, was Laurence Olivier."
    assert not altered(star, [{**rome, "text": film}], set())
    # the sentence's own head replaced ("The collapse of" for "The fall of") is left to the check
    fell = "The fall of the Western Roman Empire was the loss of central political control in the West."
    collapse = (
        "The collapse of the Western Roman Empire was the loss of central political control in the West."
    )
    assert not altered(collapse, [{**rome, "text": fell}], set())
    assert altered(collapse, [{**rome, "text": fell.replace("The fall of the", "The")}], set())


def test_the_llm_labels_unclear_claims_in_one_batch_and_maps_its_numbers_to_ids(scripted):
    scripted.reply(
        "verify",
        json.dumps(
            {
                "verdicts": [
                    {"claim": 1, "status": "supported", "sources": [1]},
                    {"claim": 2, "status": "contradicted", "sources": [3]},
                    {"claim": 3, "status": "supported", "sources": [9]},  # a number it was not shown
                ]
            }
        ),
    )
    draft = (
        "Germanic foederati served the Roman emperors loyally for pay. "
        "The Visigoths were beaten by Roman legions at Adrianople. "
        "The Goths crossed the Danube in 376 after Hun pressure and won easily."
    )
    gateway = Gateway(resolve_config(**scripted_models()))
    claims, usage = asyncio.run(
        verify(
            draft, sources("army", "tax", "huns"), question=Q, gateway=gateway, settings=VerifierSettings()
        )
    )
    assert scripted.roles() == ["verify"] and len(usage) == 1
    assert [c["status"] for c in claims] == ["supported", "contradicted", "unsupported"]
    assert claims[0]["source_ids"] == ["doc:army"] and claims[1]["source_ids"] == ["doc:huns"]
    prompt = scripted.calls[0].prompt
    assert "1. Germanic foederati" in prompt and "(check against: [1]" in prompt


def test_a_claim_listing_the_texts_own_headings_is_not_supported(scripted):
    """The README run at 798a18c: its summary named its sections as the causes ("..., military failure,
    other findings, and ...") citing a page on the empire's two courts, and the 1.5B check passed it.
    The check would pass it again here; the outline rule settles it before the check is asked. (Worded
    without a cause, which the army's passage does not name: `uncaused` would settle every variant.)"""
    scripted.reply("verify", json.dumps({"verdicts": [{"claim": 1, "status": "supported", "sources": [1]}]}))
    body = (
        "### Army and Pay\n- The Roman army relied on Germanic foederati [1].\n\n"
        "### Other Findings\n- Their loyalty declined as pay fell short [1].\n\n"
        "### Summary\nThe Western Roman Empire fell amid army and pay, other findings, and {} [1].\n"
    )
    gateway = Gateway(resolve_config(**scripted_models()))

    def summary(text: str, *names: str) -> str:
        claims, _ = asyncio.run(verify(text, sources(*names), question=Q, gateway=gateway))
        return claims[-1]["status"]

    assert summary(body.format("the loss of the tax base"), "army") == "unsupported"
    # the same sentence naming one heading, or headings whose words the passage has, goes to the check
    one = body.replace("other findings, ", "")
    assert summary(one.format("the loss of the tax base"), "army") == "supported"
    # a heading named inside a longer one it is part of counts once
    nested = body.replace("### Other Findings", "### Army")
    assert summary(nested.format("the loss of the tax base"), "army") == "supported"
    held = body.replace("Other Findings", "Germanic Foederati")
    held = held.replace("other findings", "germanic foederati")
    assert summary(held.format("the loss of the tax base"), "army") == "supported"


def test_yes_is_no_word_of_a_fact(scripted):
    """HotpotQA at fa39385: "Yes, both Sutera and Rhodotypos are types of shrubs" has no word of its own but
    "yes" (the rest are the question's), and a page on the band Yes's keyboard player held it: supported
    by the word overlap, and the report opened with "**Answer:** Yes" citing Tony Kaye."""
    kaye = {
        "id": "doc:kaye",
        "n": 1,
        "title": "Tony Kaye (musician)",
        "location": "",
        "text": "Tony Kaye is an English keyboardist, the original keyboard player for Yes (1968-1971).",
    }
    claims, _ = asyncio.run(
        verify(
            "Yes, both Sutera and Rhodotypos are types of shrubs.",
            {"doc:kaye": kaye},
            question="Are Sutera and Rhodotypos both types of shrub?",
            gateway=Gateway(resolve_config(**scripted_models())),
        )
    )
    assert [c["status"] for c in claims] == ["unsupported"] and claims[0]["source_ids"] == []


def test_a_cause_the_passage_does_not_name_is_not_supported(scripted):
    """A README report (ae1a, session 33) said "The main cause of the collapse ... was the loss of central
    political control [1]" on the page that defines the fall as that loss, and the 1.5B check passed it.
    The check would pass it again here; the cause rule settles it before the check is asked. A claim whose
    passage sentence names a cause, or a claim naming none, still goes to the check."""
    fall = {
        "id": "doc:fall",
        "n": 1,
        "title": "Fall of the Western Roman Empire",
        "location": "",
        "text": "The fall of the Western Roman Empire was the loss of central political control in the "
        "Western Roman Empire, a process in which the Empire failed to enforce its rule, and its vast "
        "territory was divided among several successor polities. Increasing pressure from invading peoples "
        "outside Roman culture also contributed greatly to the collapse.",
    }
    gateway = Gateway(resolve_config(**scripted_models()))

    def status(claim: str) -> str:
        scripted.reply(
            "verify", json.dumps({"verdicts": [{"claim": 1, "status": "supported", "sources": [1]}]})
        )
        claims, _ = asyncio.run(verify(f"- {claim}", {"doc:fall": fall}, question=Q, gateway=gateway))
        return claims[0]["status"]

    asked = len(scripted.calls)
    assert (
        status("The main cause of the collapse was the loss of central political control [1].")
        == "unsupported"
    )
    assert status("Its vast territory was divided because the Empire failed to enforce its rule [1].") == (
        "unsupported"
    )
    assert len(scripted.calls) == asked  # settled without the check
    assert (
        status("Pressure from invading peoples contributed to the collapse of the Empire [1].") == "supported"
    )
    assert status("The Empire failed to enforce its rule over its vast territory [1].") == "supported"


# ------------------------------------------------------------------ the loop


def test_every_draft_gets_a_claim_table_and_noise_falls(scripted, tmp_path):
    scripted.reply("draft", "# Rome\n\n## Causes\n\nRome fell because the moon turned red over the Alps.\n")
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    report = run(tmp_path, steps=2, early_exit=False)
    noise = report.trajectory.noise
    assert [r.draft for r in noise] == [0, 1, 2]
    assert noise[0].noise == 1.0 and noise[0].claims[0].status == "unsupported"
    assert noise[-1].noise < noise[0].noise
    assert any(c.status == "supported" and c.source_ids for c in noise[-1].claims)
    saved = json.loads((tmp_path / report.run_id / "report.json").read_text())
    assert [r["draft"] for r in saved["trajectory"]["noise"]] == [0, 1, 2]


def test_the_question_agent_is_shown_unsupported_claims_and_empty_plan_areas(scripted, tmp_path):
    scripted.reply("draft", "# Rome\n\n## Area 1\n\nRome fell because the moon turned red over the Alps.\n")
    run(tmp_path, steps=1)
    prompt = next(c for c in scripted.calls if c.role == "question").prompt
    assert "(unsupported) Rome fell because the moon turned red over the Alps." in prompt
    assert "Plan areas with no supported claim yet: Area 1; Area 2; Area 3" in prompt


def test_the_loop_exits_when_noise_falls_below_the_threshold(scripted, tmp_path):
    scripted.respond("revise", lambda m: "# Rome\n\nHeavy taxation drove small farmers off their land [1].\n")
    report = run(tmp_path, steps=4, min_steps=1, verify={"ground": False})  # grounded: tests/test_ground.py
    assert report.trajectory.exit_reason == "noise"
    assert len(report.trajectory.steps) == 1 and report.trajectory.noise[-1].noise == 0.0


def test_the_loop_exits_when_noise_stops_falling(scripted, tmp_path):
    scripted.respond("revise", lambda m: "# Rome\n\nRome fell because the moon turned red over the Alps.\n")
    report = run(tmp_path, steps=6, min_steps=1, verify={"patience": 2, "ground": False})
    assert report.trajectory.exit_reason == "plateau"
    assert [r.noise for r in report.trajectory.noise] == [1.0, 1.0, 1.0]


def test_a_revision_noisier_than_its_draft_is_rejected_and_kept_on_record(scripted, tmp_path):
    good = "# Rome\n\nHeavy taxation drove small farmers off their land [1].\n"
    bad = "# Rome\n\nRome fell because the moon turned red over the Alps.\n"
    revisions = iter([good, bad])
    scripted.respond("revise", lambda m: next(revisions))
    report = run(tmp_path, steps=2, early_exit=False, verify={"ground": False})  # as the reviser wrote them
    noise = report.trajectory.noise
    assert [r.noise for r in noise] == [1.0, 0.0, 0.0]
    assert noise[1].rejected is None and noise[2].rejected is not None
    assert noise[2].rejected.noise == 1.0 and noise[2].rejected.text.strip() == bad.strip()
    assert report.trajectory.drafts[2] == report.trajectory.drafts[1]  # R_2 is R_1 again
    report_prompt = next(c for c in scripted.calls if c.role == "report").prompt
    assert "Heavy taxation" in report_prompt and "moon" not in report_prompt
    saved = json.loads((tmp_path / report.run_id / "report.json").read_text())
    assert saved["trajectory"]["noise"][2]["rejected"]["noise"] == 1.0
    drafts = tmp_path / report.run_id / "drafts"
    assert (drafts / "R02.md").read_text() == report.trajectory.drafts[1]
    assert "moon" in (drafts / "R02.rejected.md").read_text()
    from ttd.display import noise_table

    assert "R2 (revision at 1.00 rejected)" in [str(c) for c in noise_table(saved).columns[0]._cells]


def test_with_keep_best_off_a_noisier_revision_stands(scripted, tmp_path):
    revisions = iter(
        ["# Rome\n\nHeavy taxation drove small farmers off their land [1].\n", "# Rome\n\nNo.\n"]
    )
    scripted.respond("revise", lambda m: next(revisions))
    report = run(tmp_path, steps=2, early_exit=False, verify={"keep_best": False, "ground": False})
    assert [r.noise for r in report.trajectory.noise] == [1.0, 0.0, 1.0]


def test_without_early_exit_noise_never_ends_the_loop(scripted, tmp_path):
    scripted.respond("revise", lambda m: "# Rome\n\nHeavy taxation drove small farmers off their land [1].\n")
    report = run(tmp_path, steps=3, early_exit=False)
    assert len(report.trajectory.steps) == 3 and report.trajectory.exit_reason == "steps"


def test_a_repeated_or_whole_question_is_replaced_in_code_never_asked(scripted, tmp_path):
    scripted.reply("draft", "# Rome\n\nRome fell because the moon turned red over the Alps.\n")
    scripted.respond("question", lambda m: json.dumps({"question": Q, "covered": False}))
    report = run(tmp_path, steps=2, min_steps=2, early_exit=False)
    asked = [s.question for s in report.trajectory.steps]
    assert len(asked) == 2 and len(set(asked)) == 2
    assert all(similarity(q, Q) < 0.8 for q in asked)
    assert asked[0].startswith("Rome fell because the moon")  # the noisiest claim became the query


def test_the_research_question_written_into_a_search_question_is_left_out(scripted, tmp_path):
    asked = f"{Q} Why did heavy taxation drive small farmers off their land?"
    scripted.respond("question", lambda m: json.dumps({"question": asked, "covered": False}))
    report = run(tmp_path, steps=1, early_exit=False)
    assert report.trajectory.steps[0].question == "Why did heavy taxation drive small farmers off their land?"
    from ttd.stages.question import _apart

    assert _apart(f"{Q} (in 476)", Q) == f"{Q} (in 476)"  # nothing else asked: left to the repeat rule


def test_two_hops_alike_but_for_their_subject_are_both_searched(scripted, tmp_path):
    """HotpotQA at fa39385: "Sutera: Locate the definition of Sutera ..." and "Rhodotypos: Locate the
    definition of Rhodotypos ..." were taken for a repeat, and a draft's sentence ("Yes, Sutera is a type
    of shrub.") was searched in the second hop's place."""
    from ttd.stages.question import swapped

    question = "Are Sutera and Rhodotypos both types of shrub?"
    goal = "Locate the definition of {} and determine if it is a type of shrub"
    areas = [{"title": n, "goal": goal.format(n)} for n in ("Sutera", "Rhodotypos")]
    scripted.reply("plan", json.dumps({"areas": areas}))
    scripted.reply("draft", "# Shrubs\n\nYes, Sutera is a type of shrub. Rhodotypos is a shrub too.\n")
    report = run(tmp_path, question=question, steps=2, min_steps=2, early_exit=False)
    asked = [s.question for s in report.trajectory.steps]
    assert asked == [f"Sutera: {goal.format('Sutera')}", f"Rhodotypos: {goal.format('Rhodotypos')}"]
    # one that only adds a word of the research question is still a repeat
    rush = "Which Canadian rock band had a drummer in the Modern Drummer Hall of Fame?"
    assert not swapped("Who was the drummer of the Canadian band Rush?", "Who was the drummer of Rush?", rush)


# ------------------------------------------------------------------ the report

DIRTY = """# Rome

**Answer:** nothing here.

## Army

Germanic foederati served the emperors for pay [1]. Rome fell because the moon turned red over the Alps.

### New Evidence

The new evidence suggests that taxation drove small farmers off their land [2].

Heavy taxation drove small farmers off their land and estates passed to great landowners [2].

## Conclusion

Heavy taxation drove small farmers off their land and estates passed to great landowners [2].
In the end many causes combined [9"""


@pytest.mark.parametrize("setting", ["list", "drop"])
def test_the_report_is_grounded_and_clean(scripted, tmp_path, setting):
    scripted.reply("plan", PLAN)
    scripted.reply("report", DIRTY)
    report = run(tmp_path, steps=1, early_exit=False, verify={"unverified": setting})
    body = report.markdown.split("\n## Sources\n")[0]
    assert problems(report.markdown) == {
        "broken_marks": 0,
        "stray_marks": 0,
        "scaffolding": 0,
        "repeated_paragraphs": 0,
    }
    assert "new evidence" not in body.lower() and "[9" not in body
    assert "Heavy taxation drove small farmers off their land" in body
    assert re.search(r"land and estates passed to great landowners \[\d\]", body)  # kept with its mark
    main, _, listed = body.partition("## Not verified")
    assert "moon turned red" not in main
    if setting == "list":
        assert "moon turned red over the Alps" in listed
    else:
        assert not listed and "moon" not in body
    assert report.citations.unverified >= 1 and report.citations.hygiene >= 3
    assert report.trajectory.report_noise is not None and report.trajectory.report_noise.noise > 0


# What a 1.5B report looked like after its unsupported claims were dropped: a list numbered with marks,
# marks left alone on a line where their claims stood, a section left empty, and no title.
STRAY = """## Decline

The decline had several causes, including:

[1] **Army**: Germanic foederati served the emperors for pay [1].
[2] **Taxes**: Heavy taxation drove small farmers off their land [2].

[1]

## Economy

[1][2]

## Conclusion

Germanic foederati served the emperors for pay [1]."""


def test_marks_out_of_place_and_a_missing_title_are_fixed(scripted, tmp_path):
    scripted.reply("plan", PLAN)
    scripted.reply("report", STRAY)
    report = run(tmp_path, steps=1, early_exit=False)
    body = report.markdown.split("\n## Sources\n")[0]
    assert problems(STRAY)["stray_marks"] == 4  # the check sees what is wrong
    assert problems(report.markdown)["stray_marks"] == 0
    assert body.startswith("# ") and "## Economy" not in body
    assert re.search(r"^- \*\*Army\*\*: Germanic foederati served the emperors for pay \[\d\]", body, re.M)


def test_hygiene_keeps_the_title_and_a_section_written_without_blank_lines():
    # From a real 1.5B report: the title used to vanish (a heading followed by a heading was taken for an
    # empty section) and a numbered list kept its "[1]" list marks.
    text, _ = clean(
        "# Rome\n\n## Military Failure:\n1. [1] The Crisis of the Third Century ended many reigns [1].\n"
        "2. [2] Foreign invasions weakened the frontier provinces [2].\n\n## Empty\n\n## End\n\nDone [1].\n"
    )
    assert text.startswith("# Rome\n\n## Military Failure\n1. The Crisis of the Third Century")
    assert "2. Foreign invasions" in text and "## Empty" not in text and "## End" in text
    assert problems(text)["stray_marks"] == 0


def test_a_title_label_becomes_the_title_and_the_not_verified_list_is_capped(scripted, tmp_path):
    made_up = "\n".join(f"Emperor Number{i} ruled the moon colony for {i} decades." for i in range(14))
    cited = "Germanic foederati served the emperors for pay [1]."
    scripted.reply("plan", PLAN)
    scripted.reply("report", f"**Title: The Fall of Rome**\n\n## Army\n\n{cited}\n{made_up}\n")
    report = run(tmp_path, steps=1, early_exit=False, verify={"unverified": "list"})
    assert report.markdown.startswith("# The Fall of Rome\n")
    listed = report.markdown.split("## Not verified")[1].split("\n## Sources")[0]
    assert listed.count("\n- ") == 10 and "(4 more in report.json" in listed
    assert report.citations.unverified == 14  # the count and the claim table keep them all


def test_the_writers_own_references_are_not_checked_as_claims(scripted, tmp_path):
    """A replayed Roman report (session 30) ended in the writer's own list ("New York: W.W. Norton &
    Company.", "Retrieved from https://en.wikipedia.org/wiki/Goths"): its lines were checked as claims,
    counted unsupported and listed as not verified."""
    cited = (
        "Germanic foederati served the emperors for pay [1]. Heavy taxation drove small farmers off their "
        "land [2]. Estates passed to great landowners as small farmers left their land [2]."
    )
    own = (
        "## References\n\n- Gibbon, E. (1776). The Decline and Fall. New York: W.W. Norton & Company.\n"
        '- "Goths." Wikipedia, The Free Encyclopedia. Retrieved from https://en.wikipedia.org/wiki/Goths\n'
    )
    scripted.reply("plan", PLAN)
    scripted.reply("report", f"# Rome\n\n## Army\n\n{cited}\n\n{own}")
    report = run(tmp_path, steps=1, early_exit=False, verify={"unverified": "list"})
    claims = [c.text for c in report.trajectory.report_noise.claims]
    assert any("foederati" in c for c in claims)
    assert not any("Norton" in c or "Retrieved from" in c for c in claims)
    assert "Norton" not in report.markdown and "## Not verified" not in report.markdown


def test_a_short_answer_question_opens_with_the_cited_answer(scripted, tmp_path):
    question = "Which people defeated the Roman army at Adrianople?"
    scripted.reply("report", "# Adrianople\n\nThe battle was important for Rome.\n")
    report = ttd.research(question, out=tmp_path, retriever=Wiki(), k=2, steps=1, **scripted_models())
    lines = [ln for ln in report.markdown.split("\n") if ln.strip()]
    assert lines[0].startswith("# ")
    assert lines[1].startswith("**Answer:**") and re.search(r"\[\d+\]", lines[1])


def test_scaffolding_phrases_come_from_the_prompt_files():
    phrases = scaffolding_phrases()
    assert "research notes" in phrases and "the draft to revise" in phrases and "new evidence" in phrases
    text, fixes = clean("# T\n\n## Research notes\n\nA real fact about the Goths in 376 [1].\n")
    assert "Research notes" not in text and fixes == 1 and "Goths in 376 [1]." in text


def test_sentences_about_the_passages_are_not_report_text():
    from ttd.answer_line import answer_line

    text = (
        "# Spurs\n\nThe passage does not mention Leonard Francis. Passage [1] discusses a mule film.\n\n"
        "Tottenham Hotspur is known as Spurs [1]. The Northwest Passage links two oceans [2].\n"
    )
    assert problems(text)["scaffolding"] == 2
    cleaned = clean(text)[0]
    assert "passage does not" not in cleaned and "Passage [1]" not in cleaned
    assert "known as Spurs [1]" in cleaned and "Northwest Passage" in cleaned
    # the writer on its own task (the README run's Odrysian fact, session 27), and a fact that stays
    own = (
        "The Odrysian kingdom grew wealthy, which is relevant to the question about the fall of Rome [3]. "
        "The tribune's office was related to the question of land reform [4]."
    )
    assert problems(own)["scaffolding"] == 1
    assert clean(own)[0].strip() == "The tribune's office was related to the question of land reform [4]."
    qa = [
        {
            "step": 1,
            "question": "q",
            "answer": "Passage [1] does not answer what Spurs is called.",
            "source_ids": [],
        }
    ]
    assert answer_line("What is Tottenham Hotspur called?", qa, []) is None


def test_a_long_report_is_written_from_cited_facts_not_from_the_draft(scripted, tmp_path):
    """R_T's unsupported claims and the plan's goals never reach the report writer's prompt; R_T's supported
    claims do, each with its number."""
    scripted.reply("draft", "# Rome\n\n## Causes\n\nRome fell because the moon turned red over the Alps.\n")
    scripted.reply("plan", json.dumps({"areas": [{"title": "Taxes", "goal": "Whether tithes ruined Gaul"}]}))
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    # without grounding, so that R_T keeps its unsupported claim for the writer to be kept from
    report = run(tmp_path, steps=1, early_exit=False, verify={"ground": False})
    last = report.trajectory.noise[-1]
    assert {c.status for c in last.claims} == {"supported", "unsupported"}
    call = next(c for c in scripted.calls if c.role == "report")
    shown = call.prompt.split("grouped by topic):\n")[1].split("\n\nYour task")[0]
    facts = "\n".join(line for line in shown.splitlines() if line.startswith("- "))
    assert (
        "moon turned red" not in call.prompt and "tithes" not in call.prompt and "<draft>" not in call.prompt
    )
    assert all(c.text in facts for c in last.claims if c.status == "supported")
    assert all(re.search(r"\[\d+\]\.?$", line) for line in facts.splitlines())
    assert report.citations.facts == len(facts.splitlines())
    # as long as its facts allow: a 1.5B given room and one fact wrote 14 claims of its own
    from ttd.stages.report import FACT_TOKENS, REPORT_TOKENS

    assert call.params["max_tokens"] == REPORT_TOKENS + FACT_TOKENS * report.citations.facts


def test_the_report_writer_is_given_only_the_facts_the_check_bears_out(scripted, tmp_path):
    """A step answer's sentence sharing words with its passage passes `answer_facts`, but the check turns
    it away: the writer never sees it (a replayed README report restated 3 such as claims of its own)."""
    scripted.reply("plan", PLAN)

    def answer(messages):  # shares 5 of its 7 words with the tax passage it cites: an answer fact
        n = re.search(r"^\[(\d+)\] Tax:", messages[-1]["content"], re.M).group(1)
        return f"Heavy taxation drove small farmers into the legions of Gaul [{n}]."

    scripted.respond("answer", answer)

    def check(messages):  # the claim about legions is turned away; the rest supported by what they cite
        rows = re.findall(r"^(\d+)\. (.*)\(check against: \[(\d+)\]", messages[-1]["content"], re.M)
        return json.dumps(
            {
                "verdicts": [
                    {
                        "claim": int(i),
                        "status": "unsupported" if "legions" in t else "supported",
                        "sources": [int(n)],
                    }
                    for i, t, n in rows
                ]
            }
        )

    scripted.respond("verify", check)
    report = run(tmp_path, steps=1, early_exit=False)
    assert any("legions" in r.answer for r in report.trajectory.steps)
    call = next(c for c in scripted.calls if c.role == "report")
    shown = call.prompt.split("grouped by topic):\n")[1].split("\n\nYour task")[0]
    assert "legions" not in shown and "Heavy taxation drove small farmers off their land" in shown
    assert report.citations.facts_unchecked == 1
    assert report.citations.facts == len([ln for ln in shown.splitlines() if ln.startswith("- ")])


def test_a_check_that_cannot_be_read_or_a_fragment_turns_no_fact_away(scripted):
    from ttd.facts import borne_out

    scripted.reply("verify", "not json", "still not json")
    gateway = Gateway(resolve_config(**scripted_models()))
    found = ["Heavy taxation drove small farmers into the legions of Gaul [2].", "Rome fell [2]."]

    def check(found):
        kept, turned, usage = asyncio.run(
            borne_out(
                found,
                sources("army", "tax"),
                question=Q,
                plan=[],
                settings=VerifierSettings(),
                gateway=gateway,
                step=1,
                known=[],
            )
        )
        return kept, turned, len(usage)

    assert check(found) == (found, [], 2)  # two unreadable replies: nothing was judged
    scripted.reply("verify", json.dumps({"verdicts": [{"claim": 1, "status": "unsupported"}]}))
    assert check(found) == (found[1:], found[:1], 1)  # read: the fragment has nothing to check and stays


def test_a_report_question_with_few_facts_gets_them_set_out_without_a_writer_call(scripted, tmp_path):
    """Given 2-4 facts, a 1.5B filled its room with 11-13 claims of its own: below `few_facts` the cited
    facts are the report, under their topics, with a line saying the sources hold little."""
    scripted.reply("plan", PLAN)
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    report = run(tmp_path, steps=1, early_exit=False, few_facts=100)
    assert "report" not in scripted.roles()
    assert report.citations.few_facts == 1 and report.citations.from_facts == 0
    assert 1 <= report.citations.facts < 100
    body = report.markdown.split("\n## Sources\n")[0]
    kept = sum(c.status == "supported" for c in report.trajectory.report_noise.claims)
    title, note, facts = body.split("\n\n", 2)
    assert title.startswith("# ") and note.startswith(
        f"> Note: the sources searched hold only {kept} checked"
    )
    assert "## " in facts and "Evidence from the research steps" not in body
    for sentence in re.findall(r"[^.\n]+\.", facts.split("## Not verified")[0]):
        assert re.search(r"\[\d+\]", sentence), sentence  # only cited facts, nothing of the model's
    assert problems(report.markdown)["scaffolding"] == 0
    # with as many facts as `few_facts` asks, the writer writes
    scripted.calls.clear()
    assert run(tmp_path, steps=1, early_exit=False, few_facts=1).citations.few_facts == 0
    assert "report" in scripted.roles()


def test_a_report_question_whose_few_facts_the_check_turns_away_says_nothing_bears_on_it(
    scripted, tmp_path, monkeypatch
):
    import ttd.stages.report as report_stage

    async def turned_away(markdown, sources, **kw):  # a verifier that supports nothing in the report
        return [
            {"text": c.text, "status": "unsupported", "source_ids": [], "area": None}
            for c in split_claims(markdown)
        ], []

    monkeypatch.setattr(report_stage, "verify", turned_away)
    scripted.reply("plan", PLAN)
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    report = run(tmp_path, steps=1, early_exit=False, few_facts=100)
    assert report.citations.few_facts == 1 and report.citations.facts >= 1
    body = report.markdown.split("\n## Sources\n")[0]
    assert NO_FACTS in body and "hold only" not in body and "Evidence from the research steps" not in body
    assert "## Not verified" in body  # the facts turned away, listed as such


def test_the_tail_of_a_sentence_cut_at_an_abbreviation_is_no_fact():
    from ttd.facts import facts

    verdicts = [
        {"text": t, "status": "supported", "source_ids": ["doc:army"], "area": None}
        for t in ("and deals with the planning and conduct of campaigns [1].", "The army hired Goths [1].")
    ]
    army = {"doc:army": {"id": "doc:army", "n": 1, "title": "Army", "text": "The army hired Goths."}}
    assert facts(Q, [], verdicts, [], army) == ["The army hired Goths [1]."]
    assert facts(Q, [], verdicts, [], {}) == []  # a claim no passage given supports is no fact


def test_a_sentence_written_again_with_another_subject_is_removed():
    """The README's Roman run (session 22) listed the Edict of Milan twice, once as "He played ..."."""
    edict = (
        "played a pivotal role in elevating the status of Christianity in the Roman Empire, the Edict of "
        "Milan decriminalising Christian practice [2]."
    )
    text = (
        f"# Rome\n\n- The rise of Christianity {edict}\n- He {edict}\n- The Western empire fell in 476 [1].\n"
    )
    cleaned, fixes = clean(text)
    assert cleaned.count("pivotal role") == 1 and "fell in 476 [1]" in cleaned and fixes == 1
    # alike in words, not the same claim: both stay
    two = "The Western Roman Empire collapsed in 476 AD [1]. The Eastern Roman Empire fell in 1453 AD [1].\n"
    assert clean(f"# Rome\n\n{two}")[0].count("Roman Empire") == 2


def test_a_sentence_saying_in_fewer_words_what_an_earlier_one_citing_its_source_said_is_removed():
    """The AI-agents report (session 30) stated its LLM sentence again in other sections in fewer words."""
    first = "Large language models (LLMs) can generate text, code and plans from instructions [2]."
    text = (
        f"# AI agents\n\n{first}\n\n## Core technologies\n\n- Large LLMs can generate text and code [2].\n"
        "- LLMs generate text [2].\n- Agents call tools such as search engines [3].\n"
    )
    cleaned, fixes = clean(text)
    assert "Large LLMs" not in cleaned and fixes == 1
    assert first in cleaned and "- LLMs generate text [2]." in cleaned  # too short to judge: it stays
    # what stays: a number, a negation or another source makes it another claim; a longer one says more
    kept = (
        "Emperor Majorian ruled the west for 15 years [4]. Emperor Majorian ruled the west for 16 years [4]. "
        "Emperor Majorian did not rule the west for 15 years [4]. Majorian ruled the west for 15 years [5]."
    )
    longer = "Emperor Majorian ruled the west for 15 years from Ravenna [4]."
    assert clean(f"# Rome\n\n{kept}\n")[0] == f"# Rome\n\n{kept}\n"
    assert clean(f"# Rome\n\n{kept} {longer}\n")[0] == f"# Rome\n\n{kept.split('. ', 1)[1]} {longer}\n"


def test_a_sentence_a_later_longer_one_citing_its_source_holds_is_removed():
    """The README run at e6feebd listed the causes under "Social Factors" with a label of its own, then
    stated the same list with what the Empire lost under "Military Factors"; the first goes, and its
    section with it."""
    causes = (
        "modern historians posit factors including the effectiveness and numbers of the army, the health "
        "and numbers of the Roman population, the strength of the economy, the competence of the emperors, "
        "the internal struggles for power, the religious changes of the period, and the efficiency of the "
        "civil administration [1]."
    )
    text = (
        f"# Rome\n\n## Social Factors\n\n- Military Weaknesses: {causes[0].upper()}{causes[1:]}\n\n"
        f"## Military Factors\n\n- The Roman Empire lost the strengths that had allowed it to exercise "
        f"effective control over its Western provinces; {causes}\n"
    )
    cleaned, fixes = clean(text)
    assert (
        cleaned.count("posit factors") == 1
        and "Social Factors" not in cleaned
        and "lost the strengths" in cleaned
    )
    assert fixes >= 1
    # an answer line stays however much a later sentence says of it; another source's longer one is no repeat
    answer = (
        "**Answer:** Rush, the Canadian rock band whose drummer Neil Peart joined the Modern Drummer Hall of "
        "Fame [2].\n\nRush is a Canadian rock band whose drummer Neil Peart joined the Modern Drummer "
        "Hall of Fame in 1983 and which released Counterparts [2].\n"
    )
    assert clean(f"# Q\n\n{answer}")[0] == f"# Q\n\n{answer}"
    other = "Rome was sacked in 410 [1]. Rome was sacked by the Visigoths in 410 [2].\n"
    assert clean(f"# Rome\n\n{other}")[0] == f"# Rome\n\n{other}"
    # a conclusion holding two sections sums them up: they stay (a review's case)
    taxes = "Heavy taxation and currency debasement weakened the Roman economy in the third century [1]."
    goths = "Germanic invasions by the Goths and Vandals overwhelmed the Western Roman army [2]."
    summed = f"## Taxes\n\n{taxes}\n\n## Army\n\n{goths}\n\n## Conclusion\n\n"
    summed += f"In summary, {taxes[:-5]} and {goths[:-5]} [1][2].\n"
    assert clean(f"# Rome\n\n{summed}")[0] == f"# Rome\n\n{summed}"
    # "100,000" is one number, not "100": the 100 AD figure stays
    peak = "Rome had about 1 million inhabitants in 100 AD, the largest city of its time [1]."
    later = (
        "By 500 AD Rome had only about 100,000 inhabitants, down from 1 million, the largest city of its time"
    )
    later += " [1]."
    assert clean(f"# Rome\n\n{peak} {later}\n")[0] == f"# Rome\n\n{peak} {later}\n"
    # what the first pass left out for an earlier sentence stays out when that one goes for a later one
    ends = "Odoacer deposed Romulus Augustulus in 476, ending the Western Roman Empire [1]."
    short = "Odoacer deposed Romulus Augustulus in 476 [1]."
    full = (
        "In 476 the chieftain Odoacer deposed Romulus Augustulus, the last emperor, ending the Western Roman"
    )
    full += " Empire [1]."
    assert clean(f"# Rome\n\n{ends} {short} {full}\n") == (f"# Rome\n\n{full}\n", 2)
    # another source's copy of the sentence a later one holds stays
    cur = "- Inflation debased the Roman currency badly"
    held = (
        f"{cur} [1].\n{cur} [3].\n- In the third century inflation debased the Roman currency badly, prices"
    )
    held += " rising [1].\n"
    assert clean(f"# Rome\n\n{held}")[0] == f"# Rome\n\n{held.split(chr(10), 1)[1]}"


def test_a_page_named_as_a_label_and_a_clause_calling_a_fact_irrelevant_are_cleaned():
    """The README run at 854879a: its report listed 'Roman Empire states: "By the late 3rd century AD, ...'
    (a page of the run as a label, its quote never closed) and '..., but this is not relevant to the
    decline of the Western Roman Empire [5].' (the writer judging its own fact); the check passed both."""
    from ttd.hygiene import page_labels

    text = (
        "# Rome\n\n### Roman Empire\n"
        '- Roman Empire states: "By the late 3rd century AD, the empire had been divided many times [4].\n'
        '- The Byzantine Empire writes: "It endured until 1453" [5].\n'
        '- Einstein writes: "God does not play dice" [3].\n'
    )
    out, cut = page_labels(text, ["Roman Empire", "Byzantine Empire"])
    assert "- By the late 3rd century AD, the empire had been divided many times [4].\n" in out
    assert "- It endured until 1453 [5].\n" in out and cut == 2  # the quote's partner goes with it
    assert '- Einstein writes: "God does not play dice" [3].' in out  # a person quoted is no page
    judged = (
        "# Rome\n\n- The Byzantine Empire endured until 1453, but this is not relevant to the decline of the "
        "Western Roman Empire [5].\n"
    )
    assert clean(judged) == ("# Rome\n\n- The Byzantine Empire endured until 1453 [5].\n", 1)
    # a clause that is the claim, or not at the sentence's end, and a table row, stay
    kept = (
        "# Rome\n\n- The court ruled that it was not relevant to the case whether he knew [3].\n"
        "- Evidence of prior acts, which is not relevant to guilt, must be excluded [4].\n\n"
        "| Fact | this is not relevant to X |\n"
    )
    assert clean(kept)[0] == kept


def test_a_reports_sections_are_raised_to_the_second_level():
    """The README run at 854879a: the writer set every section at ###, under the # title."""
    from ttd.hygiene import levelled

    text = "# Rome\n\n### Summary\nRome fell [1].\n\n#### Army\n- Pay fell [2].\n\n```\n### code\n```\n"
    out, moved = levelled(text)
    assert out == "# Rome\n\n## Summary\nRome fell [1].\n\n### Army\n- Pay fell [2].\n\n```\n### code\n```\n"
    assert moved == 2 and levelled(out) == (out, 0)
    indented = "# Rome\n\n## Army\n\n    ### indented code\n"
    assert levelled(indented) == (indented, 0)


def test_a_cut_off_list_label_and_a_colon_heading_are_cleaned():
    text = (
        "# Rome\n\n## Summary:\n\n- **Military Failure**: [2]\n- **Taxes**: farmers left [1].\n\nArmy: [3]\n"
    )
    cleaned = clean(text)[0]
    assert "## Summary\n" in cleaned and "Military Failure" not in cleaned and "Army" not in cleaned
    # what looks alike but holds a claim stays: an answer line, a short list item, a table row, code
    kept = "**Answer:** Rush [2]\n\n- 476 AD [2]\n\n|Rome|476 [2]|\n\n```\nreturn a[1]\n# Step 1:\n```\n"
    assert clean(f"# Rome\n\n{kept}")[0] == f"# Rome\n\n{kept}"
    assert "- **Taxes**: farmers left [1]." in cleaned
    # the README run at 5b32ef1: a lead-in whose list was cut keeps its claim, not its colon
    lead_in = "- The Roman Empire lost control over its Western provinces due to several factors: [1]."
    assert "provinces due to several factors [1].\n" in clean(f"# Rome\n\n{lead_in}\n")[0]
    # HotpotQA, Keld Bordinggaard: an empty item, and talk about "the second passage", copied into a report
    report = "# Clubs\n\n1.\n3. The second passage names Ruben Bagger [2].\n4. Odense Boldklub is a club [3]."
    assert clean(report)[0].strip() == "# Clubs\n\n4. Odense Boldklub is a club [3]."
    # HotpotQA, Edward Albee: the reader numbered its sentences inline and the check dropped both
    dropped = remove_claims(
        "1. Albee lived 96 years. 2. Barrie's age is not stated.",
        {"Albee lived 96 years.", "Barrie's age is not stated."},
    )
    assert (
        clean(f"# Albee\n\n**Answer:** Edward Albee [1]\n\n{dropped}")[0]
        == "# Albee\n\n**Answer:** Edward Albee [1]\n"
    )


def test_facts_are_grouped_under_the_areas_they_are_about_and_name_their_subject():
    from ttd.facts import OTHER, by_area, passage_facts
    from ttd.terms import terms

    src = {
        "doc:b": {
            "id": "doc:b",
            "n": 3,
            "title": "Byzantine Empire (state)",
            "text": (
                "The Byzantine Empire was the Eastern Roman Empire. It endured until the fall of "
                "Constantinople to the Ottoman Empire in 1453. Its capital Constantinople fell to the "
                "Ottoman Empire's army."
            ),
        }
    }
    asked = terms("When did the Eastern Roman Empire fall to the Ottoman Empire")
    found = passage_facts(src, asked, asked)
    assert (
        "Byzantine Empire endured until the fall of Constantinople to the Ottoman Empire in 1453 [3]."
        in found
    )
    # "Its" is named too (Robinhood's report kept "Its main branches are ..." with no subject)
    assert "Byzantine Empire's capital Constantinople fell to the Ottoman Empire's army [3]." in found
    from ttd.facts import _named

    assert (
        _named("Its 1453 fall ended the empire.", "Byzantine Empire")
        == "Byzantine Empire's 1453 fall ended the empire."
    )
    assert _named("Its 1453 fall ended the empire.", "list of things that fell") is None  # no plain subject
    plan = [
        {"title": "Taxes", "goal": "How heavy taxation drove farmers away"},
        {"title": "Religion", "goal": "What the bishops did"},
    ]
    groups = by_area(
        ["Heavy taxation drove small farmers off their land [2].", "Pay fell short [1]."], plan, Q
    )
    assert groups == {
        "Taxes": ["Heavy taxation drove small farmers off their land [2]."],
        OTHER: ["Pay fell short [1]."],
    }
    # the goal's words alone place no fact (Gibbon's volumes "cover ... the rise of Genghis Khan" went
    # under "Social unrest" on its goal's "rise"); the rest go under the page they cite first
    plan.append({"title": "Social unrest", "goal": "The rise of Christianity and of Genghis Khan"})
    gibbon = "The six volumes cover the rise of Christianity and of Genghis Khan [4]."
    pages = {1: "Fall of the Western Roman Empire", 4: "Gibbon"}
    groups = by_area([gibbon, "Pay fell short [1][4]."], plan, Q, pages)
    assert groups == {"Gibbon": [gibbon], pages[1]: ["Pay fell short [1][4]."]}
    assert list(groups) == [pages[1], "Gibbon"]  # the page most about the question first
    riots = "Social riots marked the rise of Christianity [4]."
    assert by_area([riots], plan, Q, pages) == {"Social unrest": [riots]}
    # a title's word in another form names it ("economic" for "Economy"); a short stem is no prefix
    plan = [{"title": "Economy", "goal": "How a trade collapse came"}, {"title": "Art", "goal": "Forts"}]
    trade = "Economic decline and a trade collapse ruined the cities [1]."
    guns = "Artillery guarded the forts [1]."
    assert by_area([trade, guns], plan, Q, pages) == {"Economy": [trade], pages[1]: [guns]}


def test_a_report_questions_reviser_sees_the_answers_cited_facts_not_talk_about_passages(scripted, tmp_path):
    def answer(messages):  # cites the tax passage by the number the prompt gives it
        n = re.search(r"^\[(\d+)\] Tax:", messages[-1]["content"], re.M).group(1)
        return (
            f"The passage [{n}] states that heavy taxation drove farmers off their land. The passage [{n}] "
            f"does not mention the army.\n[{n}] The legions were paid in gold by the senate."
        )

    scripted.respond("answer", answer)
    ttd.research(Q, out=tmp_path, retriever=Wiki(), k=3, steps=1, early_exit=False, **scripted_models())
    prompt = next(c for c in scripted.calls if c.role == "revise").prompt
    shown = re.search(r"^Cited answer from the sources: (.*)$", prompt, re.M).group(1)
    assert re.fullmatch(r"Heavy taxation drove farmers off their land \[\d\]\.", shown)
    # talk about the passages, and a "[n]"-numbered line of the model's own beliefs, are left out
    assert "does not mention" not in prompt and "legions" not in shown


def test_facts_are_cited_sentences_about_the_question():
    from ttd.facts import answer_facts, facts

    src = sources("army", "tax")
    answer = (
        "The passage [2] states that heavy taxation drove farmers off their land. "
        "The passage [1] does not mention taxes. "
        "The Roman army relied on Germanic foederati whose loyalty declined."
    )
    plural = "However, passages [1] and [2] both note that the army relied on Germanic foederati."
    assert answer_facts(plural, src, Q) == ["The army relied on Germanic foederati [1][2]."]
    it_says = "It also mentions that heavy taxation drove small farmers off their land [2]."
    assert answer_facts(it_says, src, Q) == ["Heavy taxation drove small farmers off their land [2]."]
    # what "they" (the passages) discuss is no fact, though its words are the passage's (Khosla Ventures run)
    they = "They instead discuss heavy taxation, which drove small farmers off their land [2]."
    assert answer_facts(they, src, Q) == []
    # a sentence its cited passage does not bear out is not a fact, whatever its mark
    assert answer_facts("The army was paid in 3.5 tons of U.S. gold [2].", src, Q) == []
    assert answer_facts(answer, src, Q) == [
        "Heavy taxation drove farmers off their land [2].",  # what the passage says, from [2]
        "The Roman army relied on Germanic foederati whose loyalty declined [1].",  # attributed to [1]
    ]
    verdicts = [
        {"text": "Pay fell short [1].", "status": "supported", "source_ids": ["doc:army"], "area": None},
        {"text": "The moon turned red [2].", "status": "unsupported", "source_ids": [], "area": None},
    ]
    answer = "Pay fell short [1]. Army: [1] The army hired Goths as foederati."
    qa = [{"step": 1, "question": "q", "answer": answer, "source_ids": []}]
    found = facts(
        Q, [{"title": "Taxes", "goal": "How taxes shrank the western provinces"}], verdicts, qa, src
    )
    assert found[0] == "Pay fell short [1]." and "Pay fell short [1]." not in found[1:]  # each fact once
    assert found[1] == "The army hired Goths as foederati [1]."  # label gone, mark at the end
    assert not any("moon" in f for f in found)
    assert any(f.startswith("Heavy taxation drove small farmers") and f.endswith("[2].") for f in found)


def test_empty_markup_and_a_revised_draft_heading_are_cleaned():
    text = (
        "# Monaco\n\n### Revised Draft of the Report\n\n**\n\n**\n\nGiotto influenced him [1].\n\n"
        "```\ncode\n```\n"
    )
    cleaned = clean(text)[0]
    assert "Revised Draft" not in cleaned and "\n**\n" not in cleaned
    assert "Giotto influenced him [1]." in cleaned and "```\ncode\n```" in cleaned


class OffTopic(ttd.retrieval.Retriever):
    """A corpus with nothing on the question (the offline index on TikTok bans: its nearest page was rap)."""

    async def search(self, query, k=5):
        text = "Rapping is a vocal delivery that incorporates rhyme, rhythmic speech and street vernacular."
        return [ttd.retrieval.Passage(id="doc:rap", title="Rapping", text=text, location="/docs/rap")]


def test_a_report_with_no_fact_from_the_sources_says_so_and_states_nothing(scripted, tmp_path):
    note = "Note: The citation [1] has been replaced with the actual source provided in the answer."
    for role in ("draft", "revise"):
        scripted.reply(role, f"# Rome\n\n## Causes\n\nRome fell because its emperors were weak. {note}\n")
    scripted.respond("answer", lambda m: "Passage [1] is about rap, not Rome.")
    report = ttd.research(Q, out=tmp_path, retriever=OffTopic(), k=1, steps=1, **scripted_models())
    assert "report" not in scripted.roles()  # no writer asked to write from its own beliefs
    body = report.markdown.split("## Sources")[0]
    stated, listed = body.split("## Not verified")
    assert stated.split("\n\n")[1].startswith("No retrieved source bears on this question")
    assert len(stated.strip().split("\n\n")) == 2  # the title and that line: nothing about rap or Rome
    # R_T's claims are listed as what could not be verified
    unmarked = {re.sub(r" ?\[\d+\]", "", c.text) for c in report.trajectory.noise[-1].claims}
    assert unmarked and all(f"- {c}" in listed for c in unmarked)
    assert "Note:" not in listed  # the writer's note on its citations is no claim (the AI agents run)
    assert report.citations.facts == 0 and report.citations.evidence_section == 0


def test_a_claim_or_fact_label_is_removed_and_its_claim_kept():
    # HotpotQA, Dmytryk or Preminger: "**Answer:** Claim 2: He was known ..." was extracted as "Claim 2"
    text = (
        "# Dmytryk\n\nClaim 2: He made films noir [1].\n\n- **Fact 1:** Odense is a club [2].\n\n"
        "### Fact [2]: Awards\n\nHe won an Oscar [1].\n"
    )
    cleaned, fixes = clean(text)
    assert cleaned == (
        "# Dmytryk\n\nHe made films noir [1].\n\n- Odense is a club [2].\n\n"
        "### Awards\n\nHe won an Oscar [1].\n"
    )
    assert fixes == 3
    assert (
        clean("# Rome\n\nStep 1 of the reform came in 284 [1].\n")[0]
        == "# Rome\n\nStep 1 of the reform came in 284 [1].\n"
    )


def test_marks_after_a_full_stop_go_back_into_the_sentence_they_cite():
    # HotpotQA, Spurs: "It is also known as Tottenham. [2], [5] Answer: Spurs" left the claim unmarked
    assert (
        clean("# T\n\nIt is also known as Tottenham. [2], [5]\n")[0]
        == "# T\n\nIt is also known as Tottenham [2][5].\n"
    )
    assert (
        clean("# T\n\nBorn in 1909. [1] He died in 2003 [2].\n")[0]
        == "# T\n\nBorn in 1909 [1]. He died in 2003 [2].\n"
    )
    from ttd.answer_line import split_stated_answer

    assert split_stated_answer("Known as Tottenham. [2], [5] Answer: Spurs") == (
        "Known as Tottenham. [2], [5]",
        "Spurs",
    )


def test_a_mark_repeated_after_the_full_stop_is_kept_once_and_counted_until_then():
    # The README run (session 32): the writer bolded each fact and copied its mark after the stop
    from ttd.hygiene import problems

    written = (
        "# Rome\n\n## Other Findings\n"
        "- **The Goths were a Germanic people who played a major role in the fall of the Western Roman "
        "Empire and the emergence of medieval Europe [5]. [5]**\n"
        "- **Charlemagne was King of the Franks from 768 and King of the Lombards from 774** [4].\n"
        "- **Army**: it was weak [1]. [2]\n"
        "- See e.g. [1] for the army.\n"
    )
    assert problems(written)["stray_marks"] == 2
    cleaned = clean(written)[0]
    assert cleaned == (
        "# Rome\n\n## Other Findings\n"
        "- The Goths were a Germanic people who played a major role in the fall of the Western Roman "
        "Empire and the emergence of medieval Europe [5].\n"
        "- Charlemagne was King of the Franks from 768 and King of the Lombards from 774 [4].\n"
        "- **Army**: it was weak [1][2].\n"
        "- See e.g. [1] for the army.\n"
    )
    assert problems(cleaned)["stray_marks"] == 0 and clean(cleaned)[0] == cleaned
    # a bold sentence with its mark outside, a sentence ending in a number or a letter, a bold heading line
    for written, expected in [
        (
            "- **The army of Rome was weakened by many long civil wars.** [1]",
            "- The army of Rome was weakened by many long civil wars [1].",
        ),
        ("GDP grew 2.5. [1] Then it fell.", "GDP grew 2.5 [1]. Then it fell."),
        ("It fell during World War I. [2] Then more.", "It fell during World War I [2]. Then more."),
        ("**Key findings from the 2020 census of the whole population**", None),
        ("10. [2] The army fell.", "10. The army fell."),  # a list numbered with marks: the marks go
    ]:
        assert clean(f"# T\n\n{written}\n")[0] == f"# T\n\n{expected or written}\n"


def test_a_stated_answer_is_borne_out_by_a_checked_sentence_or_the_passage_it_cites():
    from ttd.answer_line import answer_line, grounded_marks

    kept = ["It is also known as Tottenham [2][5]."]
    texts = {
        2: "Tottenham Hotspur F.C. is commonly referred to as Tottenham or Spurs.",
        5: "History of the club.",
    }
    assert grounded_marks("Tottenham", kept, texts) == "[2][5]"  # the checked sentence holds it
    assert grounded_marks("Spurs", kept, texts) == "[2]"  # the passage that sentence cites holds it
    assert grounded_marks("Arsenal", kept, texts) is None  # neither does
    assert grounded_marks("yes", [], texts) is None
    # a fragment of marks left by a sentence split is no answer line
    qa = [{"question": "q", "answer": "It is also known as Tottenham. [1], [3]", "source_ids": []}]
    assert answer_line("What is Tottenham called?", qa, []) is None
    # a sentence led by its mark ("**Answer:** [1] It is a deciduous shrub ..." opened a HotpotQA report)
    # has the mark at its end, and its pronoun subject named after its page, or it is no answer line
    qa = [
        {
            "question": "q",
            "answer": "Shrubs vary. [1] It grows as a deciduous shrub in China.",
            "source_ids": [],
        }
    ]
    question = "Is Rhodotypos a shrub that grows in China?"
    assert (
        answer_line(question, qa, [], {1: "Rhodotypos"})
        == "Rhodotypos grows as a deciduous shrub in China [1]."
    )
    qa[0]["answer"] = "Shrubs vary. [1] It grows as a deciduous shrub in China [2]."  # every mark at its end
    assert (
        answer_line(question, qa, [], {1: "Rhodotypos"})
        == "Rhodotypos grows as a deciduous shrub in China [1][2]."
    )
    qa[0]["answer"] = "Shrubs vary. [1] It is a deciduous shrub of China."
    assert answer_line(question, qa, [], {1: "Rhodotypos"}) is None  # "It is ...": no subject to name


def test_a_bold_mark_labelling_a_list_item_goes_after_its_claim_and_group_numbers_leave_headings():
    text = (
        "# Rome\n\n### Group 2: External Factors\n"
        "- **[3]** The Goths were a Germanic people who played a major role in the fall of Rome.\n"
        "- **[3][4]** They raided Roman territory\n"
    )
    assert problems(text)["stray_marks"] == 2
    cleaned = clean(text)[0]
    assert "### External Factors\n" in cleaned
    assert "- The Goths were a Germanic people who played a major role in the fall of Rome [3]." in cleaned
    assert "- They raided Roman territory [3][4]." in cleaned
    assert problems(cleaned)["stray_marks"] == 0
    # a replayed README report (session 35) labelled its sections and headed its summary with the prompt's
    # words: the label goes, and so does the heading that counts as scaffolding
    labelled = (
        "# Rome\n\n## Two-sentence summary\nRome fell in 476 [1].\n\n## Section: Goths\nThey raided [2].\n"
    )

    assert problems(labelled)["scaffolding"] == 1
    assert clean(labelled)[0] == "# Rome\n\nRome fell in 476 [1].\n\n## Goths\nThey raided [2].\n"
    hyphened = "# Rome\n\n## Topic-based learning\nRome fell in 476 [1].\n"
    assert clean(hyphened)[0] == hyphened


def test_a_heading_cites_nothing():
    """The 1.5B's Roman report (session 29) headed its sections "## Military Confrontations [1][2]"."""
    text = "# Rome\n\n## Military Confrontations [1][2]\n\n- The Goths raided Roman territory [2].\n"
    assert problems(text)["stray_marks"] == 1
    cleaned = clean(text)[0]
    assert "## Military Confrontations\n" in cleaned and "territory [2]." in cleaned
    assert problems(cleaned)["stray_marks"] == 0


def test_a_source_named_twice_in_one_run_of_marks_is_named_once():
    """A 1.5B's long-form report (Khosla Ventures, session 26) held "- **Laser cutting** [3][4][5] [3]"."""
    text, fixes = clean("# R\n\n- **Laser cutting** [3][4][5] [3]\n- Drilling [5], [6].\n")
    assert "- **Laser cutting** [3][4][5]\n" in text and "- Drilling [5], [6]." in text and fixes == 1


def test_a_supported_claim_that_lost_its_mark_is_cited_again_from_its_verdict():
    """The README run (session 27): "[5] Before the foundation of Seuthopolis ..." was checked with its
    leading mark as its source, then hygiene dropped the mark as list numbering, and the report showed a
    claim counted supported with no citation."""
    from ttd.claims import recite

    src = {"doc:o": {"id": "doc:o", "n": 5, "title": "Odrysian kingdom", "text": "x"}}
    claims = [
        {
            "text": "[5] Before Seuthopolis it had no fixed capital.",
            "status": "supported",
            "source_ids": ["doc:o"],
        },
        {"text": "The decline had many causes [2].", "status": "supported", "source_ids": ["doc:o"]},
        {"text": "The sky turned green.", "status": "unsupported", "source_ids": []},
    ]
    body = (
        "# Rome\n\n## Causes\n- The decline had many causes [2].\n- Before Seuthopolis it had no fixed "
        "capital.\n- The sky turned green.\n\n| a | b |\n|---|---|\n"
    )
    out = recite(body, claims, src)
    assert "- Before Seuthopolis it had no fixed capital [5]." in out
    assert "- The decline had many causes [2]." in out  # a marked sentence keeps its own mark
    assert "- The sky turned green." in out  # only a supported claim is cited
    assert out.startswith("# Rome\n\n## Causes\n") and "| a | b |" in out


def test_a_supported_claim_cites_only_the_sources_its_verdict_names():
    """The README run (session 30): a summary of causes cited [1][2][3] where only [1] says it."""
    from ttd.claims import trim_marks

    src = {f"doc:{n}": {"id": f"doc:{n}", "n": n, "title": "t", "text": "x"} for n in (1, 2, 3, 4)}

    def claim(text: str, *ns: int) -> dict:
        return {
            "text": text,
            "status": "supported" if ns else "unsupported",
            "source_ids": [f"doc:{n}" for n in ns],
        }

    claims = [
        claim("Causes: Invasions and debt weakened Rome [1][2][3].", 1),
        claim("Farmers left their land [2], [3].", 4),
        claim("Goths won [1] and Huns came [2].", 1),
        claim("Adrianople was fought in 378 [1][3].", 1, 3),
        claim("The sky turned green [1][2]."),
    ]
    body = (
        "# Rome\n\n- **Causes**: Invasions and debt weakened Rome [1][2][3]. "
        "Farmers left their land [2], [3].\n- Goths won [1] and Huns came [2].\n\n"
        "Adrianople was fought in 378 [1][3]. The sky turned green [1][2].\n"
    )
    out, table, changed = trim_marks(body, claims, src)
    assert "- **Causes**: Invasions and debt weakened Rome [1]. Farmers left their land [4].\n" in out
    assert "- Goths won [1] and Huns came [2]." in out  # a mark inside the sentence cites its own part
    assert "Adrianople was fought in 378 [1][3]." in out  # both named: nothing to cut
    assert "The sky turned green [1][2]." in out  # an unsupported claim is the check's to drop, not this
    assert changed == 2 and [c["text"] for c in table][:2] == [
        "Causes: Invasions and debt weakened Rome [1].",
        "Farmers left their land [4].",
    ]


def test_the_report_cuts_a_supported_claims_marks_to_its_verdict(scripted, tmp_path):
    scripted.reply("plan", PLAN)
    scripted.reply(
        "report",
        "# Rome\n\n## Taxes\n\nHeavy taxation drove small farmers off their land [1][2][3].\n\n"
        "## Army\n\nGermanic foederati served the emperors for pay [1][2][3].\n",
    )
    report = run(tmp_path, steps=1, early_exit=False)
    body = report.markdown.split("\n## Sources\n")[0]
    by_n = {s.n: s.title for s in report.sources}
    for claim, page in (("off their land", "Tax"), ("emperors for pay", "Army")):
        marks = re.search(re.escape(claim) + r"((?: ?\[\d+\])+)", body).group(1)
        assert [by_n[int(n)] for n in re.findall(r"\d+", marks)] == [page]
    assert report.citations.marks_trimmed == 2


def test_a_cause_said_in_other_words_or_the_next_sentence_or_no_cause_at_all_is_left_to_the_check():
    """What the cause rule must not take for a cause its passage lacks (a review of 854879a)."""
    from ttd.claims import uncaused

    def rule(claim: str, text: str, title: str = "") -> bool:
        return uncaused(claim, [{"title": title, "text": text}], set())

    depression = (
        "The Great Depression began in 1929 and lasted until 1939. It was caused by the stock market crash."
    )
    assert not rule(
        "The Great Depression, from 1929 to 1939, was caused by the stock market crash.", depression
    )
    assert not rule(
        "The company went bankrupt as a result of heavy debt.", "Heavy debt forced the firm to close."
    )
    assert not rule(
        "The famine resulted from the failed potato crop.", "As a consequence of the failed crop, ..."
    )
    assert not rule("He contributed articles to the New Yorker.", "He wrote for the New Yorker.")
    assert not rule("The prime factors of 84 are 2, 3 and 7.", "84 is 2 times 2 times 3 times 7.")
    assert not rule(
        "Rebel Without a Cause was released in 1955.", "It was released in 1955.", "Rebel Without a Cause"
    )
    # what it is for: a definition taken for a cause
    assert rule(
        "The collapse was caused by the loss of political control.",
        "The fall was the loss of political control.",
    )


def test_a_list_item_too_short_to_be_a_claim_is_cited_from_a_passage_its_list_cites(scripted, tmp_path):
    """A README report (20261129-143012) listed the Fall page's factors, four with its mark and two ("The
    strength of the economy") without: too short to be claims, nothing checked or cited them."""
    scripted.reply("plan", PLAN)

    def writer(messages):
        n = re.search(r"Heavy taxation[^\n]*?\[(\d+)\]", messages[-1]["content"]).group(1)
        return (
            f"# Rome\n\n### Taxes\n\n- Heavy taxation drove small farmers off their land [{n}].\n"
            "- Great landowners\n- Lead pipes\n"
        )

    scripted.respond("report", writer)
    report = run(tmp_path, steps=1, early_exit=False)
    body = report.markdown.split("\n## Sources\n")[0]
    by_n = {s.n: s.title for s in report.sources}
    assert by_n[int(re.search(r"- Great landowners \[(\d+)\]", body).group(1))] == "Tax"
    assert "- Lead pipes\n" in body + "\n"  # no passage of its list holds it: left as it is
    assert report.citations.fragments_cited == 1
    assert "\n## Taxes\n" in body and "###" not in body  # the writer's ### section, raised under the title


def test_only_a_fragment_a_cited_passage_of_its_list_holds_is_cited():
    from ttd.claims import cite_fragments

    src = sources("army", "tax")
    text = (
        "## Causes\n\n- The army relied on foederati [1].\n- Germanic foederati\n- Great landowners\n\n"
        "```\n- Germanic foederati\n```\n\n## Other\n\n- Germanic foederati\n"
    )
    out, n = cite_fragments(text, src)
    # its list cites the army's page, which holds it; the tax page (not cited there) is not looked at
    assert "- Germanic foederati [1]\n- Great landowners\n" in out and n == 1
    assert "```\n- Germanic foederati\n```" in out and out.endswith("## Other\n\n- Germanic foederati\n")
    # a lead-in is no item; a nested list is a list of its own
    nested = "- Army matters:\n  - The army relied on foederati [1].\n  - Germanic foederati\n"
    nested += "- Great landowners [2]\n"
    out, n = cite_fragments(nested, src)
    assert out.startswith("- Army matters:\n") and "  - Germanic foederati [1]\n" in out and n == 1


def test_a_passage_sentence_whose_subject_is_a_pronoun_after_a_leading_phrase() -> None:
    """The README run's report (feb6323) listed "Having survived the fall of the Western Roman Empire in the
    5th century AD, it endured until ... 1453" and "From here, they conducted raids into Roman territory"."""
    from ttd.facts import _named, passage_facts

    byzantine = (
        "Having survived the fall of the Western Roman Empire in the 5th century AD, it endured until 1453."
    )
    assert _named(byzantine, "Byzantine Empire") == (
        "Having survived the fall of the Western Roman Empire in the 5th century AD, Byzantine Empire "
        "endured until 1453."
    )
    assert _named("Founded in 1602, its ships sailed east.", "Dutch East India Company") == (
        "Founded in 1602, Dutch East India Company's ships sailed east."
    )
    assert _named("From here, they conducted raids into Roman territory.", "Goths") is None
    assert _named("In 1453, it fell to the Ottoman Empire.", "Byzantine Empire") is None  # "it": not plainly
    assert _named(byzantine, "list of things that fell") is None
    kept = "The Goths, a Germanic people, raided Roman territory."
    assert _named(kept, "Goths") == kept
    src = {
        "w": {
            "n": 4,
            "title": "Byzantine Empire",
            "text": f"The Byzantine Empire was Rome's east. {byzantine}",
        }
    }
    from ttd.terms import terms

    asked = terms("How long did the Byzantine Empire endure after the Western Roman Empire fell")
    found = passage_facts(src, asked, asked)
    assert any("AD, Byzantine Empire endured until 1453 [4]" in f for f in found)
    assert not any(" it endured" in f for f in found)


def test_a_model_facts_pronoun_subject_is_named_after_the_page_it_cites_or_left_out() -> None:
    """The README run at 645f165 listed "He mustered a large Roman ... army" (Flavius Aetius) and "Having
    survived ..., it endured until 1453" from step answers quoting their passages."""
    from ttd.facts import answer_facts, facts

    src = {
        "a": {
            "n": 5,
            "title": "Byzantine Empire",
            "text": "Having survived the fall of the Western Roman Empire in the 5th century AD, it endured "
            "until the fall of Constantinople in 1453.",
        },
        "b": {
            "n": 6,
            "title": "Flavius Aetius",
            "text": "He mustered a large Roman and allied army at the Battle of the Catalaunian Plains.",
        },
    }
    answer = (
        "Having survived the fall of the Western Roman Empire in the 5th century AD, it endured until the "
        "fall of Constantinople in 1453 [5]. He mustered a large Roman and allied army at the Battle of the "
        "Catalaunian Plains [6]."
    )
    named = (
        "Having survived the fall of the Western Roman Empire in the 5th century AD, Byzantine Empire "
        "endured until the fall of Constantinople in 1453 [5]."
    )
    assert answer_facts(answer, src, Q) == [named]
    verdict = {"text": "It kept Roman law and the Greek language in the east [5].", "status": "supported"}
    found = facts(Q, [], [{**verdict, "source_ids": ["a"]}], [], src)
    assert "Byzantine Empire kept Roman law and the Greek language in the east [5]." in found
    assert not any(f.startswith(("It ", "He ")) for f in found)


def test_the_report_on_itself_is_no_claim() -> None:
    """The AI agents report (session 30) listed "This report charts ..." and "This concludes the research
    report." as not verified claims."""
    from ttd.hygiene import clean, is_meta

    text = (
        "# AI agents\n\nThis report charts the evolving landscape of AI agents. Large language models "
        "generate text [2].\n\nThis concludes the research report.\n"
    )
    out, _ = clean(text)
    assert out == "# AI agents\n\nLarge language models generate text [2].\n"
    assert not is_meta("This reporter covered the war [1].") and not is_meta("Reports say Rome fell [1].")


def test_what_the_pronoun_and_self_description_rules_leave_alone() -> None:
    """A review of session 30's rules: a main clause or a name with an apposition before "his"/"its" is no
    opening phrase, a dummy "it" is not named, a list page names nothing, and a cited sentence opening "This
    document"/"This concludes" states a fact."""
    from ttd.citations import strip_sources_section
    from ttd.facts import _named, page_titles, resolved
    from ttd.hygiene import is_meta

    theodosius = "Theodosius I left the empire to Honorius, his younger son, in the west."
    assert _named(theodosius, "Theodosius I") == theodosius
    assert _named("It endured for centuries, its capital at Constantinople.", "Byzantine Empire") == (
        "Byzantine Empire endured for centuries, its capital at Constantinople."
    )
    assert _named("Having said that, it was the Ottomans who took the city.", "Byzantine Empire") is None
    src = page_titles(
        {"a": {"n": 1, "title": "Byzantine Empire"}, "b": {"n": 7, "title": "List of Roman emperors"}}
    )
    assert resolved("It ruled from Constantinople [7].", src) is None
    assert resolved("It endured until 1453 [9][1].", src) == "Byzantine Empire endured until 1453 [9][1]."
    # its own page named as its speaker (the README run at 9f6136d: "Roman Empire mentions that ...")
    said = "Byzantine Empire also mentions that the fall of Constantinople came in 1453 [1]."
    assert resolved(said, src) == "The fall of Constantinople came in 1453 [1]."
    assert resolved("Byzantine Empire states that it endured until 1453 [1].", src) == (
        "Byzantine Empire endured until 1453 [1]."
    )
    other = "Byzantine Empire mentions that the Goths sacked Rome [7]."  # another page's: left to the check
    assert resolved(other, src) == other
    wiki = {1: "Byzantine Empire - Wikipedia"}  # the page's name without its site's
    assert (
        resolved("Byzantine Empire notes that it fell in 1453 [1].", wiki)
        == "Byzantine Empire fell in 1453 [1]."
    )
    assert not is_meta("This document declared the colonies independent of Britain [2].")
    assert not is_meta("This concludes the Roman period in Britain, which ended in 410 [1].")
    assert is_meta("This report charts the landscape of AI agents.")
    body = "Intro.\n\nBody [1].\n\nMore body here.\n\n"
    for heading in ("## References and Further Reading", "## Sources Cited", "## Sources."):
        assert "made-up" not in strip_sources_section(f"{body}{heading}\n- A made-up book")
    revenue = f"{body}## Revenue\n\nSources: fees make up 60% of revenue [2].\n\n## Outlook\n\nGrowth [1]."
    assert strip_sources_section(revenue) == revenue


def test_a_fact_that_adds_nothing_to_the_others_of_its_source_is_left_out() -> None:
    """The README run at a4195ae: a step answer quoting its passage gave a fact opening with an unmatched
    quote mark, and a second fact merging two passage sentences that stood below it as facts of their own."""
    from ttd.facts import answer_facts, distinct, facts

    src = {
        "a": {
            "n": 4,
            "title": "Fall of the Western Roman Empire",
            "text": "In modern historiography, the empire fell to a weak army and court. "
            "Ancient Rome's Western Empire was ruled by barbarian kings after 476.",
        },
    }
    answer = (
        '"In modern historiography, the empire fell to a weak army and court [4]. '
        "In modern historiography, the empire fell to a weak army and court, and "
        "Ancient Rome's Western Empire was ruled by barbarian kings after 476 [4]."
    )
    assert answer_facts(answer, src, Q)[0].startswith("In modern historiography")  # the quote opened nothing
    found = facts(Q, [], [], [{"question": "q", "answer": answer, "source_ids": ["a"]}], src)
    assert found == [
        "In modern historiography, the empire fell to a weak army and court [4].",
        "Ancient Rome's Western Empire was ruled by barbarian kings after 476 [4].",
    ]
    # a number is a word: two reigns of different length both stay; another source's restatement too
    alike = [
        "Majorian ruled for 15 years [1].",
        "Majorian ruled for 16 years [1].",
        "Majorian ruled for 15 years [2].",
    ]
    assert distinct(alike) == alike
    # a shorter restatement goes beside the longer fact of its source, whichever came first
    longer = "Heavy taxation drove small farmers off their land in the western provinces [3]."
    assert distinct(["Heavy taxation drove small farmers off their land [3].", longer]) == [longer]
    assert distinct([longer, "Heavy taxation drove farmers off their land [3]."]) == [longer]


def test_a_short_answer_whose_checked_rewrite_keeps_no_citation_falls_back_to_the_draft(scripted, tmp_path):
    """The second check of R_T standing in (review of 5b32ef1: it crashed with the check on)."""
    scripted.reply("report", "# Adrianople\n\nA report with no citations at all, written here.\n")
    question = "Which people defeated the Roman army at Adrianople?"
    report = run(tmp_path, question, steps=2, verify={"mode": "lexical"}, short_report="write")
    assert report.citations.from_draft == 1 and report.citations.cited >= 1


def test_what_the_mark_cut_leaves_alone():
    """Review of 5b32ef1: marks inside bold stay as written and the table says so; a cut that would make a
    claim read as another is not made; the lexical check names every passage that clears its bar."""
    from ttd.claims import trim_marks

    src = {f"d{n}": {"id": f"d{n}", "n": n, "title": "t", "text": "x"} for n in range(1, 4)}
    body = (
        "**Rome fell in 476 because of debt [1][2].**\n\n"
        "The foederati served for pay [1][2]. The foederati served for pay [1]."
    )
    claims = [
        {"text": c.text, "status": "unsupported" if i == 2 else "supported", "source_ids": ["d1"]}
        for i, c in enumerate(split_claims(body))
    ]
    out, table, changed = trim_marks(body, claims, src)
    assert out == body and changed == 0 and table == claims
    same = PASSAGES["tax"]
    both = {f"doc:{k}": {"id": f"doc:{k}", "n": n, "title": k, "text": same} for n, k in ((1, "a"), (2, "b"))}
    text = "Heavy taxation drove small farmers off their land [1][2]."
    claims, _ = asyncio.run(verify(text, both, question=Q, settings=VerifierSettings(mode="lexical")))
    assert claims[0]["source_ids"] == ["doc:a", "doc:b"] and trim_marks(text, claims, both)[0] == text


def test_what_the_restatement_test_keeps_apart():
    """Review of ac2f139: a number or a turning word ("before", "after") in a long fact makes it another."""
    from ttd.facts import distinct

    senate = (
        "The Senate voted in {} to send envoys, taxes, grain and gold to Alaric's camp outside Rome{} [1]."
    )
    dated = [senate.format(410, ""), senate.format(408, ", and Alaric withdrew")]
    turned = [
        "Odoacer ruled Italy before Theodoric [2].",
        "Odoacer ruled Italy after Theodoric's invasion was repelled [2].",
    ]
    assert distinct(dated) == dated and distinct(turned) == turned
    assert clean("# R\n\n" + " ".join(dated) + "\n")[0].count("Senate") == 2
    # a lead-in keeps its colon when its list is below it, and a label is no lead-in
    listed = "The empire fell due to several factors: [1].\n\n- Heavy taxes drove farmers away [1].\n"
    assert clean(f"# R\n\n{listed}")[0] == f"# R\n\n{listed}"
    assert "- **Army**: [2]." not in clean("# R\n\n- **Army**: [2].\n- Taxes rose [1].\n")[0].replace(
        ": [2]", ""
    )


OWN = [
    "The emperors of Rome loved music and poetry above all.",
    "Interest rates rose sharply across every province.",
    "The senate banned all trade with distant Persia.",
]


ARMY = "The Roman army relied on Germanic foederati, whose loyalty declined as pay fell short"


def own_writer(own: list[str], again: str = "grounded"):
    """A report writer that adds `own` claims to the taxation fact. Asked again, it writes the fact alone
    ("grounded"), the fact and more claims of its own ("worse"), or, having first written the army fact
    too ("ratio", 2 of 3 supported), the taxation fact alone."""

    def writer(messages):
        facts = messages[1]["content"]
        tax = re.search(r"Heavy taxation[^\n]*?(\[\d+\])", facts).group(1)
        grounded = f"Heavy taxation drove small farmers off their land {tax}."
        army = ARMY + " " + re.search(r"Roman army relied[^\n]*?(\[\d+\])", facts).group(1) + "."
        first = [grounded, army, own[1]] if again == "ratio" else [grounded, *own]
        if "No fact above says" not in messages[-1]["content"]:
            return "# Rome\n\n## Taxes\n\n" + " ".join(first) + "\n"
        if again == "worse":
            more = ["Carthage sent grain ships to Gaul every winter.", "The aqueducts ran dry in 402."]
            return "# Rome\n\n## Taxes\n\n" + " ".join([grounded, *own, *more]) + "\n"
        return f"# Rome\n\n## Taxes\n\n{grounded}\n"

    return writer


@pytest.mark.parametrize("again", ["grounded", "worse", "ratio"])
def test_a_report_mostly_of_the_writers_own_claims_is_asked_for_again_and_the_better_kept(
    scripted, tmp_path, again
):
    """America's aging population (session 31): given 5 facts, a 1.5B wrote 16 claims, 13 of its own. It is
    shown those claims and asked once more; the rewrite is kept if more of its claims are supported and
    none fewer of them: not one that drops a supported claim with an unsupported one (2 of 3 against 1 of
    1)."""
    scripted.reply("plan", PLAN)
    scripted.respond("report", own_writer(OWN, again))
    report = run(tmp_path, steps=1, early_exit=False)
    calls = [c for c in scripted.calls if c.role == "report"]
    assert len(calls) == 2 and report.citations.rewrites == 1
    # the second call continues the first: its report, then the claims no fact says, listed
    assert (
        calls[1].messages[-2]["role"] == "assistant" and "Interest rates" in calls[1].messages[-2]["content"]
    )
    listed = [t for t in OWN if f"- {t}" in calls[1].messages[-1]["content"]]
    assert listed == (OWN[1:2] if again == "ratio" else OWN)
    claims = report.trajectory.report_noise.claims
    supported = [c.text for c in claims if c.status == "supported"]
    # the army fact the writer left out goes in under its group, in the first report and the rewrite alike
    assert any(t.startswith("The Roman army relied") for t in supported)
    if again != "worse":
        # kept: the taxation fact and the army fact, both supported, none of the writer's own ("ratio":
        # the rewrite dropped the army fact the first report had, and got it back from the facts)
        assert report.citations.rewrite_kept == 1 and report.citations.facts_added == 1
        assert len(claims) == len(supported) == 2 and "Interest rates" not in report.markdown
        # the writer's own: the taxation fact (the army fact was put in for it)
        assert (report.citations.own_claims, report.citations.own_supported) == (1, 1)
    else:  # the rewrite was checked and is not better: the first report stands, its own claims listed
        assert report.citations.rewrite_kept == 0
        assert len(claims) == 5 and "Aqueducts" not in report.markdown
        assert (report.citations.own_claims, report.citations.own_supported) == (4, 1)
        assert report.citations.own_share() == 0.25
        assert "## Not verified" in report.markdown and "Interest rates rose sharply" in report.markdown
    assert "No fact above says" not in report.markdown
    assert report.citations.from_facts == 0 and report.citations.evidence_section == 0


@pytest.mark.parametrize("lead", ["", "[1] "])
def test_a_written_report_citing_nothing_is_cited_from_its_check_not_set_aside(scripted, tmp_path, lead):
    """The README's first command in CI (session 38): on another CPU the 1.5B's report kept no mark, and
    the facts were set out instead. What the writer restated from a fact, unmarked or led by a mark that
    `hygiene.clean` takes for list numbering ("[1] ..."), is cited from its verdict; only a report whose
    own claims none bears out gives way to the facts (test_graph)."""
    scripted.reply("plan", PLAN)
    unmarked = "Farmers fled the heavy taxes."
    scripted.respond("report", lambda m: f"# Rome\n\n## Taxes\n\n{lead}{unmarked}\n")
    report = run(tmp_path, steps=1, early_exit=False)
    assert report.citations.from_facts == 0 and report.citations.evidence_section == 0
    body = report.markdown.split("\n## Sources\n")[0]
    assert re.search(re.escape(unmarked[:-1]) + r" \[\d+\]\.", body), body
    assert (report.citations.own_claims, report.citations.own_supported) == (1, 1)
    assert report.citations.rewrites == 0


def test_the_facts_put_in_for_the_writer_do_not_lift_its_report_over_the_bar(scripted, tmp_path):
    """With the army fact put in, 2 of 3 claims are supported, over a bar of 0.6; of the writer's own, 1 of
    2 are: it is asked again (the facts were checked before it saw them, and would hide its own beliefs)."""
    scripted.reply("plan", PLAN)
    scripted.respond("report", own_writer(OWN[:1]))
    report = run(tmp_path, steps=1, early_exit=False, verify={"rewrite_below": 0.6})
    assert report.citations.facts_added == 1 and report.citations.rewrites == 1


def test_a_rewrite_that_loses_a_supported_claim_is_not_better():
    from ttd.stages.report import better_supported

    def record(*statuses: str) -> dict:
        claims = [
            {"text": str(i), "status": s, "source_ids": [], "area": None} for i, s in enumerate(statuses)
        ]
        return {"draft": 0, "noise": 0.0, "claims": claims}

    first = record("supported", "supported", "unsupported")
    assert not better_supported(record("supported"), first)  # 1 of 1 against 2 of 3: one is lost
    assert better_supported(record("supported", "supported"), first)
    assert not better_supported(record("supported", "supported", "unsupported", "unsupported"), first)


def test_a_report_is_not_asked_for_again_once_its_check_reaches_the_budget(scripted, tmp_path):
    scripted.reply("plan", PLAN)
    # a claim near a passage's words is unclear to the lexical pass: the check asks the verifier
    scripted.respond("report", own_writer(["Rome's foederati were loyal to the emperors.", *OWN]))
    report = run(tmp_path, steps=1, early_exit=False, budget={"max_calls": 8})
    # the report's check made the 8th call: the cap is reached, and no 9th call is made
    assert report.usage.total.calls == 8 and scripted.roles()[-2:] == ["report", "verify"]
    assert sum(c.role == "report" for c in scripted.calls) == 1 and report.citations.rewrites == 0


@pytest.mark.parametrize("bar", [0.5, 0.0])
def test_a_report_supported_up_to_the_bar_is_not_asked_for_again(scripted, tmp_path, bar):
    """Half its claims supported is not below a bar of 0.5; a bar of 0 never asks again."""
    scripted.reply("plan", PLAN)
    scripted.respond("report", own_writer(OWN[:1] if bar else OWN))
    report = run(tmp_path, steps=1, early_exit=False, verify={"rewrite_below": bar})
    assert sum(c.role == "report" for c in scripted.calls) == 1
    assert report.citations.rewrites == 0 and report.citations.rewrite_kept == 0
    assert f"- {OWN[0]}" in report.markdown.split("## Not verified")[1]  # listed, not asked about


def test_unverified_notes_alone_get_no_empty_not_verified_list():
    """R_T's notes about the passages are no claims: left out of the list, a list of none had its heading
    and "No retrieved source supports these claims:" over nothing."""
    from ttd.stages.report import NOT_VERIFIED, with_not_verified

    body = "# Rome\n\nThe Goths won at Adrianople [1]."
    assert with_not_verified(body, ["The passages above do not name a cause."]) == body
    listed = with_not_verified(body, ["The passages above do not name a cause.", "[2] Rome fell in 410."])
    assert listed.endswith(
        f"{NOT_VERIFIED}\n\nNo retrieved source supports these claims:\n\n- Rome fell in 410.\n"
    )


def test_a_step_answer_leaving_a_code_block_open_does_not_make_the_next_answers_code():
    """The evidence section joins the step answers after the report's cleaning: a stray fence in one made
    every answer after it code, whose marks `finalize` leaves with the run's numbers."""
    from ttd.citations import finalize
    from ttd.hygiene import close_fence

    answers = ["Rome taxed farmers [4].\n```", "The Goths won at Adrianople [7]."]
    sources = {f"doc:{n}": {"n": n, "title": f"P{n}", "location": f"x://{n}", "text": ""} for n in (4, 7)}
    body = finalize("\n\n".join(close_fence(a) for a in answers), sources).body
    assert body.endswith("The Goths won at Adrianople [2].") and "[7]" not in body
    assert close_fence(answers[1]) == answers[1]
