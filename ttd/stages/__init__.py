"""One module per stage of Algorithm 1. Each exposes `async run(state, deps) -> dict` (a state update).

Stages never import each other; they share only the state, `ttd.formatting` and the gateway/retriever
in `Deps`.
"""
