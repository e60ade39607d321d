"""Answer metrics exactly as the official SQuAD v1.1 / HotpotQA scripts compute them, plus aggregates.

Numbers comparable with published tables need the official normalisation (lower case, drop punctuation,
articles and extra whitespace) and HotpotQA's rule that yes/no/noanswer only match themselves in F1.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from statistics import fmean

_SPECIAL = ("yes", "no", "noanswer")


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (the official script)."""

    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """HotpotQA's token F1: yes/no/noanswer score 0 unless both sides are the same one."""
    pred, truth = normalize_answer(prediction), normalize_answer(gold)
    if (pred in _SPECIAL or truth in _SPECIAL) and pred != truth:
        return 0.0
    pred_tokens, truth_tokens = pred.split(), truth.split()
    common = Counter(pred_tokens) & Counter(truth_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over(metric: str, prediction: str, golds: Sequence[str]) -> float:
    """The best score against any gold answer (SQuAD's metric_max_over_ground_truths)."""
    fn = exact_match if metric == "em" else f1_score
    return max((fn(prediction, g) for g in golds), default=0.0)


def supporting_recall(retrieved: Iterable[str], supporting: Iterable[str]) -> float | None:
    """Share of the gold supporting paragraphs among everything the system retrieved; None if no gold."""
    gold = set(supporting)
    if not gold:
        return None
    return len(gold & set(retrieved)) / len(gold)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the known values; None when there are none (e.g. no judge ran)."""
    known = [float(v) for v in values if v is not None]
    return fmean(known) if known else None


def bootstrap_ci(
    values: Sequence[float], iterations: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; deterministic for a given seed."""
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(fmean(rng.choices(values, k=n)) for _ in range(iterations))
    lo = means[int((1 - level) / 2 * iterations)]
    hi = means[min(iterations - 1, int((1 + level) / 2 * iterations))]
    return (lo, hi)
