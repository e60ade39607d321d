"""Typed progress events, carried by LangGraph's custom stream.

Stages, the gateway and model providers (llama.cpp, diffusion samplers) report progress with `emit()`.
Inside a graph node `emit()` writes to the node's stream writer (`get_stream_writer()`), so events travel
with the graph's own stream (`stream_mode="custom"`) and `ttd.run.Run` turns them back into
`ProgressEvent`s. The writer is found through context variables, which reach provider worker threads
because those are started with `asyncio.to_thread` (litellm copies the context the same way), and
LangGraph's writer is thread-safe. Code that runs outside any graph (the `ttd dllm` command, sampler
tests) may `listen()` instead. With neither, `emit()` does nothing: progress never fails a run.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from langgraph.config import get_stream_writer
from pydantic import BaseModel, Field

EventKind = Literal[
    "run_started",  # a new or resumed run; detail holds the run directory
    "stage_started",  # plan, draft, question, answer, revise, report
    "stage_finished",
    "question",  # the denoising question of step t
    "exit",  # the loop stopped early; detail says why
    "revision_rejected",  # R_t was noisier than R_{t-1}, which stays the draft; detail gives both noises
    "llm_call",  # one gateway call finished; tokens and latency
    "dllm_step",  # one denoising step of a diffusion-LLM sampler
    "variant",  # a self-evolution variant was scored
    "report",  # the final event of `ttd.stream` / `ttd.astream`; data["report"] holds the Report
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


Listener = Callable[[ProgressEvent], None]
_listener: contextvars.ContextVar[Listener | None] = contextvars.ContextVar("ttd_listener", default=None)


def emit(kind: EventKind, **fields: Any) -> None:
    """Report progress to the running graph's custom stream (or to a `listen()`er outside a graph)."""
    listener = _listener.get()
    if listener is not None:
        listener(ProgressEvent(kind=kind, **fields))
        return
    try:
        writer = get_stream_writer()
    except RuntimeError:  # not inside a graph node
        return
    writer(ProgressEvent(kind=kind, **fields).model_dump())


@contextmanager
def listen(listener: Listener) -> Iterator[None]:
    """Receive the events emitted inside this block (and threads it starts) when no graph is running."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
