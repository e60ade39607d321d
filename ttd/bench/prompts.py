"""The bench's own prompt templates (`ttd/bench/prompts/*.md`), in the project's prompt-file format.

Kept apart from the top-level `prompts/` so benchmark baselines and judges evolve without touching the
research agent's prompts; `ttd.resources.read_prompt` parses them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ttd.resources import Prompt, read_prompt

PROMPTS = Path(__file__).resolve().parent / "prompts"


@cache
def bench_prompt(name: str) -> Prompt:
    return read_prompt(PROMPTS, name)
