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
    config = resolve_config(model="local/qwen2.5-0.5b", temperature=0.0)

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
