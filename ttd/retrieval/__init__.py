"""Retrieval: one `Retriever` interface, passages with stable ids, and the implementations behind it."""

from ttd.retrieval.base import Passage, Retriever, SourceRegistry

__all__ = ["Passage", "Retriever", "SourceRegistry"]
