"""ttd: Test-Time Diffusion Deep Researcher.

A research report is treated like a diffusion sample: plan, write a rough draft from the model's own
knowledge, then denoise it step by step with retrieval (question -> cited answer -> revision).
"""

import os

# The one place ttd sets litellm's environment. litellm downloads a price list at import unless told to use
# its bundled copy, and ttd must work offline; every ttd module runs this file first, before litellm loads.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ttd.api import aresearch, astream, research, stream  # noqa: E402
from ttd.config import ResearchConfig  # noqa: E402
from ttd.errors import TTDError  # noqa: E402
from ttd.events import ProgressEvent  # noqa: E402
from ttd.report import Report  # noqa: E402

__all__ = [
    "ProgressEvent",
    "Report",
    "ResearchConfig",
    "TTDError",
    "aresearch",
    "astream",
    "research",
    "stream",
]
__version__ = "0.1.0"
