"""Prompt templates and agent presets, read from the source tree or from an installed wheel.

They live at the top level (`prompts/`, `agents/`) so they are easy to find and edit; the wheel maps them
to `ttd.prompts` and `ttd.agents`. A checkout wins over an installed copy so edits show at once.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from string import Template

from ttd.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parent


def _folder(name: str) -> Path:
    source = _ROOT / name
    if (_ROOT / "pyproject.toml").is_file() and source.is_dir():
        return source  # a checkout (also an editable install)
    return _PACKAGE / name  # an installed wheel: mapped to ttd/prompts, ttd/agents


def prompts_dir() -> Path:
    return _folder("prompts")


def agents_dir() -> Path:
    return _folder("agents")


def preset_names() -> list[str]:
    return sorted(p.stem for p in agents_dir().glob("*.toml"))


class Prompt:
    """A prompt file: a system part and a user part, with `$name` placeholders.

    `string.Template` is used rather than `str.format` so JSON examples need no escaped braces.
    """

    def __init__(self, name: str, system: str, user: str) -> None:
        self.name, self.system, self.user = name, Template(system), Template(user)

    def messages(self, **values: object) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system.substitute(_texts(values)).strip()},
            {"role": "user", "content": self.turn(**values)},
        ]

    def turn(self, **values: object) -> str:
        """The user part alone: a follow-up turn in a conversation another prompt opened."""
        return self.user.substitute(_texts(values)).strip()


def _texts(values: dict[str, object]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in values.items()}


@cache
def load_prompt(name: str) -> Prompt:
    return read_prompt(prompts_dir(), name)


def read_prompt(folder: Path, name: str) -> Prompt:
    """Parse `folder/name.md` (also used for the benchmark runner's own prompts).

    A file without a "=== system ===" section opens with the shared system message (`system.md` in the
    project's prompts), so every stage's prompt starts with the same tokens and the engine caches them.
    """
    path = folder / f"{name}.md"
    if not path.is_file():
        raise ConfigError(f"prompt template '{name}' not found in {folder}: reinstall ttd-dr")
    raw = path.read_text(encoding="utf-8")
    if "=== user ===" not in raw:
        raise ConfigError(f"prompt file {path} needs a '=== user ===' section")
    head, user = raw.split("=== user ===", 1)
    system = head.split("=== system ===", 1)[1] if "=== system ===" in head else shared_system()
    return Prompt(name, system, user)


@cache
def load_sections(name: str) -> dict[str, str]:
    """A prompt file of named parts ("=== key ===" headings) that stage prompts include as variables."""
    parts = re.split(r"^=== *([\w.-]+) *===$", _project_prompt(name), flags=re.M)
    return {key: " ".join(text.split()) for key, text in zip(parts[1::2], parts[2::2], strict=True)}


@cache
def shared_system() -> str:
    """The system message the stages share (prompts/system.md without its comment)."""
    return _project_prompt("system")


def _project_prompt(name: str) -> str:
    """The text of the project's `prompts/NAME.md` without comments; a missing file is a broken install."""
    path = prompts_dir() / f"{name}.md"
    if not path.is_file():
        raise ConfigError(f"prompt file {path} is missing: reinstall ttd-dr")
    return without_comments(path.read_text(encoding="utf-8"))


def without_comments(text: str) -> str:
    """A prompt file's text without its HTML comments (notes for editors, never sent to a model)."""
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)
