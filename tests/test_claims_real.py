"""The verifier through the real path: passages from the real offline Wikipedia index, the real 0.5B model."""

from __future__ import annotations

import asyncio

import pytest

from ttd.claims import VerifierSettings, verify
from ttd.config import resolve_config
from ttd.llm.gateway import Gateway
from ttd.retrieval.base import SourceRegistry
from ttd.retrieval.factory import build_retriever

pytestmark = pytest.mark.real
pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")


def test_verifier_on_real_passages_with_the_real_model():
    config = resolve_config(model="local/qwen2.5-coder-0.5b", temperature=0.0)

    async def main():
        retriever = build_retriever(config.retrieval)
        try:
            passages = await retriever.search("Battle of Adrianople Goths Valens", k=3)
        finally:
            await retriever.aclose()
        registry = SourceRegistry()
        for p in passages:
            registry.add(p)
        sources = registry.records()
        first = next(iter(sources.values()))
        copied = first["text"].split(". ")[0].strip().rstrip(".") + "."
        draft = (
            f"# Notes\n\n{copied} [{first['n']}]\n\n"
            "Quantum chromodynamics describes how gluons bind quarks inside protons.\n\n"
            "The Goths fought a battle against Romans.\n"
        )
        # an exact copy is settled without a call; the vague claim (some words shared) goes to the model
        settings = VerifierSettings(mode="llm", support=0.95, floor=0.05)
        return sources, await verify(
            draft, sources, question="Battle of Adrianople", settings=settings, gateway=Gateway(config)
        )

    sources, (claims, usage) = asyncio.run(main())
    assert len(claims) == 3
    copied, unrelated, vague = claims
    assert copied["status"] == "supported" and copied["source_ids"] == [next(iter(sources))]
    assert unrelated["status"] == "unsupported" and unrelated["source_ids"] == []
    # The vague claim shares some words with the passages: the model is asked, and its JSON parses.
    assert len(usage) >= 1 and all(u["role"] == "verify" for u in usage)
    assert usage[-1]["parse_error"] is None
    assert vague["status"] in {"supported", "unsupported", "contradicted"}
    assert all(sid in sources for sid in vague["source_ids"])


def test_a_revision_the_real_verifier_finds_noisier_is_rejected(scripted, tmp_path):
    """The keep-best rule through the real path: passages from the offline Wikipedia index, the real 0.5B
    verifier, the run's SQLite checkpoint. The reviser is scripted so that step 2 adds an unrelated claim
    and a half-matching one (which goes to the model) to R_1's copied, cited sentence: whatever the model
    says of the half-matching one, R_2 is noisier than R_1 and must be turned away."""
    import json
    import re

    import ttd
    from tests.conftest import scripted_models
    from tests.test_claims import answer_from_passage

    unrelated = "Quantum chromodynamics describes how gluons bind quarks inside protons."
    drafts: list[str] = []

    def revise(messages):
        answer = re.search(r"^Cited answer from the sources: (.*)$", messages[-1]["content"], re.M).group(1)
        if not drafts:
            drafts.append(f"# Rome\n\n## Army\n\n{answer}\n")
        else:
            words = re.sub(r"\s*\[\d+\]\.?$", "", answer).split()[:5]
            half = " ".join(words) + " was later disputed by several modern historians of the period."
            drafts.append(f"{drafts[0]}\n{unrelated}\n\n{half}\n")
        return drafts[-1]

    scripted.reply("plan", json.dumps({"areas": [{"title": "Army", "goal": "How the Roman army declined"}]}))
    scripted.reply("draft", "# Rome\n\n## Army\n\nThe moon turned red over the Alps every winter.\n")
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise)
    scripted.respond("report", lambda m: drafts[0])
    models = {**scripted_models(), "verify_model": "local/qwen2.5-coder-0.5b"}
    report = ttd.research(
        "How did the Roman army decline?",
        out=tmp_path,
        steps=2,
        early_exit=False,
        temperature=0.0,
        # grounding would prune the noisy claims (tests/test_ground.py); the scripted question agent's
        # search brings a page on role-playing games first, which the subject gate would not count
        verify={"ground": False, "subject": False},
        **models,
    )
    noise = report.trajectory.noise
    assert noise[1].noise == 0.0 and noise[1].rejected is None  # R_1: the cited copy, supported
    assert noise[2].rejected is not None and noise[2].rejected.noise > 0.0
    assert unrelated in noise[2].rejected.text
    assert report.trajectory.drafts[2] == report.trajectory.drafts[1]  # R_2 is R_1 again
    assert unrelated not in report.markdown
    verdicts = {c.text: c.status for c in noise[2].rejected.claims}
    assert verdicts[unrelated] == "unsupported"
    # the half-matching claim was put to the real model, whose reply parsed
    checks = [c for c in report.usage.calls if c["role"] == "verify"]
    assert checks and all(c["parse_error"] is None for c in checks)
    assert (tmp_path / report.run_id / "checkpoint.sqlite").stat().st_size > 0


def test_the_real_model_labels_every_fact_for_relevance():
    """The facts' relevance check on the real 0.5B: its reply is read (no `keep_all` fallback) and labels
    every fact. Which facts a 0.5B calls off topic is not asserted (evals/relevance_accuracy.py measures
    the default 1.5B); the main path is."""
    from ttd.relevance import on_topic

    facts = [
        "The Western Roman Empire fell in 476 when Odoacer deposed Romulus Augustulus [1].",
        "The Visigoths sacked Rome in 410 under Alaric [2].",
        "Rapping is a musical form of vocal delivery that incorporates rhyme [3].",
    ]
    gateway = Gateway(resolve_config(model="local/qwen2.5-coder-0.5b", temperature=0.0))
    out = asyncio.run(on_topic("What caused the fall of the Western Roman Empire?", facts, gateway))
    assert out.fallbacks == 0 and len(out.usage) == 1
    assert out.labelled == len(facts) and sorted(out.kept + out.off_topic) == sorted(facts)
