"""Metric functions against hand-checked cases."""

from __future__ import annotations

import pytest

from ttd.bench import judges
from ttd.bench.metrics import (
    best_over,
    bootstrap_ci,
    exact_match,
    f1_score,
    mean,
    normalize_answer,
    supporting_recall,
)
from ttd.bench.systems import clean_short_answer, stated_answer


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("The Beatles", "beatles"),
        ("  a  cat, an apple & THE dog!  ", "cat apple dog"),
        ("U.S.A.", "usa"),
        ("Théâtre de l'Odéon", "théâtre de lodéon"),  # unicode kept, only ASCII punctuation dropped
        ("ÉCOLE", "école"),
        ("theatre", "theatre"),  # 'the' only as a whole word
        ("", ""),
    ],
)
def test_normalize_answer(raw, normal):
    assert normalize_answer(raw) == normal


def test_exact_match_and_multiple_golds():
    assert exact_match("the Spurs.", "Spurs") == 1.0
    assert exact_match("Tottenham", "Spurs") == 0.0
    assert best_over("em", "Tottenham", ["Spurs", "tottenham"]) == 1.0
    assert best_over("em", "anything", []) == 0.0


def test_f1_hand_computed():
    # "cat sat on mat" vs "cat sat": 2 common tokens, P = 2/4, R = 2/2 -> F1 = 2/3
    assert f1_score("the cat sat on a mat", "a cat sat") == pytest.approx(2 / 3)
    # repeated tokens count once per occurrence on both sides: P = 1/3, R = 1/1 -> 0.5
    assert f1_score("paris paris london", "paris") == pytest.approx(0.5)
    assert f1_score("Stanley", "Stanley") == 1.0
    assert f1_score("Berlin", "Paris") == 0.0
    assert best_over("f1", "New York City", ["NYC", "New York"]) == pytest.approx(0.8)


def test_yes_no_only_match_themselves_in_f1():
    assert f1_score("yes", "yes") == 1.0
    assert f1_score("yes it is", "yes") == 0.0  # HotpotQA: a special answer must match exactly
    assert f1_score("no", "no way") == 0.0


def test_supporting_recall_and_mean():
    assert supporting_recall(["a", "b", "x"], ["a", "c"]) == 0.5
    assert supporting_recall([], ["a"]) == 0.0
    assert supporting_recall(["a"], []) is None
    assert mean([1.0, None, 0.0]) == 0.5 and mean([None]) is None


def test_bootstrap_ci_is_deterministic_and_brackets_the_mean():
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(values)
    assert lo < 0.3 < hi and lo > 0.15 and hi < 0.45
    assert bootstrap_ci(values) == (lo, hi)
    assert bootstrap_ci([1.0] * 5) == (1.0, 1.0)


def test_preference_levels_and_win_rates():
    assert judges.level_score("A much better") == 2
    assert judges.level_score("Report B is better") == -1
    assert judges.level_score("b much better") == -2
    assert judges.level_score("equal") is None
    rates = judges.win_rates([2, 1.5, 0, -1])
    assert (rates.win, rates.tie, rates.loss, rates.n) == (0.5, 0.25, 0.25, 4)
    assert rates.win_ci[0] <= 0.5 <= rates.win_ci[1]


def test_judge_verdict_parsing():
    v = judges.Verdict.model_validate({"extracted_final_answer": "x", "correct": "yes", "confidence": "90%"})
    assert v.correct is True and v.confidence == 90
    assert judges.Verdict.model_validate({"correct": "no"}).correct is False


@pytest.mark.parametrize(
    ("text", "short"),
    [("Answer: Spurs.", "Spurs"), ("So the answer is: 1962\nmore", "1962"), ('"Paris"', "Paris"), ("", "")],
)
def test_short_answer_cleaning(text, short):
    assert clean_short_answer(text) == short


@pytest.mark.parametrize(
    ("response", "stated"),
    [
        ("Rush recorded it [1].\nAnswer: Rush [1]", "Rush"),  # a mark is no part of the answer
        ("**Answer:** Spurs [2]\n\nSpurs is the club's nickname [2].", "Spurs"),  # ttd's answer line
        ("Jähn flew in 1978.\nSo the answer is: 1978.", "1978"),  # IRCoT's closing sentence
        ("Answer: Yes, both are American.", "Yes"),
        ("Answer: first\nAnswer: second", "second"),  # the last answer line is the answer
        ("The band is Rush [1].", None),  # no answer line: the extraction call reads it
        ("Answer: unknown", None),
        ("Giotto taught him [1].\nAnswer: [1], [2]", None),  # marks alone state no answer
        ("Answer: <short answer>", None),  # the prompt's placeholder copied
        ("**Answer:** Night Moves was directed by Kelly Reichardt [1]", None),  # a sentence, no stop
        ("Answer: The 7 Habits of Highly Effective People", "The 7 Habits of Highly Effective People"),
        ("Answer: Otto Ludwig von Preminger", "Otto Ludwig von Preminger"),
        ("**Answer:** Rush recorded Counterparts in 1993 [1].", None),  # a sentence: extraction shortens it
        ("Answer: Tottenham Hotspur F.C. [1]", "Tottenham Hotspur F.C"),
        ("Answer: " + "a sentence that goes on far too long to be any short answer at all", None),
    ],
)
def test_the_stated_answer_line_is_read_without_a_model_call(response, stated):
    assert stated_answer(response) == stated
