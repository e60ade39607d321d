"""Optional dependencies of the diffusion-LLM provider, imported only when a `dllm/` model is used.

The rest of ttd must start without torch, so every module here imports torch lazily through `torch()`,
which turns a missing install into a one-line user error instead of a traceback.
"""

from __future__ import annotations

import os
from types import ModuleType

from ttd.errors import MissingExtraError


def torch() -> ModuleType:
    try:
        import torch as _torch
    except ImportError:
        raise MissingExtraError("dllm", "a diffusion LLM (torch is not installed)") from None
    return _torch


def transformers() -> ModuleType:
    torch()
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        import transformers as _tf
    except ImportError:
        raise MissingExtraError("dllm", "a diffusion LLM (transformers is not installed)") from None
    return _tf
