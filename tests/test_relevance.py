"""The facts' relevance check (`ttd.relevance`): a report question's facts about another subject are left
out of its report. Orchestration through the real gateway and graph with the scripted provider; the
real model's path is in tests/test_claims_real.py."""

from __future__ import annotations

import asyncio
import re

from tests.conftest import scripted_models
from tests.test_claims import PLAN, Q, answer_from_passage, revise_with_answer, run
from ttd.config import resolve_config
from ttd.llm.gateway import Gateway
from ttd.relevance import listing, on_topic, wanted
from ttd.stages.report import NO_FACTS

FACTS = [
    "The Visigoths sacked Rome in 410 [1].",
    "Rapping is a musical form of vocal delivery [2].",
    "Heavy taxation drove small farmers off their land [3].",
]


def relevance_calls(scripted):
    return [c for c in scripted.calls if c.role == "verify" and '"on_topic"' in c.prompt]


def labels(off: set[int]):
    """A verifier that calls the listed facts' numbers in `off` off topic; claims it checks as usual."""

    def reply(messages):
        prompt = messages[-1]["content"]
        if '"on_topic"' not in prompt:
            rows = re.findall(r"^(\d+)\. .*\(check against: \[(\d+)\]", prompt, re.M)
            verdicts = ",".join(f'{{"claim": {i}, "status": "supported", "sources": [{n}]}}' for i, n in rows)
            return f'{{"verdicts": [{verdicts}]}}'
        numbers = [int(n) for n in re.findall(r"^(\d+)\. ", prompt, re.M)]
        facts = ",".join(
            f'{{"fact": {n}, "about": "x", "on_topic": {str(n not in off).lower()}}}' for n in numbers
        )
        return f'{{"facts": [{facts}]}}'

    return reply


def test_the_check_sorts_facts_by_the_replys_labels_and_keeps_what_it_leaves_unlabelled(scripted):
    scripted.reply("verify", '{"facts": [{"fact": 2, "about": "rap music", "on_topic": false}]}')
    gateway = Gateway(resolve_config(**scripted_models()))
    out = asyncio.run(on_topic(Q, FACTS, gateway))
    assert out.off_topic == [FACTS[1]] and out.kept == [FACTS[0], FACTS[2]]
    assert out.labelled == 1 and out.fallbacks == 0 and len(out.usage) == 1
    # the facts are shown numbered, without their marks, framed as untrusted data; greedy
    call = scripted.calls[0]
    assert "1. The Visigoths sacked Rome in 410." in call.prompt and "[1]" not in listing(FACTS)
    assert "untrusted" in call.prompt and call.params.get("temperature") == 0.0


def test_an_unreadable_reply_keeps_every_fact_and_is_counted(scripted):
    scripted.reply("verify", "All of them are fine.", "Still fine.")
    gateway = Gateway(resolve_config(**scripted_models()))
    out = asyncio.run(on_topic(Q, FACTS, gateway))
    assert out.kept == FACTS and out.off_topic == []
    assert out.fallbacks == 1 and len(out.usage) == 2 and out.usage[-1]["fallback"] == "keep_all"


def test_facts_about_another_subject_are_left_out_of_the_report(scripted, tmp_path):
    scripted.reply("plan", PLAN)
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    scripted.respond("verify", labels(off={1}))
    report = run(tmp_path, steps=1, early_exit=False)
    (check,) = relevance_calls(scripted)
    listed = dict(re.findall(r"^(\d+)\. (.+)$", check.prompt, re.M))
    assert len(listed) >= 2 and report.citations.off_topic == 1
    (left_out,) = report.trajectory.off_topic  # report.json names the fact, with its source
    assert re.sub(r" \[\d+\]", "", left_out) == listed["1"]
    assert report.citations.facts == len(listed) - 1
    writer = [c for c in scripted.calls if c.role == "report"][-1].prompt
    dropped = listed["1"].rstrip(".")
    assert dropped not in writer and all(f.rstrip(".") in writer for n, f in listed.items() if n != "1")
    # (the scripted writer's claims fail the check, so the step answers are appended: not the facts)
    assert dropped not in report.markdown.split("\n## Evidence from the research steps\n")[0]


def test_a_report_question_with_no_fact_on_topic_says_nothing_bears_on_it(scripted, tmp_path):
    scripted.reply("plan", PLAN)
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    scripted.respond("verify", labels(off=set(range(1, 100))))
    report = run(tmp_path, steps=1, early_exit=False)
    assert report.citations.facts == 0 and report.citations.off_topic >= 1
    assert "report" not in scripted.roles()  # no writer is asked to write from its own beliefs
    assert NO_FACTS in report.markdown


def test_the_check_can_be_turned_off(scripted, tmp_path):
    scripted.reply("plan", PLAN)
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    report = run(tmp_path, steps=1, early_exit=False, verify={"relevance": "off"})
    assert relevance_calls(scripted) == [] and report.citations.facts >= 1
    assert report.citations.off_topic == 0


def test_a_short_answer_makes_no_relevance_call(scripted, tmp_path):
    import ttd

    ttd.research("Who sacked Rome in 410?", out=tmp_path, steps=1, **scripted_models())
    assert relevance_calls(scripted) == []


def test_auto_checks_relevance_with_a_hosted_verifier_only():
    """On real runs the embedded 1.5B's labels dropped 4 of 11 on-topic Roman facts and 5 of 24
    off-topic ones (evals/results/longform_noise.md, session 26): "auto" leaves an embedded verifier out."""
    assert not wanted(resolve_config(model="local/qwen2.5-coder-1.5b"))
    assert wanted(resolve_config(model="local/qwen2.5-coder-1.5b", verify_model="openai/gpt-4.1"))
    assert wanted(resolve_config(**scripted_models()))
    assert wanted(resolve_config(model="local/qwen2.5-coder-1.5b", verify={"relevance": "llm"}))
    assert not wanted(resolve_config(**scripted_models(), verify={"relevance": "off"}))
    assert not wanted(resolve_config(**scripted_models(), verify={"mode": "off"}))
