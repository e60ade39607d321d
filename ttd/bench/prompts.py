"""The bench's own prompt templates (`ttd/bench/prompts/*.md`), in the project's prompt-file format.

Kept apart from the top-level `prompts/` so benchmark baselines and judges evolve without touching the
research agent's prompts; `ttd.resources.Prompt` supplies the `$name` substitution.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ttd.errors import ConfigError
from ttd.resources import Prompt

PROMPTS = Path(__file__).resolve().parent / "prompts"


@cache
def bench_prompt(name: str) -> Prompt:
    path = PROMPTS / f"{name}.md"
    if not path.is_file():
        raise ConfigError(f"bench prompt '{name}' not found in {PROMPTS}: reinstall ttd-dr")
    raw = path.read_text(encoding="utf-8")
    if "=== user ===" not in raw or "=== system ===" not in raw:
        raise ConfigError(f"prompt file {path} needs '=== system ===' and '=== user ===' sections")
    head, user = raw.split("=== user ===", 1)
    return Prompt(name, head.split("=== system ===", 1)[1], user)
