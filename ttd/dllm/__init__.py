"""Local masked-diffusion LLMs as a litellm provider (`dllm/<hub-id-or-path>`).

Importing this package is free: torch and transformers load only when a model is first used, so ttd
runs without the 'dllm' extra. Entry points: `provider.register()`, `cli.app`, `engine.generate_ids`.
"""
