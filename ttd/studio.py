"""Entry point for `langgraph dev` / LangGraph Studio (see langgraph.json).

The server brings its own persistence, so the graph is compiled without our SQLite checkpointer. The
preset comes from the `agent` key of the run's configurable (default: the embedded default preset);
its models are checked up front so a missing key shows as one clear error.
"""

from __future__ import annotations

from typing import Any

from ttd.config import resolve_config
from ttd.context import Deps
from ttd.graph import build_graph
from ttd.llm.gateway import Gateway, check_models
from ttd.retrieval.factory import build_retriever


def make_graph(config: dict[str, Any] | None = None) -> Any:
    configurable = dict((config or {}).get("configurable") or {})
    settings = resolve_config(
        agent=configurable.pop("agent", None),
        **{
            k: v
            for k, v in configurable.items()
            if not k.startswith(("thread_", "checkpoint_", "langgraph_"))
        },
    )
    check_models(settings)
    deps = Deps(config=settings, gateway=Gateway(settings), retriever=build_retriever(settings.retrieval))
    return build_graph(deps)
