"""One module per stage of Algorithm 1. Each exposes `async run(state, deps) -> dict` (a state update).

Stages never import each other; they share only the state, `ttd.formatting`, `ttd.generate` (every
model output: a `Request` in, a typed `Generated` out) and the config, retriever and budget in `Deps`.
"""
