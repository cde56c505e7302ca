"""An in-process columnar search index over the catalog.

Evaluating a query plus seven facet counts in SQL re-runs the match for every facet; at 100,000
resources that costs hundreds of milliseconds on either database. Here the committed catalog is
held as numpy columns and posting lists, built from the database, so a query is a few array
operations, and results do not depend on the database.

Freshness comes from the ledger: every catalog change appends an entry naming the resource, and
ledger indexes follow commit order. The index remembers the ledger size it was built at; each
query asks, in its own session, which resources catalog entries have named since, and reads those
rows fresh for that query only. A session so sees its own uncommitted changes and others'
committed ones, never anybody's uncommitted ones. When that overlay grows large the index is
rebuilt from committed rows; it is also rebuilt every MAX_AGE_S seconds to pick up rows changed
outside the services (bulk loads, manual SQL).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from yaosu.catalog import repository as repo
from yaosu.identity.subject import Subject
from yaosu.kit.timeutil import aware
from yaosu.ledger.service import ledger_service

FACETS = repo.FACETS
MAX_OVERLAY = 2000
MAX_AGE_S = 900.0


@dataclass
class Columns:
    ids: list[str]
    names: list[str]
    pos: dict[str, int]
    status_published: np.ndarray  # bool per doc
    published_at: np.ndarray  # float seconds (0 = never)
    code_rank: np.ndarray  # float: order of the resource code
    sorted_codes: np.ndarray  # str, ascending (base index only)
    facets: dict[str, np.ndarray]  # facet -> int codes (-1 = none)
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (doc positions, weights)


@dataclass
class Vocab:
    values: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in FACETS})
    codes: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {} for k in FACETS})

    def code(self, facet: str, value: str | None) -> int:
        if value is None:
            return -1
        table = self.codes[facet]
        if value not in table:
            table[value] = len(self.values[facet])
            self.values[facet].append(value)
        return table[value]


def _columns(
    rows: list[Any], terms: list[Any], vocab: Vocab, base: Columns | None = None
) -> Columns:
    pos = {r[0]: i for i, r in enumerate(rows)}
    facet_values: dict[str, list[int]] = {k: [] for k in FACETS}
    for r in rows:
        for k, v in zip(FACETS, (r[3], *r[7:]), strict=True):
            facet_values[k].append(vocab.code(k, v))
    by_term: dict[str, tuple[list[int], list[int]]] = {}
    for rid, term, weight in terms:
        if rid in pos:
            docs, weights = by_term.setdefault(term, ([], []))
            docs.append(pos[rid])
            weights.append(weight)
    postings = {}
    for term, (docs, weights) in by_term.items():
        d, w = np.asarray(docs, dtype=np.int64), np.asarray(weights, dtype=np.int64)
        order = np.argsort(d, kind="stable")
        postings[term] = (d[order], w[order])
    codes = np.asarray([r[1] for r in rows], dtype=str)
    if base is None:
        sorted_codes = np.sort(codes)
        rank = np.searchsorted(sorted_codes, codes).astype(float)
    else:  # an overlay row sorts just before the indexed code it would precede
        sorted_codes = base.sorted_codes
        rank = np.searchsorted(sorted_codes, codes).astype(float) - 0.5
    return Columns(
        ids=[r[0] for r in rows],
        names=[r[2] for r in rows],
        pos=pos,
        status_published=np.asarray([r[4] == "published" for r in rows], dtype=bool),
        published_at=np.asarray(
            [aware(r[5]).timestamp() if r[5] else 0.0 for r in rows], dtype=float
        ),
        code_rank=rank,
        sorted_codes=sorted_codes,
        facets={k: np.asarray(v, dtype=np.int64) for k, v in facet_values.items()},
        postings=postings,
    )


class SearchIndex:
    def __init__(self) -> None:
        self.vocab = Vocab()
        self.cols: Columns | None = None
        self.ledger_size = 0
        self.built = 0.0
        self.lock = threading.Lock()

    def _rebuild(self, session: Session) -> None:
        bind = session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        with Session(engine.execution_options(yaosu_write=False)) as fresh:  # committed rows only
            size = ledger_service.size(fresh)  # first: rows read after it are at least as new
            rows, terms = repo.index_rows(fresh)
        vocab = Vocab()
        self.cols = _columns(rows, terms, vocab)
        self.vocab, self.ledger_size, self.built = vocab, size, time.monotonic()

    def query(
        self,
        session: Session,
        subject: Subject,
        terms: list[list[str]],
        substring: str | None,
        filters: dict[str, list[str]],
        limit: int,
        offset: int,
    ) -> tuple[list[str], int, dict[str, list[tuple[str, int]]]]:
        """Resources matching any of the alternatives in ``terms`` (each: every term present;
        an empty alternative matches all), readable by ``subject``, with facet counts."""
        with self.lock:
            if self.cols is None or time.monotonic() - self.built > MAX_AGE_S:
                self._rebuild(session)
            changed = ledger_service.subjects_since(session, self.ledger_size, "catalog.")
            if len(changed) > MAX_OVERLAY:
                self._rebuild(session)
                changed = ledger_service.subjects_since(session, self.ledger_size, "catalog.")
            assert self.cols is not None
            rows, row_terms = repo.index_rows(session, sorted(changed)) if changed else ([], [])
            base, vocab = self.cols, self.vocab
            overlay = _columns(rows, row_terms, vocab, base)
            return _evaluate(
                base, overlay, vocab, subject, terms, substring, filters, limit, offset
            )


def _match_any(
    cols: Columns, alternatives: list[list[str]], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions matching at least one alternative (synonym variants of a query), each with
    its best score; no alternatives at all match every position."""
    if len(alternatives) <= 1:
        return _match(cols, alternatives[0] if alternatives else [], n)
    found = [_match(cols, terms, n) for terms in alternatives]
    docs = np.concatenate([d for d, _ in found])
    score = np.concatenate([s for _, s in found])
    if not len(docs):
        return docs, score
    unique, inverse = np.unique(docs, return_inverse=True)
    best = np.zeros(len(unique), dtype=np.int64)
    np.maximum.at(best, inverse, score)
    return unique, best


def _match(cols: Columns, terms: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions containing every term, with summed weights (all positions when no terms)."""
    if not terms:
        return np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    docs: np.ndarray | None = None
    score: np.ndarray | None = None
    for term in terms:
        hit = cols.postings.get(term)
        if hit is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        if docs is None or score is None:
            docs, score = hit[0], hit[1].copy()
            continue
        docs, left, right = np.intersect1d(docs, hit[0], assume_unique=True, return_indices=True)
        score = score[left] + hit[1][right]
    assert docs is not None and score is not None
    return docs, score


def _evaluate(
    base: Columns,
    overlay: Columns,
    vocab: Vocab,
    subject: Subject,
    terms: list[list[str]],
    substring: str | None,
    filters: dict[str, list[str]],
    limit: int,
    offset: int,
) -> tuple[list[str], int, dict[str, list[tuple[str, int]]]]:
    staff = bool(subject.roles & repo.CATALOG_STAFF) or subject.is_system
    own_code = vocab.codes["provider_id"].get(subject.org_id or "", -2)
    replaced = np.asarray(sorted(base.pos[i] for i in overlay.ids if i in base.pos), dtype=np.int64)
    parts = []
    for cols in (base, overlay):
        docs, score = _match_any(cols, terms, len(cols.ids))
        mask = np.ones(len(docs), dtype=bool)
        if cols is base and len(replaced):
            mask &= ~np.isin(docs, replaced)
        if not staff:
            mask &= cols.status_published[docs] | (cols.facets["provider_id"][docs] == own_code)
        for facet, values in filters.items():
            if values:
                wanted = [vocab.codes[facet][v] for v in values if v in vocab.codes[facet]]
                mask &= np.isin(cols.facets[facet][docs], np.asarray(wanted, dtype=np.int64))
        if substring:
            idx = np.flatnonzero(mask)
            hits = np.asarray([substring in cols.names[d] for d in docs[idx]], dtype=bool)
            mask[idx[~hits]] = False
        parts.append((cols, docs[mask], score[mask]))
    total = sum(len(d) for _, d, _ in parts)
    facets: dict[str, list[tuple[str, int]]] = {}
    for facet in FACETS:
        size = len(vocab.values[facet]) + 1
        counts = np.zeros(size, dtype=np.int64)
        for cols, docs, _ in parts:
            counts += np.bincount(cols.facets[facet][docs] + 1, minlength=size)[:size]
        pairs = [(vocab.values[facet][i], int(c)) for i, c in enumerate(counts[1:].tolist()) if c]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        facets[facet] = pairs[:50]
    # Order by score, newest publication, then resource code, over both parts together.
    score = np.concatenate([s for _, _, s in parts])
    published = np.concatenate([c.published_at[d] for c, d, _ in parts])
    rank = np.concatenate([c.code_rank[d] for c, d, _ in parts])
    order = np.lexsort((rank, -published, -score))[offset : offset + limit]
    n_base = len(parts[0][1])
    page = [
        base.ids[int(parts[0][1][i])] if i < n_base else overlay.ids[int(parts[1][1][i - n_base])]
        for i in order.tolist()
    ]
    return page, total, facets


_indexes: dict[str, SearchIndex] = {}
_lock = threading.Lock()


def index_for(session: Session) -> SearchIndex:
    """One index per database (keyed by its URL)."""
    bind = session.get_bind()
    key = str(bind.engine.url if isinstance(bind, Connection) else bind.url)
    with _lock:
        if key not in _indexes:
            _indexes[key] = SearchIndex()
        return _indexes[key]
