"""A scripted litellm provider, `scripted/<role>`: the test double for orchestration tests.

It answers from per-role queues of canned replies, or from responder functions, and records every call
(role, messages, parameters) so tests can assert on stage order and call counts. Because it is a real
litellm custom provider, the code under test runs the same gateway path as with a hosted model.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import litellm

from ttd.llm.providers import register
from ttd.llm.response import chat_response

Responder = Callable[[list[dict[str, Any]]], str]


@dataclass
class Call:
    role: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content") or "") for m in self.messages)


_TOPICS = [
    "the economy",
    "the army",
    "barbarian migrations",
    "political instability",
    "religion",
    "plague",
    "taxation",
    "trade routes",
    "climate",
    "the senate",
]


def _default(role: str, messages: list[dict[str, Any]]) -> str:
    """Plausible replies so a whole run works with no script at all."""
    prompt = "\n".join(str(m.get("content") or "") for m in messages)
    if role == "plan":
        return json.dumps({"areas": [{"title": f"Area {i}", "goal": f"Explain area {i}"} for i in (1, 2, 3)]})
    if role == "question":
        topic = next((t for t in _TOPICS if f"What role did {t} play?" not in prompt), "chance")
        return json.dumps({"question": f"What role did {topic} play?", "covered": False})
    if role == "answer":
        numbers = re.findall(r"^\[(\d+)\]", prompt, re.MULTILINE)
        return f"The sources say so [{numbers[0]}]." if numbers else "No source covers this."
    if role == "verify" and '"on_topic"' in prompt:  # the facts' relevance check: every fact on topic
        facts = [
            {"fact": int(i), "about": "it", "on_topic": True} for i in re.findall(r"^(\d+)\. ", prompt, re.M)
        ]
        return json.dumps({"facts": facts})
    if role == "verify":  # every claim supported by the first passage it is checked against
        rows = re.findall(r"^(\d+)\. .*\(check against: \[(\d+)\]", prompt, re.MULTILINE)
        verdicts = [{"claim": int(i), "status": "supported", "sources": [int(n)]} for i, n in rows]
        return json.dumps({"verdicts": verdicts})
    if role == "judge":
        return json.dumps({"helpfulness": 7, "comprehensiveness": 7, "critique": "fine"})
    cited = sorted(set(re.findall(r"\[(\d+)\]", prompt)), key=int)
    body = " ".join(f"Claim backed by source [{n}]." for n in cited) or "A first draft from memory."
    return f"# Report\n\n{body}\n"


class ScriptedLLM(litellm.CustomLLM):
    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.queues: dict[str, deque[str]] = defaultdict(deque)
        self.responders: dict[str, Responder] = {}
        self.calls: list[Call] = []
        self.fail: Callable[[Call, int], Exception | None] | None = None
        self.delay: float = 0.0
        self.together = 0  # hold a role's calls until this many of them are in flight (concurrency tests)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)  # per role, the most calls in flight at once

    def reply(self, role: str, *texts: str) -> None:
        """Queue canned replies for `role`, used before any responder."""
        self.queues[role].extend(texts)

    def respond(self, role: str, fn: Responder) -> None:
        self.responders[role] = fn

    def roles(self) -> list[str]:
        return [c.role for c in self.calls]

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> litellm.ModelResponse:
        role = model.split("/", 1)[1] if "/" in model else model
        call = Call(role, [dict(m) for m in messages], dict(kwargs.get("optional_params") or {}))
        self.calls.append(call)
        if self.fail is not None and (error := self.fail(call, len(self.calls))) is not None:
            raise error
        if self.queues[role]:
            text = self.queues[role].popleft()
        elif role in self.responders:
            text = self.responders[role](call.messages)
        else:
            text = _default(role, call.messages)
        prompt_tokens = len(call.prompt.split())
        response = chat_response(model, text, prompt_tokens, len(text.split()))
        return response

    async def acompletion(
        self, model: str, messages: list, *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        role = model.split("/", 1)[1] if "/" in model else model
        self.in_flight[role] += 1
        self.max_in_flight[role] = max(self.max_in_flight[role], self.in_flight[role])
        try:
            # Waiting for company proves overlap without timing it: calls made one after another never
            # meet, and after a generous hang guard each goes on alone (max_in_flight then tells).
            for _ in range(2000):
                if self.max_in_flight[role] >= self.together:
                    break
                await asyncio.sleep(0.01)
            if self.delay:
                await asyncio.sleep(self.delay)
            return self.completion(model, messages, *args, **kwargs)
        finally:
            self.in_flight[role] -= 1


_INSTANCE = ScriptedLLM()


def install() -> ScriptedLLM:
    """Register `scripted/` with litellm and return its (reset) handler."""
    _INSTANCE.reset()
    register("scripted", _INSTANCE)
    return _INSTANCE
