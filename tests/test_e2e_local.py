"""The whole loop through the real path: the local 0.5B model, the real Wikipedia index, 2 steps."""

from __future__ import annotations

import re

import pytest

import ttd

pytestmark = pytest.mark.real


def test_real_research_run_produces_a_cited_report(tmp_path):
    report = ttd.research(
        "What caused the fall of the Western Roman Empire?",
        model="local/qwen2.5-coder-0.5b",
        k=3,
        steps=2,
        early_exit=False,
        out=tmp_path,
    )
    assert len(report.trajectory.drafts) == 3  # R0, R1, R2
    assert len(report.trajectory.steps) == 2
    assert all(step.source_ids for step in report.trajectory.steps)  # each step retrieved passages
    assert report.citations.cited >= 1
    body = report.markdown.split("\n## Sources\n")[0]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert cited and cited == {s.n for s in report.sources}
    retrieved = {s.id for s in report.trajectory.retrieved}
    assert all(
        s.id in retrieved and s.location.startswith("https://en.wikipedia.org/wiki/") for s in report.sources
    )
    assert report.usage.by_role["revise"].calls == 2
    assert (tmp_path / report.run_id / "drafts" / "R02.md").exists()
