"""The embedded engine through the real path: llama.cpp's server (xllamacpp) in a worker on loopback HTTP.

SmolLM2-135M keeps these fast. Evidence comes from the server itself (its slot log, its cache counters),
never from timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess

import pytest

from tests.conftest import REPO, ttd_cli
from ttd.config import ROLES, Models, ResearchConfig
from ttd.llm import Gateway
from ttd.llm.local import LocalLLM

pytestmark = pytest.mark.real
pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")
MODEL = "local/smollm2-135m"


def most_slots_busy(log: str) -> int:
    """The largest number of slots processing at once, replayed from the server's own slot log."""
    busy: set[str] = set()
    most = 0
    for line in log.splitlines():
        if m := re.search(r"launch_slot_: id\s+(\d+)", line):
            busy.add(m.group(1))
            most = max(most, len(busy))
        elif m := re.search(r"release: id\s+(\d+)", line):
            busy.discard(m.group(1))
    return most


def test_four_concurrent_calls_decode_together_in_one_worker():
    llm = LocalLLM()  # its own worker, sized for 4 calls in flight
    llm.want_parallel(4)
    topics = ("rivers", "bread", "stars", "music")

    async def call(topic: str):
        messages = [{"role": "user", "content": f"Write three sentences about {topic}."}]
        return await llm.acompletion(MODEL, messages, optional_params={"max_tokens": 24, "temperature": 0})

    async def all_four():
        return await asyncio.gather(*(call(t) for t in topics))

    try:
        replies = asyncio.run(all_four())
        engine = llm._engines["smollm2-135m"]
        assert engine.parallel == 4
        log = engine.log_path.read_text(errors="replace")
    finally:
        llm.close()
    assert all(r.choices[0].message.content.strip() for r in replies)
    assert all(r.usage.completion_tokens > 0 for r in replies)
    assert most_slots_busy(log) >= 2  # the server held several requests in separate slots at once


def test_a_shared_prompt_prefix_is_served_from_the_cache_and_recorded():
    cfg = ResearchConfig(models=Models(**{r: MODEL for r in ROLES}), temperature=0.0)
    gateway = Gateway(cfg)
    context = "Background notes. " + " ".join(f"Fact {i}: the river is {i} km long." for i in range(60))

    async def go():
        first = await gateway.complete(
            "answer", [{"role": "user", "content": context + "\nQuestion: how long is it?"}], max_tokens=8
        )
        second = await gateway.complete(
            "answer", [{"role": "user", "content": context + "\nQuestion: name the river."}], max_tokens=8
        )
        return first.usage, second.usage

    first, second = asyncio.run(go())
    assert second["prompt_tokens"] > 300
    # The second call shares the whole context with the first: most of its prompt is not prefilled again.
    assert second["prompt_tokens_cached"] >= 0.8 * first["prompt_tokens"] - 20
    assert second["prompt_tokens_cached"] < second["prompt_tokens"]

    from ttd.report import summarize_usage

    total = summarize_usage([dict(first), dict(second)]).total
    assert total.prompt_tokens_cached == first["prompt_tokens_cached"] + second["prompt_tokens_cached"]


def _ttd(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return ttd_cli(args, env=env, cwd=REPO, timeout=900, text=True)


def test_a_native_crash_of_the_engine_is_one_line_and_the_run_resumes(tmp_path):
    out = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TTD_ENGINE_CRASH_AT": "3"}  # SIGSEGV during call 3
    args = ["research", "What caused the fall of the Western Roman Empire?", "--model", MODEL]
    args += ["--steps", "1", "--k", "2", "--quiet", "--out", str(out)]
    crashed = _ttd(args, env)
    assert crashed.returncode == 2, crashed.stderr[-2000:]
    lines = [line for line in crashed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, crashed.stderr[-2000:]
    assert "local engine (llama.cpp server via xllamacpp)" in lines[0] and "died with SIGSEGV" in lines[0]
    run_id = re.search(r"ttd research --resume (\S+?)\)?$", lines[0]).group(1)
    assert "Traceback" not in crashed.stderr and "Segmentation fault" not in crashed.stderr

    del env["TTD_ENGINE_CRASH_AT"]
    resumed = _ttd(["research", "--resume", run_id, "--quiet", "--out", str(out), "--format", "json"], env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    report = json.loads(resumed.stdout)
    calls = report["usage"]["calls"]
    # The two calls finished before the crash (plan, draft) come from the checkpoint, not from a rerun.
    assert [c["role"] for c in calls[:2]] == ["plan", "draft"]
    assert report["usage"]["by_role"]["plan"]["calls"] == 1
    assert report["usage"]["by_role"]["draft"]["calls"] == 1
    assert report["usage"]["by_role"]["revise"]["calls"] == 1
    assert report["markdown"].strip()
