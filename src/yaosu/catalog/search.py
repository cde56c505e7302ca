"""Tokenizing catalog text for search, the same way on SQLite and PostgreSQL.

Chinese has no spaces, and neither database ships a Chinese segmenter we can rely on in both
(PostgreSQL needs zhparser/pg_jieba extensions; SQLite FTS5 has none). A dictionary segmenter
(jieba) would also make recall depend on its dictionary: "社保卡" or a unit's own abbreviations
are often missing. Overlapping character bigrams need no dictionary, find any substring of two or
more characters, and index into one plain table, so results are identical on both databases.
Latin text is split into lower-cased words. A one-character Chinese query falls back to a
substring match on names.

Synonyms 同义词: a query is also searched with the words of a node-editable synonym list
(``synonyms.yaml`` in this package, replaced by ``<data dir>/synonyms.yaml`` when that exists),
so "老人" finds "老年"/"养老" entries and "bus" finds "公交" ones. Each alternative is matched as
usual (every term present) and a resource matching any alternative is a hit.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from yaosu.config import get_settings

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_WORD = re.compile(r"[0-9a-z]+")
MAX_TERM = 64
MAX_ALTERNATIVES = 16  # a query expands to at most this many texts (the query itself first)
SYNONYMS_FILE = "synonyms.yaml"
_PACKAGED = Path(__file__).with_name(SYNONYMS_FILE)
_LATIN_KEY = re.compile(r"[0-9a-z ]+")
log = logging.getLogger(__name__)


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


Synonyms = dict[str, list[str]]


def parse_synonyms(text: str) -> Synonyms:
    """A synonym list from YAML: a mapping of word -> list of words (or one word). Keys and
    words are normalized like queries; empty ones and a key listed as its own synonym are
    dropped. Raises ValueError when the text is not such a mapping."""
    data: Any = yaml.safe_load(text) if text.strip() else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("a synonym list is a mapping of word -> list of words")
    out: Synonyms = {}
    for key, value in data.items():
        words = value if isinstance(value, list) else [value]
        if not isinstance(key, str | int) or not all(isinstance(w, str | int) for w in words):
            raise ValueError(f"synonyms of {key!r} must be words")
        k = _normalize(str(key)).strip()
        alts = [a for a in dict.fromkeys(_normalize(str(w)).strip() for w in words) if a and a != k]
        if k and alts:
            out[k] = alts
    return out


_cache: dict[str, tuple[int, Synonyms]] = {}
_cache_lock = threading.Lock()


def _load(path: Path) -> Synonyms | None:
    """The list in ``path`` (re-read when the file changes); None when absent or invalid."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    key = str(path)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        found = parse_synonyms(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        log.warning("synonym list %s ignored: %s", path, exc)
        return None
    with _cache_lock:
        _cache[key] = (stamp, found)
    return found


def synonyms() -> Synonyms:
    """The node's synonym list: ``<data dir>/synonyms.yaml`` when present and valid (it
    replaces the packaged list), else the list shipped in this package."""
    node = _load(Path(get_settings().data_dir) / SYNONYMS_FILE)
    if node is not None:
        return node
    return _load(_PACKAGED) or {}


def _occurs(key: str, text: str) -> re.Pattern[str] | None:
    """How ``key`` is found in ``text``: latin keys as whole words, others as substrings."""
    if _LATIN_KEY.fullmatch(key):
        pattern = re.compile(rf"(?<![0-9a-z]){re.escape(key)}(?![0-9a-z])")
    else:
        pattern = re.compile(re.escape(key))
    return pattern if pattern.search(text) else None


def expand(query: str, table: Synonyms | None = None) -> list[str]:
    """The normalized query and its synonym variants (each key found replaced by each of its
    words, longest keys first), the query itself first, at most MAX_ALTERNATIVES."""
    text = _normalize(query)
    table = synonyms() if table is None else table
    out = [text]
    for key in sorted(table, key=lambda k: (-len(k), k)):
        for alt in list(out):
            pattern = _occurs(key, alt)
            if pattern is None:
                continue
            for word in table[key]:
                variant = pattern.sub(word.replace("\\", "\\\\"), alt)
                if variant not in out:
                    out.append(variant)
                if len(out) >= MAX_ALTERNATIVES:
                    return out
    return out
