"""What every stage needs besides the state: the config, the model gateway and the retriever."""

from __future__ import annotations

from dataclasses import dataclass

from ttd.config import ResearchConfig
from ttd.llm.gateway import Gateway
from ttd.retrieval.base import Retriever


@dataclass
class Deps:
    config: ResearchConfig
    gateway: Gateway
    retriever: Retriever
