"""The one way ttd talks to models: a litellm gateway with roles, retries, usage and structured output."""

import os

# litellm downloads a price list at import unless told to use its bundled copy; ttd must work offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ttd.llm.gateway import Completion, Gateway, check_models  # noqa: E402
from ttd.llm.parsing import ParseError  # noqa: E402

__all__ = ["Completion", "Gateway", "ParseError", "check_models"]
