"""Private set intersection 隐私求交 (PSI): ECDH over the Ristretto255 group.

A consumer holding keys X (resident IDs, USCCs, phone numbers) learns which of them — or only
how many — are also among a provider's keys Y, and neither side learns the rest:

1. the consumer hashes each normalised key to the group, ``H(x)``, and blinds it with a fresh
   secret scalar ``a``: it sends ``a·H(x_i)`` in its own order (its keys never leave in clear);
2. the node draws a fresh secret ``b`` for this session only, answers ``b·a·H(x_i)`` (same
   order; shuffled in count-only mode) and ``b·H(y_j)`` for its own keys, shuffled, then
   forgets ``b``;
3. the consumer unblinds with ``a⁻¹`` to ``b·H(x_i)`` and compares with the node's set.

Everything here is pure (no database, no network), so the node and the consumer-side command
share it. Session state (open → answered → closed) is kept by the caller; ``admit`` holds the
one rule that refuses a replayed or closed session. Every point received from the other side
is validated before use (`psi_bad_point`, with the reason).

The group operations are libsodium's (``crypto_core_ristretto255_*``,
``crypto_scalarmult_ristretto255``, libsodium ≥ 1.0.18), called through ctypes. PyNaCl bundles a
libsodium that has them but does not export them, so we bind the system library (Debian:
``libsodium23``). ctypes releases the GIL during each call, so large batches run on threads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from yaosu.kit.errors import BadRequest, Conflict, Forbidden, Invalid, YaosuError
from yaosu.kit.uscc import uscc_issue

__all__ = [
    "KEY_KINDS",
    "PsiBadKey",
    "PsiBadPoint",
    "PsiBadReply",
    "PsiClient",
    "PsiResult",
    "PsiSession",
    "PsiSessionClosed",
    "PsiSessionMismatch",
    "PsiSessionReplayed",
    "PsiUnavailable",
    "ServerReply",
    "admit",
    "answer",
    "answered",
    "blind",
    "close",
    "hash_keys",
    "normalise",
    "open_session",
    "point_issue",
    "validate_points",
]

POINT_BYTES = 32
SCALAR_BYTES = 32
FIELD_PRIME = 2**255 - 19
DOMAIN = b"yaosu/psi/v1\x00"  # changes only with a new protocol version; both sides must agree
Mode = Literal["intersection", "count"]
MODES: tuple[Mode, ...] = ("intersection", "count")
SessionState = Literal["open", "answered", "closed"]


# --- errors -----------------------------------------------------------------------------------
class PsiUnavailable(YaosuError):
    """This machine's libsodium has no Ristretto255 (older than 1.0.18, or missing)."""

    status = 503
    code = "psi_unavailable"


class PsiBadPoint(BadRequest):
    """A received group element is refused; ``details``: index, reason."""

    code = "psi_bad_point"


class PsiBadReply(BadRequest):
    """The node's answer does not fit the request (wrong count of points)."""

    code = "psi_bad_reply"


class PsiBadKey(Invalid):
    """A key cannot be normalised for its kind; ``details``: index, kind, reason."""

    code = "psi_bad_key"


class PsiSessionReplayed(Conflict):
    code = "psi_session_replayed"


class PsiSessionClosed(Conflict):
    code = "psi_session_closed"


class PsiSessionMismatch(Forbidden):
    code = "psi_session_mismatch"


# --- libsodium --------------------------------------------------------------------------------
_SODIUM: Any = None


def _sodium() -> Any:
    """The system libsodium, loaded once; refused when it lacks Ristretto255."""
    global _SODIUM
    if _SODIUM is not None:
        return _SODIUM
    names = [n for n in (ctypes.util.find_library("sodium"), "libsodium.so.23") if n]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, "crypto_scalarmult_ristretto255") and lib.sodium_init() >= 0:
            for fn in (
                lib.crypto_core_ristretto255_from_hash,
                lib.crypto_core_ristretto255_is_valid_point,
                lib.crypto_scalarmult_ristretto255,
                lib.crypto_core_ristretto255_scalar_random,
                lib.crypto_core_ristretto255_scalar_invert,
            ):
                fn.restype = ctypes.c_int
            _SODIUM = lib
            return lib
    raise PsiUnavailable(
        "Private set intersection needs libsodium 1.0.18 or later (Debian: libsodium23).",
        "隐私求交需要 libsodium 1.0.18 或更高版本（Debian：libsodium23）。",
    )


def random_scalar() -> bytes:
    """A fresh uniformly random non-zero scalar mod the group order ℓ."""
    out = ctypes.create_string_buffer(SCALAR_BYTES)
    _sodium().crypto_core_ristretto255_scalar_random(out)
    return out.raw


def invert_scalar(scalar: bytes) -> bytes:
    out = ctypes.create_string_buffer(SCALAR_BYTES)
    if _sodium().crypto_core_ristretto255_scalar_invert(out, scalar) != 0:
        raise ValueError("zero scalar")
    return out.raw


# --- keys -------------------------------------------------------------------------------------
KEY_KINDS = ("resident_id", "uscc", "phone", "text")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_SEPARATORS = re.compile(r"[\s\-_.()（）]+")


def _id_check(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _resident_id(value: str) -> str:
    text = _SEPARATORS.sub("", value).upper()
    if len(text) == 15 and text.isdigit():  # first-generation card: born 19xx, no check digit
        first17 = text[:6] + "19" + text[6:]
        return first17 + _id_check(first17)
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        raise ValueError("not 18 characters of 17 digits and a digit or X (nor 15 digits)")
    if _id_check(text[:17]) != text[17]:
        raise ValueError("wrong check digit (GB 11643)")
    return text


def _uscc(value: str) -> str:
    text = _SEPARATORS.sub("", value).upper()
    issue = uscc_issue(text)
    if issue:
        raise ValueError(issue[0])
    return text


def _phone(value: str) -> str:
    text = _SEPARATORS.sub("", value)
    for prefix in ("+86", "0086", "86"):
        rest = text[len(prefix) :]
        if text.startswith(prefix) and len(rest) == 11 and rest.startswith("1"):
            text = rest
            break
    if not text.isdigit():
        raise ValueError("not a telephone number (digits after an optional +86)")
    if len(text) == 11 and text.startswith("1"):
        return text  # mobile
    if text.startswith("0") and 10 <= len(text) <= 12:
        return text  # landline with its area code
    raise ValueError("neither an 11-digit mobile number nor an area code and landline number")


def _text(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("empty")
    return text


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "resident_id": _resident_id,
    "uscc": _uscc,
    "phone": _phone,
    "text": _text,
}


def normalise(kind: str, value: str) -> str:
    """The canonical form both sides hash (see docs/compute.md, "Keys").

    All kinds: Unicode NFKC first (full-width digits and letters become ASCII). resident_id:
    spaces, hyphens, dots and brackets removed, ``x`` upper-cased, the GB 11643 check digit
    verified, a 15-digit first-generation number widened to 18. uscc: the same separators
    removed, upper-cased, GB 32100 shape and check character verified. phone: separators
    removed, a ``+86``/``0086``/``86`` prefix dropped before an 11-digit mobile number; an
    11-digit mobile number (starting 1) or a landline with its area code (starting 0, 10–12
    digits). text: trimmed only. Raises ``ValueError`` with the reason."""
    if kind not in _NORMALISERS:
        raise ValueError(f"unknown key kind {kind!r}; one of {', '.join(KEY_KINDS)}")
    return _NORMALISERS[kind](unicodedata.normalize("NFKC", value))


def _digest(kind: str, key: str) -> bytes:
    return hashlib.sha512(DOMAIN + kind.encode() + b"\x00" + key.encode("utf-8")).digest()


@dataclass(frozen=True)
class HashedKeys:
    points: list[bytes]  # H(key) for each valid key, in input order
    indices: list[int]  # the input position of each point
    invalid: dict[int, str]  # input position → why its key was skipped


def hash_keys(
    values: Iterable[str | None], kind: str, *, strict: bool = False, workers: int | None = None
) -> HashedKeys:
    """Normalise and hash ``values`` to the group. Invalid keys are skipped and reported (or,
    with ``strict``, refused with `psi_bad_key`); duplicates are kept (each index answers)."""
    if kind not in _NORMALISERS:
        raise PsiBadKey(
            f"Unknown key kind {kind!r}; one of {', '.join(KEY_KINDS)}.",
            f"未知的键类型 {kind!r}，可选：{'、'.join(KEY_KINDS)}。",
            kind=kind,
        )
    digests: list[bytes] = []
    indices: list[int] = []
    invalid: dict[int, str] = {}
    for i, value in enumerate(values):
        try:
            if value is None:
                raise ValueError("missing")
            key = normalise(kind, str(value))
        except ValueError as exc:
            if strict:
                raise PsiBadKey(
                    f"Key {i} is not a valid {kind}: {exc}.",
                    f"第 {i} 个键不是有效的 {kind}：{exc}。",
                    index=i,
                    kind=kind,
                    reason=str(exc),
                ) from None
            invalid[i] = str(exc)
            continue
        digests.append(_digest(kind, key))
        indices.append(i)
    return HashedKeys(_threaded(_hash_chunk, digests, workers), indices, invalid)


def _hash_chunk(digests: Sequence[bytes], start: int) -> list[bytes]:
    lib = _sodium()
    out = ctypes.create_string_buffer(POINT_BYTES)
    result: list[bytes] = []
    for digest in digests:
        lib.crypto_core_ristretto255_from_hash(out, digest)
        result.append(out.raw)
    return result


def _threaded(
    work: Callable[[Sequence[bytes], int], Any], items: Sequence[bytes], workers: int | None
) -> list[bytes]:
    """``work`` over chunks of ``items`` on threads (ctypes lets go of the GIL in each call);
    a chunk's result is its outputs, or the position of the first item it refused."""
    workers = max(1, workers or os.cpu_count() or 1)
    size = max(1024, -(-len(items) // workers))
    chunks = [(items[s : s + size], s) for s in range(0, len(items), size)]
    if len(chunks) <= 1:
        results = [work(*c) for c in chunks]
    else:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda c: work(*c), chunks))
    out: list[bytes] = []
    for r in results:
        if isinstance(r, int):
            raise _Refused(r)
        out.extend(r)
    return out


class _Refused(Exception):
    def __init__(self, index: int) -> None:
        self.index = index


# --- points -----------------------------------------------------------------------------------
_IDENTITY = bytes(POINT_BYTES)


def _non_canonical(point: bytes) -> bool:
    s = int.from_bytes(point, "little")
    return s >= FIELD_PRIME or bool(s & 1)


def point_issue(point: object) -> str | None:
    """Why ``point`` is not a usable Ristretto255 element, or None.

    ``length`` (not 32 bytes), ``non_canonical`` (the field element is ≥ p, has the top bit
    set or is negative, i.e. odd: each group element has exactly one encoding), ``off_group``
    (a canonical field element that decodes to no group element — Ristretto255 has no
    small-order or off-subgroup points, so this is the only way to be outside the group),
    ``identity`` (the neutral element: multiplying it reveals nothing and matches everything)."""
    if not isinstance(point, bytes | bytearray) or len(point) != POINT_BYTES:
        return "length"
    if _non_canonical(bytes(point)):
        return "non_canonical"
    if point == _IDENTITY:
        return "identity"
    if _sodium().crypto_core_ristretto255_is_valid_point(bytes(point)) != 1:
        return "off_group"
    return None


def _bad_point(index: int, reason: str, side: str) -> PsiBadPoint:
    side_zh = "节点" if side == "node" else "请求方"
    return PsiBadPoint(
        f"Point {index} from the {side} is not a valid group element ({reason}).",
        f"来自{side_zh}的第 {index} 个点不是有效的群元素（{reason}）。",
        index=index,
        reason=reason,
    )


def validate_points(points: Sequence[object], *, side: str = "consumer") -> None:
    """Refuse the first point that is not a valid non-identity element (`psi_bad_point`)."""
    for i, point in enumerate(points):
        reason = point_issue(point)
        if reason:
            raise _bad_point(i, reason, side)


def _mul_chunk(scalar: bytes, points: Sequence[bytes], start: int) -> list[bytes] | int:
    """``scalar·P`` for each point, or the position of the first one libsodium refuses."""
    lib = _sodium()
    out = ctypes.create_string_buffer(POINT_BYTES)
    result: list[bytes] = []
    for i, point in enumerate(points):
        # libsodium decodes (refusing invalid encodings) and refuses an identity result.
        if lib.crypto_scalarmult_ristretto255(out, scalar, point) != 0:
            return start + i
        result.append(out.raw)
    return result


def blind(
    points: Sequence[bytes], scalar: bytes, *, side: str = "consumer", workers: int | None = None
) -> list[bytes]:
    """``scalar·P`` for each point, validating each (`psi_bad_point` names the first bad one).

    Large batches are split over ``workers`` threads (default: the CPU count)."""
    # The cheap checks first: length, canonical encoding, identity. libsodium 1.0.18 ignores
    # the top bit of an encoding, so a non-canonical point is only refused by this check.
    for i, point in enumerate(points):
        if (
            not isinstance(point, bytes)
            or len(point) != POINT_BYTES
            or point == _IDENTITY
            or _non_canonical(point)
        ):
            raise _bad_point(i, point_issue(point) or "identity", side)
    try:
        return _threaded(lambda chunk, start: _mul_chunk(scalar, chunk, start), points, workers)
    except _Refused as refused:
        index = refused.index
        raise _bad_point(index, point_issue(points[index]) or "identity", side) from None


def _shuffled(items: list[bytes]) -> list[bytes]:
    copy = list(items)
    secrets.SystemRandom().shuffle(copy)
    return copy


# --- the node's side --------------------------------------------------------------------------
@dataclass(frozen=True)
class ServerReply:
    consumer: list[bytes]  # b·(a·H(x_i)): in request order, or shuffled in count-only mode
    node: list[bytes]  # b·H(y_j), shuffled
    node_invalid: int  # the node's keys skipped as invalid for the kind (a count only)


def answer(
    request: Sequence[object],
    node_keys: Iterable[str | None],
    kind: str,
    mode: Mode,
    *,
    workers: int | None = None,
) -> ServerReply:
    """The node's whole part of one session, with a fresh secret that is forgotten after.

    ``request`` is the consumer's blinded points (validated here); ``node_keys`` the resource's
    key column. The caller must ``admit`` the session first and mark it ``answered`` in the
    same transaction."""
    if mode not in MODES:
        raise Invalid(
            f"Unknown PSI mode {mode!r}; one of {', '.join(MODES)}.",
            f"未知的求交模式 {mode!r}，可选：{'、'.join(MODES)}。",
            mode=mode,
        )
    secret = random_scalar()
    consumer = blind(list(request), secret, side="consumer", workers=workers)  # type: ignore[arg-type]
    hashed = hash_keys(node_keys, kind, workers=workers)
    node = blind(hashed.points, secret, side="node", workers=workers)
    if mode == "count":
        consumer = _shuffled(consumer)
    return ServerReply(consumer, _shuffled(node), len(hashed.invalid))


# --- the consumer's side ----------------------------------------------------------------------
@dataclass(frozen=True)
class PsiResult:
    count: int  # how many of the consumer's valid keys are in the node's set
    matched: list[int] | None  # input positions of the matching keys (None in count-only mode)
    invalid: dict[int, str]  # input positions skipped, with the reason


class PsiClient:
    """The consumer's part of one session: ``request`` to send, ``finish`` on the reply.

    The scalar is fresh per client object and never leaves it; use one object per session."""

    def __init__(
        self, keys: Iterable[str | None], kind: str, *, workers: int | None = None
    ) -> None:
        self.kind = kind
        self.workers = workers
        self._hashed = hash_keys(keys, kind, workers=workers)
        self._secret = random_scalar()
        self.request = blind(self._hashed.points, self._secret, side="consumer", workers=workers)

    @property
    def invalid(self) -> dict[int, str]:
        return self._hashed.invalid

    def finish(self, reply: ServerReply, mode: Mode) -> PsiResult:
        """Validate the node's points, unblind ours and intersect."""
        if len(reply.consumer) != len(self.request):
            raise PsiBadReply(
                f"The node answered {len(reply.consumer)} points for {len(self.request)} sent.",
                f"节点对发送的 {len(self.request)} 个点返回了 {len(reply.consumer)} 个。",
                sent=len(self.request),
                received=len(reply.consumer),
            )
        validate_points(reply.node, side="node")
        ours = blind(reply.consumer, invert_scalar(self._secret), side="node", workers=self.workers)
        theirs = set(reply.node)
        hits = [i for i, p in enumerate(ours) if p in theirs]
        if mode == "count":
            return PsiResult(len(hits), None, self.invalid)
        return PsiResult(len(hits), [self._hashed.indices[i] for i in hits], self.invalid)


# --- sessions: the pure rules; the caller stores the state -------------------------------------
@dataclass(frozen=True)
class PsiSession:
    id: str
    nonce: str  # shown once to the consumer that opened the session; must come back with it
    mode: Mode
    kind: str
    state: SessionState
    opened_at: datetime
    expires_at: datetime


def open_session(kind: str, mode: Mode, *, now: datetime, ttl: timedelta) -> PsiSession:
    """A new session: random id and nonce, open until ``now + ttl``."""
    if kind not in KEY_KINDS:
        raise PsiBadKey(
            f"Unknown key kind {kind!r}; one of {', '.join(KEY_KINDS)}.",
            f"未知的键类型 {kind!r}，可选：{'、'.join(KEY_KINDS)}。",
            kind=kind,
        )
    if mode not in MODES:
        raise Invalid(
            f"Unknown PSI mode {mode!r}; one of {', '.join(MODES)}.",
            f"未知的求交模式 {mode!r}，可选：{'、'.join(MODES)}。",
            mode=mode,
        )
    return PsiSession(
        id=secrets.token_hex(16),
        nonce=secrets.token_urlsafe(24),
        mode=mode,
        kind=kind,
        state="open",
        opened_at=now,
        expires_at=now + ttl,
    )


def admit(session: PsiSession, *, nonce: str, now: datetime) -> None:
    """May this request be answered? Only once, only with the session's nonce, only while
    open: a second request is `psi_session_replayed`, a closed or expired session
    `psi_session_closed`, a wrong nonce `psi_session_mismatch`."""
    if not hmac.compare_digest(session.nonce.encode(), nonce.encode()):
        raise PsiSessionMismatch(
            "The nonce does not belong to this PSI session.",
            "随机数与该求交会话不符。",
            session=session.id,
        )
    if session.state == "answered":
        raise PsiSessionReplayed(
            "This PSI session has been answered already; open a new one.",
            "该求交会话已应答，请新建会话。",
            session=session.id,
        )
    if session.state == "closed" or now >= session.expires_at:
        raise PsiSessionClosed(
            "This PSI session is closed or expired.",
            "该求交会话已关闭或已过期。",
            session=session.id,
            expires_at=session.expires_at.isoformat(),
        )


def answered(session: PsiSession) -> PsiSession:
    return replace(session, state="answered")


def close(session: PsiSession) -> PsiSession:
    return replace(session, state="closed")
