"""Shared fixtures: an isolated TTD_HOME and the scripted litellm provider."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import ttd  # noqa: F401 - first, so litellm's offline price list is chosen before any test imports litellm
from ttd.config import ROLES

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def ttd_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One TTD_HOME per test session: the wiki index and assembled models are built once, not per test.

    A CI run may pass its own TTD_HOME (to keep a warm cache); otherwise a temporary folder is used.
    """
    home = Path(os.environ.get("TTD_HOME") or tmp_path_factory.mktemp("ttd-home"))
    os.environ["TTD_HOME"] = str(home)
    return home


@pytest.fixture
def scripted():
    from ttd.llm import scripted as scripted_provider

    handler = scripted_provider.install()
    yield handler
    handler.reset()


def scripted_models() -> dict[str, str]:
    """API keyword arguments that send every role to `scripted/<role>`."""
    return {f"{role}_model": f"scripted/{role}" for role in ROLES}


def ttd_cli(
    args: Sequence[str | bytes], *, env: dict[str, str], cwd: Path, timeout: float, text: bool = False
) -> subprocess.CompletedProcess:
    """`python -m ttd.cli ARGS` in a fresh process, as a user runs it; the timeout bounds every hang."""
    return subprocess.run(
        [sys.executable, "-m", "ttd.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=text,
        timeout=timeout,
    )
