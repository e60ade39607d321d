"""The whole loop through the real path: the default local model (1.5B), the real Wikipedia index, 2 steps.

The 1.5B, not the 0.5B: the 0.5B's report often cites nothing inline once its unsupported claims are
dropped, and this test asserts the main path (inline citations), never the evidence-section fallback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ttd
from ttd.claims import verdict_marks
from ttd.hygiene import problems

pytestmark = pytest.mark.real
pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("e2e")
    return ttd.research(
        "What caused the fall of the Western Roman Empire?",
        model="local/qwen2.5-coder-1.5b",
        k=3,
        steps=2,
        early_exit=False,
        out=tmp_path,
    )


def test_real_research_run_produces_a_cited_clean_report(report):
    assert len(report.trajectory.drafts) == 3  # R0, R1, R2
    assert len(report.trajectory.steps) == 2
    assert all(step.source_ids for step in report.trajectory.steps)  # each step retrieved passages
    assert report.citations.cited >= 1
    body = report.markdown.split("\n## Sources\n")[0]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert cited and cited == {s.n for s in report.sources}
    # The prose itself cites: not only an appended evidence section (that fallback must not make this pass).
    assert report.citations.evidence_section == 0
    retrieved = {s.id for s in report.trajectory.retrieved}
    assert all(
        s.id in retrieved and s.location.startswith("https://en.wikipedia.org/wiki/") for s in report.sources
    )
    assert report.usage.by_role["revise"].calls == 2
    assert (Path(report.run_dir) / "drafts" / "R02.md").exists()
    # Hygiene: no broken marks, no prompt scaffolding, no repeated paragraphs.
    assert problems(report.markdown) == {
        "broken_marks": 0,
        "stray_marks": 0,
        "scaffolding": 0,
        "repeated_paragraphs": 0,
    }
    # Every draft's claims were checked against the run's passages; the report's claims too.
    assert [r.draft for r in report.trajectory.noise] == [0, 1, 2]
    assert any(r.claims for r in report.trajectory.noise)  # a small model's draft may be a bare heading
    assert report.trajectory.report_noise is not None
    titles = {a["title"] for a in report.trajectory.plan}
    for r in report.trajectory.noise:  # beside each figure, the plan areas no supported claim covers
        assert r.uncovered is not None and set(r.uncovered) <= titles
        assert not {c.area for c in r.claims if c.status == "supported"} & set(r.uncovered)
    assert report.citations.facts >= 1  # written from cited facts (ttd.facts), not from R_T and the plan
    # every supported claim's closing marks name only the sources its verdict found it in
    run_n = {s.id: {"n": s.n} for s in report.trajectory.retrieved}
    supported = [c for c in report.trajectory.report_noise.claims if c.status == "supported"]
    outside = [c.text for c in supported if verdict_marks(c.text, c.source_ids, run_n)]
    assert supported and not outside, (outside, report.markdown)
    # the main path: the model wrote it (not facts set out because they were few or it cited none)
    assert report.citations.few_facts == 0 and report.citations.from_facts == 0, report.citations
    # the writer's own claims are counted apart from the checked facts put in for it
    own = report.citations.own_claims
    assert report.citations.own_supported <= own <= len(report.trajectory.report_noise.claims)


def test_real_report_prose_cites_inline(report):
    """The cited sentences stand in the report's own prose, before any "Not verified" list."""
    body = report.markdown.split("\n## Sources\n")[0]
    prose = re.split(r"\n## (?:Evidence from the research steps|Not verified)\n", body)[0]
    assert re.search(r"[A-Za-z][^\n]{20,}\[\d+\]", prose), report.markdown  # a sentence with an inline [n]
