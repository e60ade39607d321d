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
    assert all(0 < r["nfe_per_row"] <= r["nfe"] for r in real.values())
    assert data["real_text"]["masked_acc_015"] >= 0
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


def test_row_forwards_count_what_each_row_needs_alone():
    """Per-row NFE in a batch (the script's RowForwards) equals each row's NFE decoded alone."""
    import runpy

    import torch

    from ttd.dllm import block as block_mod
    from ttd.dllm import llada, toy
    from ttd.dllm.modeling import DiffusionTransformer

    row_forwards = runpy.run_path(str(ROOT / "evals" / "dllm_gpu.py"), run_name="dllm_gpu")["RowForwards"]
    torch.manual_seed(0)
    model = DiffusionTransformer(toy.tiny_config(vocab_size=64, max_sequence_length=128)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # peakier logits, so some positions pass a low threshold and rows differ
    mask = model.config.mask_token_id
    prompts = torch.randint(5, 60, (6, 16))
    kw = dict(gen_length=16, block_length=8, threshold=0.3, mask_id=mask)
    decoders = [
        lambda p: llada.generate(model, p, steps=16, **kw),
        lambda p: llada.generate_with_dual_cache(model, p, steps=16, **kw),
        lambda p: block_mod.generate_block_diffusion(model, p, **kw),
    ]
    differ = False
    for fn in decoders:
        with row_forwards(block_mod, llada) as counter:
            out = fn(prompts)
        per_row = (counter.rows + (out.nfe - out.steps)).tolist()
        assert per_row == [fn(prompts[i : i + 1]).nfe for i in range(prompts.shape[0])]
        assert max(per_row) <= out.nfe
        differ |= min(per_row) < out.nfe
    assert differ  # the check means something: some row needed fewer forwards than its batch
    assert llada.get_transfer_index is block_mod.get_transfer_index  # restored on exit
