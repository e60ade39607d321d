"""Content words of a text: the one stopword list and tokenizer behind every overlap heuristic.

Question similarity (repeat exits), picking the best span of a fetched page, and post-hoc citation
attribution all compare texts by the content words they share; one definition keeps them consistent. The
claim splitter, hygiene and attribution cut text into sentences the same way (`SENTENCE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

STOPWORDS = frozenset(
    (
        "a an the of in on at to for and or but is are was were be been being by with from as that this "
        "these those it its their they them he she his her which who whom what when where why how not no "
        "also such than then there into over under about after before during while other more most many "
        "much some any each can could would should may might will has have had do does did so very"
    ).split()
)
_WORD = re.compile(r"[a-z0-9]+")
# One sentence: it ends at . ! ? before a space or the end of the text, never inside "3.5 million" or after
# an initial ("U.S. Army"). Splitting at every full stop cut "The U.S. Army used 3.5 tons" to "S.5 tons".
SENTENCE = re.compile(r"(?:[^.!?\n]|(?<=\b[A-Z])\.|(?:(?<!\b[A-Z])\.|[!?])(?!\s|$))+(?:[.!?]+(?=\s|$)|$)")


def terms(text: str, min_len: int = 3) -> set[str]:
    """Lower-cased words of at least `min_len` characters that are not stopwords."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= min_len and w not in STOPWORDS}


def stemmer() -> Any:
    """A new PyStemmer English stemmer (a core dependency): each BM25 index owns one (bm25s calls its
    `stemWords`), since one instance is not safe to share across threads."""
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    return stemmer()


def stems(words: Iterable[str]) -> set[str]:
    """English stems of `words` ("animation" and "animator" are both "anim")."""
    return set(_stemmer().stemWords(sorted(words)))


def stem(word: str) -> str:
    return str(_stemmer().stemWord(word.lower()))
