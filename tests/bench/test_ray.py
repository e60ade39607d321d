"""The Ray executor on a local Ray instance gives the same rows as the asyncio executor."""

from __future__ import annotations

import os

import pytest

from tests.conftest import scripted_models
from ttd.bench.runner import BenchSpec, read_rows, run_bench

ray = pytest.importorskip(
    "ray", reason="ray is not installed (pip install ray): the Ray executor is untested"
)


@pytest.fixture
def local_ray():
    # One worker process, at normal priority: Ray nices workers to 15 by default, which on a small busy
    # machine starves their (slow) first import of litellm for minutes.
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
        _system_config={"worker_niceness": 0},
    )
    yield
    ray.shutdown()


def test_ray_executor_matches_asyncio(scripted, local_ray, tmp_path, benchmarks):
    def spec(name: str, executor: str) -> BenchSpec:
        return BenchSpec(
            dataset="hotpotqa",
            systems=["rag"],
            out=str(tmp_path / name),
            limit=3,
            k=3,
            executor=executor,
            concurrency=2,
            judge=False,
            overrides=scripted_models(),
            worker_setup="ttd.llm.scripted:install",  # each worker process installs the test double
        )

    local = run_bench(spec("asyncio", "asyncio"), progress=False)
    remote = run_bench(spec("ray", "ray"), progress=False)
    assert remote.ran == 3
    rows = {(r["system"], r["id"]): r for r in read_rows(remote.out / "results.jsonl")}
    expected = {(r["system"], r["id"]): r for r in read_rows(local.out / "results.jsonl")}
    assert rows.keys() == expected.keys()
    for key, row in rows.items():
        for field in ("prediction", "em", "f1", "tokens", "calls", "retrieved_ids", "supporting_recall"):
            assert row[field] == expected[key][field], (key, field)
    workers = {r["worker"] for r in rows.values()}
    assert all(not w.endswith(f":{os.getpid()}") for w in workers)  # answered in Ray worker processes
    assert remote.summary["systems"] == [
        {**s, "wall_s_per_q": remote.summary["systems"][i]["wall_s_per_q"]}
        for i, s in enumerate(local.summary["systems"])
    ]
