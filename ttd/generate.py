"""The generation contract: a stage says what it needs, `generate` does the rest.

    out = await generate(deps, Request("plan", "plan", {"question": q}, step=0, schema=Plan,
                                       fallback=list_lines))
    out.value        # a Plan (or the reply text when no schema is given)
    out.recorded     # {"usage": [...], "evolution": [...]}: what the stage adds to the state

A `Request` names the component, its prompt in prompts/ with the template's variables, the step, and,
for structured output, a pydantic schema and a fallback that builds a result from an unreadable reply.
`generate` owns everything else: one call or self-evolution (`ttd/evolution.py`) as the config says,
parsing with repair and one retry that shows the model its error (`Gateway.structured`), the fallback
(named on the usage record, so reports count it per role), and usage. Stages never branch on evolution.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from ttd.context import Deps
from ttd.evolution import Task, evolve
from ttd.llm.gateway import fall_back
from ttd.llm.parsing import ParseError, parse_model
from ttd.resources import load_prompt
from ttd.state import EvolutionRecord, UsageRecord

T = TypeVar("T")


@dataclass(frozen=True)
class Request(Generic[T]):
    """What a stage needs from a model."""

    component: str  # plan | draft | question | answer | revise | report: usage, evolution settings
    prompt: str  # a template in prompts/
    variables: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    schema: type[BaseModel] | None = None  # None: the reply text is the result
    fallback: Callable[[str], T] | None = None  # needed with a schema; a named function: raw reply -> T
    context: str = ""  # what a judge or merge must check the candidates against (evolution)
    turns: tuple[dict[str, str], ...] = ()  # follow-up turns after the template's messages
    role: str | None = None  # whose model writes it; default: the role named like the component
    max_tokens: int | None = None  # a cap below the role's configured max_tokens (a short answer's)
    temperature: float | None = None  # one call's; None: the config's (evolution samples its own)
    evolve: bool = True  # False: one call where the component evolves (a correction of an evolved reply)

    def __post_init__(self) -> None:
        if self.schema is not None and self.fallback is None:
            raise ValueError(f"the {self.component} request has a schema but no fallback")

    @property
    def messages(self) -> list[dict[str, str]]:
        return [*load_prompt(self.prompt).messages(**self.variables), *self.turns]

    @property
    def writer(self) -> str:
        return self.role or self.component

    def follow_up(self, reply: str, note: str) -> Request[T]:
        """The same request, continued: the model sees its reply and what is wrong with it."""
        turns = ({"role": "assistant", "content": reply}, {"role": "user", "content": note})
        return dataclasses.replace(self, turns=(*self.turns, *turns))


@dataclass
class Generated(Generic[T]):
    """A typed result, with the calls that made it and the evolution record (if it evolved)."""

    value: T
    text: str  # the final reply (for structured output: the JSON it was parsed from)
    usage: list[UsageRecord]
    evolution: list[EvolutionRecord] = field(default_factory=list)
    fallback: str | None = None  # which fallback built `value`, if one had to

    @property
    def recorded(self) -> dict[str, Any]:
        """The state fields every generation appends to."""
        return {"usage": self.usage, "evolution": self.evolution}


async def generate(deps: Deps, request: Request[T]) -> Generated[T]:
    """Generate the requested component: evolved or one call, parsed, with its fallback, usage counted."""
    gw, schema = deps.gateway, request.schema
    messages = request.messages
    if request.evolve and deps.config.evolution.active(request.component) and not gw.budget_reached():
        task = Task(
            request.component,
            request.writer,
            messages,
            request.step,
            json_mode=schema is not None,
            context=request.context,
            max_tokens=request.max_tokens,
        )
        evolved = await evolve(deps, task)
        records = [evolved.record] if evolved.record else []
        if schema is None:
            return Generated(cast(T, evolved.text), evolved.text, evolved.usage, records)
        own = [u for u in evolved.usage if u["role"] == request.writer]  # the calls that wrote text
        try:
            value = parse_model(evolved.text, schema)
        except ParseError:
            value = fall_back(cast(Callable[[str], T], request.fallback), evolved.text, own)
        return Generated(cast(T, value), evolved.text, evolved.usage, records, own[-1].get("fallback"))

    if schema is None:
        out = await gw.complete(
            request.writer,
            messages,
            step=request.step,
            component=request.component,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
        )
        return Generated(cast(T, out.text), out.text, [out.usage])
    value, usage = await gw.structured(
        request.writer,
        messages,
        schema,
        step=request.step,
        component=request.component,
        fallback=request.fallback,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
    )
    return Generated(cast(T, value), value.model_dump_json(), usage, [], usage[-1].get("fallback"))
