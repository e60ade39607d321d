"""How state is shown to models: the plan, the Q/A history and retrieved passages as prompt text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ttd.state import PlanArea, QARecord


def plan_text(plan: Iterable[PlanArea]) -> str:
    return "\n".join(f"{i}. {a['title']}: {a['goal']}" for i, a in enumerate(plan, 1)) or "(no plan)"


def history_text(qa: Iterable[QARecord], max_chars: int = 6000) -> str:
    """Earlier questions and answers, newest kept whole when the history must be clipped."""
    blocks = [f"Q: {r['question']}\nA: {r['answer']}" for r in qa]
    text = "\n\n".join(blocks)
    while len(text) > max_chars and len(blocks) > 1:
        blocks.pop(0)
        text = "(earlier notes omitted)\n\n" + "\n\n".join(blocks)
    return text or "(none yet)"


def passages_text(records: Iterable[dict[str, Any]], max_chars: int) -> str:
    """Passages as `[n] Title: text`, n being the run-wide source number the model must cite."""
    lines = []
    for r in records:
        text = " ".join(str(r["text"]).split())
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + " ..."
        lines.append(f"[{r['n']}] {r['title']}: {text}")
    return "\n".join(lines) or "(no passages found)"


_FENCED = re.compile(r"^\s*```[a-zA-Z]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:revised draft|final report|draft|report)\s*:?(?:\*\*)?\s*\n", re.I)


def clean_markdown(text: str) -> str:
    """Strip what small models wrap around a document: a code fence around all of it, a leading label."""
    text = text.strip()
    if m := _FENCED.match(text):
        text = m.group(1).strip()
    text = re.sub(r"</?draft>", "", text)
    return _LABEL.sub("", text, count=1).strip()
