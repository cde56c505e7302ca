"""Tokenizing catalog text for search, the same way on SQLite and PostgreSQL.

Chinese has no spaces, and neither database ships a Chinese segmenter we can rely on in both
(PostgreSQL needs zhparser/pg_jieba extensions; SQLite FTS5 has none). A dictionary segmenter
(jieba) would also make recall depend on its dictionary: "社保卡" or a unit's own abbreviations
are often missing. Overlapping character bigrams need no dictionary, find any substring of two or
more characters, and index into one plain table, so results are identical on both databases.
Latin text is split into lower-cased words. A one-character Chinese query falls back to a
substring match on names.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_WORD = re.compile(r"[0-9a-z]+")
MAX_TERM = 64


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str) -> list[str]:
    """Distinct search terms of ``text`` in first-seen order: CJK bigrams and latin words."""
    text = _normalize(text)
    out: dict[str, None] = {}
    for run in _CJK.findall(text):
        if len(run) == 1:
            out[run] = None
        for i in range(len(run) - 1):
            out[run[i : i + 2]] = None
    for word in _WORD.findall(_CJK.sub(" ", text)):
        out[word[:MAX_TERM]] = None
    return list(out)


def weighted_terms(parts: list[tuple[str, int]]) -> dict[str, int]:
    """Terms of several texts, each term keeping the highest weight it appears with."""
    weights: dict[str, int] = {}
    for text, weight in parts:
        for term in terms(text):
            weights[term] = max(weight, weights.get(term, 0))
    return weights
