"""Tiny diffusion LMs built from real architecture code with random weights, all offline on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TTD_DLLM_DEVICE", "cpu")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
torch.set_num_threads(1)  # tiny models: threads only add contention on a shared 2-core runner


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ttd.dllm import toy

    return toy.build_random_model(tmp_path_factory.mktemp("dllm") / "tiny", seed=0)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reversal-language model, trained once per session (about 25 s on one CPU thread)."""
    from ttd.dllm import toy
    from ttd.dllm.modeling import DiffusionTransformer

    torch.manual_seed(0)
    model = DiffusionTransformer(toy.tiny_config())
    report = toy.train(model)
    assert report.final_loss < 0.05, report
    return toy.save_model(model, tmp_path_factory.mktemp("dllm") / "trained")
