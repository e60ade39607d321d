"""`ttd bench`: multi-hop QA and long-form benchmarks over the same gateway and retriever as research runs."""
