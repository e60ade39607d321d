"""Typed progress events and the channel that carries them.

Stages, the gateway and model providers (llama.cpp, diffusion samplers) report progress with `emit()`.
Whoever runs the graph installs a sink with `capture()`; the sink lives in a context variable, so events
reach the right run even from worker threads started with `asyncio.to_thread` (which copies the context).
With no sink installed, `emit()` does nothing: progress is never a reason for a run to fail.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field

EventKind = Literal[
    "run_started",  # a new or resumed run; detail holds the run directory
    "stage_started",  # plan, draft, question, answer, revise, report
    "stage_finished",
    "question",  # the denoising question of step t
    "exit",  # the loop stopped early; detail says why
    "llm_call",  # one gateway call finished; tokens and latency
    "dllm_step",  # one denoising step of a diffusion-LLM sampler
    "variant",  # a self-evolution variant was scored
    "report",  # the final report is ready; data holds it
    "error",
]


class ProgressEvent(BaseModel):
    """One thing that happened during a run, in the order it happened."""

    kind: EventKind
    stage: str | None = None
    step: int | None = None
    total_steps: int | None = None
    detail: str = ""
    tokens: int = 0
    data: dict[str, Any] = Field(default_factory=dict)
    time: float = Field(default_factory=time.time)


Sink = Callable[[ProgressEvent], None]
_sink: contextvars.ContextVar[Sink | None] = contextvars.ContextVar("ttd_event_sink", default=None)


def emit(kind: EventKind, **fields: Any) -> None:
    """Send an event to the current run's sink, if any."""
    sink = _sink.get()
    if sink is not None:
        sink(ProgressEvent(kind=kind, **fields))


@contextmanager
def capture(sink: Sink) -> Iterator[None]:
    """Route events emitted inside this block (and threads it starts) to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
