"""Local masked-diffusion LLMs, served to litellm as `dllm/<hub-id-or-path>` by `ttd/llm/diffusion.py`.

Importing this package is free: torch and transformers load only when a model is first used, so ttd
runs without the 'dllm' extra. It never imports litellm. Entry points: `provider.shared().generate`,
`cli.app`, `engine.generate_ids`.
"""
