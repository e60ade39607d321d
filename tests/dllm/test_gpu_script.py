"""evals/dllm_gpu.py runs end to end on CPU with its smallest shapes, as the GPU image would run it.

The GPU machine has torch and transformers but no litellm, LangGraph or pydantic, so the script is run here
with those imports blocked: a device session must not discover a missing import after paying to start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCKED_RUN = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('litellm', 'langgraph', 'pydantic'):
            raise ImportError('not on the GPU image: ' + name)
sys.meta_path.insert(0, Block())
sys.argv = ['evals/dllm_gpu.py'] + sys.argv[1:]
runpy.run_path('evals/dllm_gpu.py', run_name='__main__')
"""


def test_tiny_run_without_the_packages_the_gpu_image_lacks(tmp_path: Path):
    out = tmp_path / "tiny.md"
    args = ["--tiny", "--smallest", "--skip", "profile", "--train-seconds", "2", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKED_RUN, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.with_suffix(".json").read_text())
    latency = data["latency"]
    assert latency["bound_s"] > 0 and all(r["ratio"] > 0 for r in latency["rows"])
    assert any("dual-cache step" in r["what"] for r in latency["rows"])
    decoding = data["decoding"]
    assert {r["mode"] for r in decoding} == {
        "vanilla",
        "prefix cache",
        "dual cache",
        "dual cache + CUDA graphs",
    }
    assert all(r["nfe"] == r["gen"] for r in decoding)  # one token per step: equal NFE across caches
    assert sorted(r["batch"] for r in data["batching"] if r["mode"] == "dual cache") == [1, 2]
    real = {r["decoder"]: r for r in data["real_text"]["rows"]}
    assert real["one token per step"]["nfe"] == 16  # 8 leads in one batch, 16 bytes, one per forward
    assert all(r["nfe"] <= 18 and 0 <= r["accuracy"] <= 1 and r["pseudo_ppl"] >= 1 for r in real.values())
    text = out.read_text()
    assert "## Forward latency vs the weight-bandwidth bound" in text and "## Real text" in text


def test_bad_input_is_one_line_exit_2(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "evals/dllm_gpu.py", "--tiny", "--data", str(tmp_path / "absent.txt")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no data file" in proc.stdout and "Traceback" not in proc.stderr
