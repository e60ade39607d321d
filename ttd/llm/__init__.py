"""The one way ttd talks to models: a litellm gateway with roles, retries, usage and structured output."""

from ttd.llm.gateway import Completion, Gateway, check_models
from ttd.llm.parsing import ParseError

__all__ = ["Completion", "Gateway", "ParseError", "check_models"]
