"""Entry point for `langgraph dev` / LangGraph Studio (see langgraph.json).

The server brings its own persistence, so the graph is compiled without our SQLite checkpointer. The
preset comes from the `agent` key of the run's configurable (default: the embedded default preset);
config is resolved and models are checked by the same code as every other run (`ttd.run`), so a missing
key shows as one clear error. Progress events arrive in Studio's custom stream.
"""

from __future__ import annotations

from typing import Any

from ttd.graph import build_graph
from ttd.run import dependencies, settings


def make_graph(config: dict[str, Any] | None = None) -> Any:
    configurable = dict((config or {}).get("configurable") or {})
    resolved = settings(
        agent=configurable.pop("agent", None),
        **{
            k: v
            for k, v in configurable.items()
            if not k.startswith(("thread_", "checkpoint_", "langgraph_"))
        },
    )
    return build_graph(dependencies(resolved))
