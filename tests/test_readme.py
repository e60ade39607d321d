"""The README's commands stay true: CI runs exactly the README's test command."""

import re

from tests.conftest import REPO


def bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    test_command = bash_blocks(readme)[1]
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text()


def test_readme_main_command_uses_the_embedded_default():
    first = bash_blocks((REPO / "README.md").read_text())[0]
    assert '".[local]"' in first and "ttd research" in first and "--model" not in first
