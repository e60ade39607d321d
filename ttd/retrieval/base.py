"""The retrieval contract every search backend implements.

Citations in a report point at `Passage.id`s, so an id must be stable: the same text at the same place
gets the same id in every run (a hash of location and span), and two backends that find the same
passage agree on it. The `SourceRegistry` numbers passages in the order a run first retrieves them;
those numbers are what the models cite as [n].
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, Field


def stable_id(location: str, span: str = "", prefix: str = "src") -> str:
    """A short, deterministic id for the text at `location` (URL or path) and `span` (offsets, anchor)."""
    digest = hashlib.sha1(f"{location}#{span}".encode()).hexdigest()[:12]
    return f"{prefix}:{digest}"


class Passage(BaseModel):
    """A retrieved piece of text with where it came from."""

    id: str
    title: str
    text: str
    location: str = Field(description="URL or file path a reader can open to check the citation")
    score: float = 0.0
    provider: str = Field(default="", description="which retriever found it (provenance)")
    meta: dict[str, Any] = Field(default_factory=dict)


class Retriever(ABC):
    """Search over some corpus. Implementations: the offline Wikipedia index, user corpora, the web."""

    name: str = "retriever"

    @abstractmethod
    async def search(self, query: str, k: int = 5) -> list[Passage]:
        """The `k` best passages for `query`, best first."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release files, sockets or indexes; the default holds nothing."""


class SourceRegistry:
    """Passages retrieved in one run, keyed by id and numbered 1.. in order of first retrieval.

    Duplicates (the same id found again at a later step) keep their first number, so a citation [n]
    means the same source for the whole run.
    """

    def __init__(self, records: dict[str, dict[str, Any]] | None = None) -> None:
        self._by_id: dict[str, dict[str, Any]] = dict(records or {})

    def add(self, passage: Passage) -> int:
        """Register a passage (idempotent) and return its run-wide number."""
        if passage.id not in self._by_id:
            record = passage.model_dump()
            record["n"] = len(self._by_id) + 1
            self._by_id[passage.id] = record
        return int(self._by_id[passage.id]["n"])

    def records(self) -> dict[str, dict[str, Any]]:
        return dict(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)
