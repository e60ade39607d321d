"""Revision that grounds (`ttd.ground`): the step's facts a revision left out go in, the claims the evidence
replaced or a step left unsupported go out; through the graph with the scripted provider, and through the
real path (offline Wikipedia index, SQLite checkpoint)."""

from __future__ import annotations

import json
import re

import pytest

import ttd
from tests.conftest import scripted_models
from tests.test_claims import PASSAGES, Wiki, answer_from_passage
from ttd.claims import split_claims
from ttd.ground import graft, prune, step_facts, unstated

PLAN = [
    {"title": "Army", "goal": "How the army and its Germanic foederati declined"},
    {"title": "Taxes", "goal": "How heavy taxation drove farmers off their land"},
]
MOON = "Rome fell because the moon turned red over the Alps."


def claim(text: str, status: str, area: str | None) -> dict:
    return {"text": text, "status": status, "source_ids": ["doc:a"] * (status == "supported"), "area": area}


def test_a_fact_the_revision_left_out_goes_into_its_areas_section():
    draft = "# Rome\n\n## Army\n\nThe legions were strong.\n\n## Taxes\n\nTaxes were low.\n"
    fact = "Heavy taxation drove small farmers off their land [2]."
    out, added = graft(draft, [fact], PLAN, "Why did Rome fall?")
    assert added == 1
    taxes = out.split("## Taxes")[1]
    assert taxes.strip().endswith(fact) and fact not in out.split("## Taxes")[0]
    # a fact already stated (with another mark, or none) is not stated twice
    again, more = graft(out, ["Heavy taxation drove small farmers off their land [5]."], PLAN, "Why?")
    assert more == 0 and again == out


def test_a_fact_with_no_section_of_its_area_gets_one_after_the_draft():
    draft = "# Rome\n\n## Army\n\nThe legions were strong.\n"
    out, added = graft(draft, ["Heavy taxation drove small farmers off their land [2]."], PLAN, "Why?")
    assert added == 1 and out.index("## Army") < out.index("## Taxes") < out.index("Heavy taxation")
    other, _ = graft(draft, ["The Huns crossed the Danube in 376 [3]."], PLAN, "Why?")
    assert "## Other findings\n\nThe Huns crossed the Danube in 376 [3]." in other
    # the next step's fact about no plan area joins that section instead of opening a second one
    later = other + "\n## Army\n\nThe legions grew weak.\n"
    again, _ = graft(later, ["The Visigoths won in 378 [4]."], PLAN, "?")
    assert again.count("## Other findings") == 1
    assert "The Huns crossed the Danube in 376 [3].\n\nThe Visigoths won in 378 [4]." in again


def test_a_fact_a_claim_states_in_other_words_or_in_part_is_not_added_again():
    fact = "Heavy taxation drove small farmers off their land in the fifth century [2]."
    huns = "The Huns crossed the Danube in 376 [3]."
    report = (
        "# Rome\n\n### Taxes\n\n- Small farmers were driven off their land by heavy taxation [2].\n"
        "- Heavy taxation drove small farmers off [2].\n"
    )
    assert unstated(report, [fact, huns]) == [huns]  # a paraphrase, and a part of the fact, state it
    assert unstated("# Rome\n\nThe fifth century was long.\n", [fact]) == [fact]
    # a page's fact goes under that page's title, at the level of the report's own sections
    out, added = graft(report, [huns], PLAN, "Why?", {3: "Huns"})
    assert added == 1 and "\n### Huns\n\n- The Huns crossed the Danube in 376 [3]." in out
    # ... and never at the title's level, even where a line before the title makes it a section of its own
    out, _ = graft(f"Draft\n\n{report}".replace("### Taxes", "Taxes"), [huns], PLAN, "Why?", {3: "Huns"})
    assert "\n## Huns\n" in out and "\n# Huns" not in out


HUNS = "The Huns crossed the Danube in 376 [3]."


def test_a_text_written_as_lists_gets_its_facts_as_list_items():
    # the README run at eea7aa6 set a grafted paragraph under sections of bullets
    listed = "# Rome\n\n## Taxes\n\n- Heavy taxes drove farmers away [1].\n- Estates grew [1].\n"
    listed += "\n## End\n\nDone.\n"
    tax = "Heavy taxation drove more farmers off their land in the fifth century [2]."
    out, added = graft(listed, [tax, HUNS], PLAN, "Why?", {3: "Huns"})
    assert added == 2
    assert f"- Estates grew [1].\n- {tax}\n\n## End" in out
    assert "## Huns\n\n- The Huns crossed the Danube in 376 [3]." in out
    prose = listed.replace("- ", "")  # written as paragraphs: a paragraph goes in
    out, _ = graft(prose, [tax], PLAN, "Why?")
    assert f"Estates grew [1].\n\n{tax}" in out


def test_facts_go_by_section_not_into_the_title_code_or_after_the_conclusion():
    fact = "Heavy taxation drove small farmers off their land [2]."
    # the title shares "taxes" with the Taxes area, and heads no section; the code's "# army" is no heading
    draft = (
        "# Heavy taxes in Rome\n\nRome fell.\n\n## Army\n\n```\n# army\n```\n\n## Taxes\n\n"
        "Taxes were low.\n\n## Conclusion\n\nIt ended.\n"
    )
    out, _ = graft(draft, [fact], PLAN, "Why did Rome fall?")
    assert out.index("Taxes were low.") < out.index(fact) < out.index("## Conclusion")
    # (a fact goes under an area naming its title's word: "army", not only the goal's "foederati")
    army = "The army's foederati declined in loyalty in the fifth century as pay fell short [1]."
    out, _ = graft(draft.replace("## Taxes\n\nTaxes were low.\n\n", ""), [fact, army], PLAN, "Why?")
    assert out.index("# army\n```") < out.index(army) < out.index("## Taxes") < out.index(fact)
    assert out.index(fact) < out.index("## Conclusion")  # a new area's section goes before the closing one
    # a fence a truncated draft left open is closed before the facts, which would be code inside it
    cut, _ = graft("# Rome\n\n## Army\n\n```python\nx = 1", [army], PLAN, "Why?")
    assert cut.index("x = 1\n```") < cut.index(army) and army in [c.text for c in split_claims(cut)]


def test_a_step_whose_answer_is_its_own_beliefs_still_brings_its_passages_sentences():
    sources = {
        f"doc:{n}": {"id": f"doc:{n}", "n": i, "title": n.title(), "text": PASSAGES[n]}
        for i, n in enumerate(["tax", "army"], 1)
    }
    step = {
        "step": 1,
        "question": "How did heavy taxation affect farmers in the western provinces?",
        "answer": "[1] Taxes were fair and light.\n[2] The army was strong.",  # numbering, not citations
        "source_ids": ["doc:tax"],
    }
    found = step_facts(step, sources, "What caused the fall of the Western Roman Empire?", PLAN)
    # the step's own passage only (the army passage came from another step)
    assert found == [PASSAGES["tax"].rstrip(".") + " [1]."]


def test_unsupported_claims_go_where_evidence_replaced_them_or_where_a_step_left_them():
    draft = (
        "# Rome\n\n## Army\n\nThe legions grew weak. The foederati were paid late [1].\n\n"
        f"## Taxes\n\n{MOON} Taxes were low.\n"
    )
    claims = [
        claim("The legions grew weak.", "unsupported", "Army"),
        claim("The foederati were paid late [1].", "supported", "Army"),
        claim(MOON, "unsupported", "Taxes"),
        claim("Taxes were low.", "contradicted", "Taxes"),
    ]
    before = [claim(MOON, "unsupported", "Taxes")]
    out, kept, gone = prune(draft, claims, before)
    # the Army guess (evidence now in its section), the moon (unsupported twice), the contradicted claim
    assert [c["text"] for c in gone] == ["The legions grew weak.", MOON, "Taxes were low."]
    assert [c["text"] for c in kept] == ["The foederati were paid late [1]."]
    assert [c.text for c in split_claims(out)] == ["The foederati were paid late [1]."]
    assert "## Taxes" not in out and out.startswith("# Rome\n\n## Army\n")  # no heading left bare
    # a guess new in R_t, in an area no source bears on yet, stays as a search target
    fresh = [claims[1], claim("Taxes were high.", "unsupported", "Taxes")]
    assert prune("x", fresh, before)[2] == []


def test_pruning_leaves_no_heading_bare_but_keeps_a_parent_of_text_and_the_title():
    draft = (
        f"# Rome\n\n## Causes\n\n### Army\n\nThe foederati were paid late [1].\n\n### Omens\n\n{MOON}\n\n"
        f"## Conclusion\n\n{MOON}\n"
    )
    claims = [
        claim("The foederati were paid late [1].", "supported", "Army"),
        claim(MOON, "contradicted", "Army"),
        claim(MOON, "contradicted", None),
    ]
    out, _, gone = prune(draft, claims, [])
    assert len(gone) == 2
    assert out == "# Rome\n\n## Causes\n\n### Army\n\nThe foederati were paid late [1].\n"


def test_a_sentence_goes_only_where_every_copy_of_it_would():
    twice = "The legions grew weak."
    claims = [
        claim(twice, "unsupported", "Army"),  # its section holds evidence: this copy alone would go
        claim("The foederati were paid late [1].", "supported", "Army"),
        claim(twice, "unsupported", "Conclusion"),  # no evidence there, new in R_t: a search target
    ]
    draft = f"# Rome\n\n## Army\n\n{twice} The foederati were paid late [1].\n\n## Conclusion\n\n{twice}\n"
    assert prune(draft, claims, []) == (draft, claims, [])
    claims[2]["status"] = "contradicted"
    out, kept, gone = prune(draft, claims, [])
    assert twice not in out and [c["area"] for c in gone] == ["Army", "Conclusion"] and len(kept) == 1


def test_a_grounded_revision_is_worse_only_with_fewer_supported_claims():
    from ttd.stages.verify import _worse

    one = {"draft": 1, "noise": 0.0, "claims": [claim("A b c.", "supported", "Army")]}
    guess = {"draft": 2, "noise": 0.5, "claims": [*one["claims"], claim("D e f.", "unsupported", "Taxes")]}
    assert _worse(guess, one, grounded=False) and not _worse(guess, one, grounded=True)
    lost = {"draft": 2, "noise": 0.0, "claims": []}
    assert _worse(lost, one, grounded=True)


def test_a_draft_with_no_supported_claim_is_never_pruned():
    claims = [claim(MOON, "unsupported", "Taxes"), claim("Taxes were low.", "contradicted", "Taxes")]
    assert prune(f"# Rome\n\n{MOON}\n", claims, claims) == (f"# Rome\n\n{MOON}\n", claims, [])


def moon_reviser(messages):
    """A 1.5B's revision: R_{t-1} copied word for word, the step's cited answer left out."""
    return re.search(r"<draft>\n(.*)\n</draft>", messages[-1]["content"], re.S).group(1)


def research(scripted, tmp_path, question: str = "What caused the fall of the Western Roman Empire?", **kw):
    """A run whose R_0 holds the moon guess and whose reviser copies R_{t-1} and leaves the facts out."""
    scripted.reply("plan", json.dumps({"areas": PLAN}))
    scripted.reply("draft", f"# Rome\n\n## Army\n\n{MOON}\n")
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", moon_reviser)
    return ttd.research(
        question, out=tmp_path, retriever=Wiki(), k=2, steps=1, early_exit=False, **scripted_models(), **kw
    )


def test_a_revision_that_keeps_its_guesses_and_drops_the_facts_is_grounded(scripted, tmp_path):
    report = research(scripted, tmp_path, few_facts=0)
    r0, r1 = report.trajectory.noise
    assert r0.noise == 1.0 and r1.grafted == 1
    assert [c.text for c in r1.pruned] == [MOON] and r1.unpruned == 0.5 and r1.noise == 0.0
    assert MOON not in report.trajectory.drafts[1] and MOON in report.trajectory.drafts[0]
    assert [c.status for c in r1.claims] == ["supported"]
    saved = json.loads((tmp_path / report.run_id / "report.json").read_text())
    assert saved["trajectory"]["noise"][1]["pruned"][0]["text"] == MOON
    drafts = tmp_path / report.run_id / "drafts"
    assert (drafts / "R01.md").read_text() == report.trajectory.drafts[1]
    assert sorted(p.name for p in drafts.iterdir()) == ["R00.md", "R01.md", "R01.revised.md"]
    assert (drafts / "R01.revised.md").read_text().strip() == report.trajectory.drafts[0].strip()  # the copy
    from ttd.display import noise_table

    assert "R1 (+1 facts, -1 claims)" in [str(c) for c in noise_table(saved).columns[0]._cells]
    # without grounding the same reviser leaves R_1 the moon alone: all noise
    off = research(scripted, tmp_path, few_facts=0, verify={"ground": False})
    assert off.trajectory.drafts[1] == off.trajectory.drafts[0] and MOON in off.trajectory.drafts[1]
    assert off.trajectory.noise[1].noise == 1.0 and off.trajectory.noise[1].pruned is None


def test_a_grounded_draft_clean_but_half_the_plan_does_not_end_the_loop(scripted, tmp_path):
    """Pruned to its supported claims, a draft about the army alone has noise 0; the loop goes on to the
    plan's other area (taxes) and ends on noise once a supported claim covers it."""
    army = "The Roman army relied on Germanic foederati, whose loyalty to the emperors declined [1]."
    taxes = "Heavy taxation drove small farmers off their land [2]."
    revisions = iter(
        [f"# Rome\n\n## Army\n\n{army}\n", f"# Rome\n\n## Army\n\n{army}\n\n## Taxes\n\n{taxes}\n"]
    )
    scripted.reply("plan", json.dumps({"areas": PLAN}))
    scripted.reply("draft", f"# Rome\n\n## Army\n\n{MOON}\n")
    scripted.respond("revise", lambda m: next(revisions))
    report = ttd.research(
        "What caused the fall of the Western Roman Empire?",
        out=tmp_path,
        retriever=Wiki(),
        k=3,
        steps=4,
        min_steps=1,
        **scripted_models(),
    )
    noise = report.trajectory.noise
    assert noise[1].noise == 0.0 and len(noise) == 3  # clean at R_1, yet a second step ran
    assert report.trajectory.exit_reason == "noise" and noise[2].noise == 0.0
    assert {c.area for c in noise[2].claims if c.status == "supported"} >= {"Army", "Taxes"}


def test_a_short_answers_drafts_are_not_grounded(scripted, tmp_path):
    report = research(scripted, tmp_path, "Who led the Visigoths at Adrianople?")
    assert MOON in report.trajectory.drafts[-1]
    assert all(r.pruned is None and r.grafted is None for r in report.trajectory.noise)


@pytest.mark.real
def test_grounding_through_the_real_verifier_and_index(scripted, tmp_path):
    """Offline Wikipedia passages, the verifier with the real 0.5B behind it (these two claims its lexical
    pass settles), the SQLite checkpoint: the reviser copies R_0's guess and leaves the answer out; R_1
    holds the answer's fact, supported by the passage it cites, and not the guess."""
    pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")
    scripted.reply("plan", json.dumps({"areas": [{"title": "Army", "goal": "How the Roman army declined"}]}))
    scripted.reply("draft", "# Rome\n\n## Army\n\nThe moon turned red over the Alps every winter.\n")
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", moon_reviser)
    models = {**scripted_models(), "verify_model": "local/qwen2.5-coder-0.5b"}
    report = ttd.research(
        "How did the Roman army decline?", out=tmp_path, steps=1, early_exit=False, temperature=0.0, **models
    )
    r0, r1 = report.trajectory.noise
    assert r0.noise == 1.0 and r1.grafted >= 1 and r1.noise < r1.unpruned < 1.0
    assert [c.text for c in r1.pruned] == ["The moon turned red over the Alps every winter."]
    fact = next(c for c in r1.claims if c.status == "supported")
    assert fact.source_ids and fact.source_ids[0] in {s.id for s in report.trajectory.retrieved}
    assert "moon" not in report.trajectory.drafts[1]
    assert (tmp_path / report.run_id / "checkpoint.sqlite").stat().st_size > 0
