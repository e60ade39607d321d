"""A wheel built by `pip wheel .` (not editable) carries prompts and presets and runs on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO

SCRIPT = """
import json, ttd
from ttd.llm import scripted
from ttd.config import ROLES
from ttd.resources import prompts_dir, agents_dir
from ttd.retrieval import Passage, Retriever
scripted.install()
models = {f"{r}_model": f"scripted/{r}" for r in ROLES}

class Fall(Retriever):
    async def search(self, query, k=5):
        text = "Rome fell in 476, when the fall of its western army left Rome to Odoacer."
        return [Passage(id="doc:fall", title="Fall of Rome", text=text, location="/docs/fall")]

report = ttd.research("Why did Rome fall?", steps=1, out="runs", retriever=Fall(), **models)
print(json.dumps({"file": ttd.__file__, "prompts": str(prompts_dir()), "agents": str(agents_dir()),
                  "drafts": len(report.trajectory.drafts), "cited": report.citations.cited}))
"""


def test_installed_wheel_carries_prompts_and_presets_and_runs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("ttd_dr-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for required in ("ttd/prompts/plan.md", "ttd/prompts/report.md", "ttd/agents/default.toml", "ttd/cli.py"):
        assert required in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(info["file"]).is_relative_to(target)
    assert Path(info["prompts"]).is_relative_to(target) and Path(info["agents"]).is_relative_to(target)
    assert info["drafts"] == 2 and info["cited"] >= 1
