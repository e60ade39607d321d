"""Resume from LangGraph's SQLite checkpoint without redoing finished model calls."""

from __future__ import annotations

import json
import sqlite3

import pytest

import ttd
from tests.conftest import scripted_models
from ttd.runs import list_runs

Q = "What caused the fall of the Western Roman Empire?"


class Killed(Exception):
    pass


def test_interrupted_run_resumes_after_step_one_without_redoing_it(scripted, tmp_path):
    # Die in the middle of step 2 (its answer call), after step 1 has fully finished.
    def die_in_step_two(call, n):
        answers = sum(c.role == "answer" for c in scripted.calls)
        return Killed("power cut") if call.role == "answer" and answers == 2 else None

    scripted.fail = die_in_step_two
    with pytest.raises(Exception, match="power cut"):
        # early_exit off: the scripted drafts never get less noisy, and a noise plateau would end the loop;
        # rewrite_below 0: the scripted report's claims are none of the sources', and it is asked for once
        ttd.research(
            Q,
            out=tmp_path,
            steps=3,
            retries=0,
            early_exit=False,
            few_facts=0,
            verify={"rewrite_below": 0},
            **scripted_models(),
        )
    first_calls = scripted.roles()
    assert first_calls == ["plan", "draft", "question", "answer", "revise", "question", "answer"]

    [meta] = list_runs(tmp_path)
    assert meta["status"] == "failed" and "power cut" in meta["error"]
    run_dir = tmp_path / meta["run_id"]
    # R_0 and R_1 written, no R_2 (R01.revised.md: the reviser's text before grounding, ttd.ground)
    drafts = sorted(p.name for p in (run_dir / "drafts").iterdir())
    assert [name for name in drafts if name.count(".") == 1] == ["R00.md", "R01.md"]
    with sqlite3.connect(run_dir / "checkpoint.sqlite") as db:
        assert db.execute("select count(*) from checkpoints").fetchone()[0] > 0

    scripted.calls.clear()
    scripted.fail = None
    report = ttd.research(resume=meta["run_id"], out=tmp_path)
    # Only the unfinished work runs: step 2's answer onwards. Plan, draft and step 1 are not redone,
    # and step 2's question (finished before the failure) is not asked again.
    # ("verify": the report's facts checked for relevance, ttd.relevance)
    assert scripted.roles() == ["answer", "revise", "question", "answer", "revise", "verify", "report"]
    assert len(report.trajectory.drafts) == 4
    assert [s.step for s in report.trajectory.steps] == [1, 2, 3]
    assert report.usage.total.calls == 7 - 1 + 7  # the failed answer call never returned usage
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "done"


def test_resuming_a_finished_run_makes_no_calls(scripted, tmp_path):
    first = ttd.research(Q, out=tmp_path, steps=1, **scripted_models())
    scripted.calls.clear()
    again = ttd.research(resume=first.run_id, out=tmp_path)
    assert scripted.calls == []
    assert again.markdown == first.markdown
