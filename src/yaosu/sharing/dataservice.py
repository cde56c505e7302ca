"""The data service API's call path (SHR-4): every call is decided by the grant's policy,
metered exactly, answered from the engine with masking and row filters applied inside it, and
written to the ledger — refusals included, each with the constraint that failed.

Metering and the call's ledger entry run in their own short transactions (``meter``), so a
refusal is counted even though the request itself fails, and a streamed answer is settled once
its last byte is produced: the call is counted when it is admitted (atomically against the
quota), its rows reserved up front and the unused part given back at the end."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from yaosu.classification import masking
from yaosu.classification.service import classification_service, masking_service
from yaosu.config import get_node_key, get_settings
from yaosu.db.uow import transaction
from yaosu.identity.subject import Subject
from yaosu.kit.canonical import digest
from yaosu.kit.crypto import derive
from yaosu.kit.errors import Conflict, Forbidden, Invalid, TooManyRequests, YaosuError
from yaosu.kit.timeutil import aware, seconds_to_midnight, utcnow
from yaosu.ledger.service import ledger_service
from yaosu.models.catalog import DatasetVersion, Resource
from yaosu.models.sharing import Grant, ShareRequest
from yaosu.policy import evaluate, filters
from yaosu.policy.model import Policy, day_of, parse_policy
from yaosu.sharing import repository as repo
from yaosu.sharing.service import grant_service, lift_holds

Sessions = Callable[[bool], Session]
MAX_PAGE = 1_000_000  # rows of one call (streamed; the row quota caps it further)


@dataclass
class Admitted:
    """An admitted call: what to run and how to settle it."""

    grant: Grant
    version: DatasetVersion
    policy: Policy
    obligations: evaluate.Obligations
    projections: list[Any]
    where: tuple[str, list[Any]] | None
    day: str
    reserved: int  # rows held against the daily quota (0 without one)
    page_limit: int  # rows this call may return
    query_digest: str
    at: datetime  # when the call was decided (the rate window counts it at this time)
    key_value: Any = None  # a lookup's key, typed as its column


def _grant_status(grant: Grant, now: datetime) -> str:
    if grant.status != "active":
        return grant.status
    return "expired" if aware(grant.not_after) < now else "active"


def _us(at: datetime) -> int:
    """Microseconds since the epoch: the time unit of the shared rate window."""
    return int(at.timestamp() * 1_000_000)


def _rate_refusal(limit: int, now: datetime, oldest_us: int | None) -> TooManyRequests:
    wait = 60
    if oldest_us is not None:
        wait = min(60, max(1, math.ceil((oldest_us + repo.RATE_WINDOW_US - _us(now)) / 1e6)))
    return TooManyRequests(
        f"At most {limit:,} calls a minute; retry in {wait} s.",
        f"每分钟最多调用 {limit:,} 次，请 {wait} 秒后重试。",
        code="rate_exceeded",
        retry_after=wait,
        failed={
            "rule": "permission",
            "left_operand": "yaosu:ratePerMinute",
            "operator": "lteq",
            "right_operand": limit,
            "actual": limit + 1,
            "code": "rate_exceeded",
            "message": f"At most {limit:,} calls a minute; retry in {wait} s.",
            "message_zh": f"每分钟最多调用 {limit:,} 次，请 {wait} 秒后重试。",
        },
    )


def _invalid_key(column: str, column_type: str, problem: str) -> Invalid:
    return Invalid(
        f"The key does not fit the key field {column!r} ({column_type}): {problem}.",
        f"查询键与键字段 {column!r}（{filters.COLUMN_TYPES.get(column_type, (column_type,))[0]}）"
        "的类型不符。",
        code="invalid_key",
        field=column,
        type=column_type,
    )


class DataService:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        # The time calls are decided at; tests put a fixed clock here to move the rate window.
        self.clock = clock

    def _load(self, session: Session, subject: Subject, grant_id: str) -> tuple[Grant, Resource]:
        grant = grant_service.get(session, subject, grant_id)
        if subject.org_id != grant.consumer_id:
            raise Forbidden(
                "Only the consumer unit's tokens call the data service of its grant.",
                "只有被授权单位的令牌可以调用该授权的数据服务。",
                code="not_consumer",
            )
        resource = session.get(Resource, grant.resource_id)
        assert resource is not None
        return grant, resource

    def _version(self, session: Session, resource: Resource) -> DatasetVersion:
        if resource.grade in ("core", "important"):
            raise Forbidden(
                f"The resource is now graded {resource.grade}; raw rows are no longer served.",
                "该资源已被定为核心或重要数据，不再提供原始数据。",
                code="grade_forbids_rows",
            )
        version = (
            session.get(DatasetVersion, resource.current_version_id)
            if resource.current_version_id
            else None
        )
        if version is None:
            raise Conflict("The resource has no data yet.", "该资源尚无数据。", code="no_data")
        return version

    def admit(
        self,
        sessions: Sessions,
        session: Session,
        subject: Subject,
        grant_id: str,
        *,
        fields: Sequence[str] | None,
        params: Mapping[str, Sequence[str]],
        purpose: str | None,
        order: Sequence[tuple[str, bool]],
        limit: int,
        key: tuple[str, str] | None = None,
        delivery: str = "api",
        count: bool = True,
    ) -> Admitted:
        """Decide the call; count it (or its refusal) in a committed metering transaction.

        Every column the call names — fields, filters, sort, lookup key — must be granted, and
        filters, sorts and keys may not touch a masked one: the policy evaluator decides this
        before anything is parsed against the data, so a column outside the grant is refused the
        same way whether it exists or not, and its type is never revealed. The per-minute rate
        and the daily quotas are decided and recorded in one locked database step
        (``repo.rate_room``), shared by every server process."""
        grant, resource = self._load(session, subject, grant_id)
        policy = _policy(grant)
        now = self.clock()
        day = day_of(now).isoformat()
        shape = {
            "fields": list(fields) if fields is not None else None,
            "filters": {k: list(v) for k, v in sorted(params.items())},
            "order": [list(o) for o in order],
            "limit": limit,
            "key": list(key) if key else None,
            "delivery": delivery,
        }
        query_digest = digest(shape)
        granted = set(policy.terms.fields)
        rate = policy.terms.quota.rate_per_minute
        key_value: Any = None
        try:
            version = self._version(session, resource)
            policy = served_policy(session, grant, resource, version)
            types = {c["name"]: c["type"] for c in version.columns}
            # Filters on columns outside the grant or masked are never parsed against the data
            # (whether such a column exists, and its type, stay hidden; any operator, known or
            # not, is refused alike): they reach the evaluator only to be refused.
            masked = policy.terms.masked
            plain = {k: v for k, v in params.items() if k in granted and k not in masked}
            held = [
                filters.Filter(column=k, operator="eq", value=None, parameter=k)
                for k in params
                if k not in plain and k not in filters.RESERVED_PARAMS
            ]
            parsed = held + filters.parse_filters(plain, list(types), types)
            if key is not None:
                parsed.append(
                    filters.Filter(column=key[0], operator="eq", value=None, parameter="key")
                )
            usage = repo.usage(session, grant.id, day)
            recent, oldest = repo.recent_calls(session, grant.id, _us(now)) if rate else (0, None)
            decision = evaluate.decide(
                policy,
                evaluate.Call(
                    action="yaosu:export" if delivery == "file" else "read",
                    purpose=purpose or _default_purpose(policy),
                    at=now,
                    fields=tuple(fields) if fields is not None else None,
                    filters=tuple(parsed),
                    order=tuple(column for column, _ in order),
                    usage=evaluate.Usage(
                        calls_today=int(usage.calls) if usage else 0,
                        rows_today=int(usage.rows) if usage else 0,
                        calls_last_minute=recent,
                        oldest_call_last_minute=(
                            datetime.fromtimestamp(oldest / 1e6, UTC) if oldest else None
                        ),
                    ),
                    delivery_mode=delivery,
                    grant_status=_grant_status(grant, now),
                ),
                columns=list(types),
            )
            obligations = decision.obliged()
            if key is not None:
                key_value = _typed_key(key[0], key[1], types)
                parsed[-1] = parsed[-1].model_copy(update={"value": key_value})
            projections = self._projections(version, obligations)
            # A lookup's key is the engine's own condition (it finds the rows by the version's
            # key index), not part of the filter: the filter stays the same from key to key.
            where = filters.compile_where(
                obligations.row_filter, parsed[:-1] if key is not None else parsed, types
            )
        except YaosuError as exc:
            self._refused(sessions, subject, grant.id, day, exc, query_digest)
            raise
        wanted = limit if delivery == "file" else min(limit, MAX_PAGE)
        if obligations.max_rows is not None:
            wanted = min(wanted, obligations.max_rows)
        if not count:  # the caller meters the call once it has its answer (lookups)
            return Admitted(
                grant, version, policy, obligations, projections, where, day, 0, wanted,
                query_digest, now, key_value,
            )  # fmt: skip
        quota = policy.terms.quota
        over: YaosuError | None = None
        with transaction(sessions(True)) as m:
            if rate is not None:
                room, oldest = repo.rate_room(m, grant.id, _us(now), rate)
                if not room:
                    over = _rate_refusal(rate, now, oldest)
            if over is None and not repo.take_call(m, grant.id, day, quota.calls_per_day):
                over = TooManyRequests(
                    "The grant's daily call quota is used up.",
                    "该授权今日调用次数已用完。",
                    code="quota_calls_exceeded",
                    retry_after=_until_midnight(now),
                )
            if over is not None:
                m.rollback()
            else:
                if rate is not None:
                    repo.record_rate_call(m, grant.id, _us(now))
                reserved = repo.take_rows(m, grant.id, day, wanted, quota.rows_per_day)
        if over is not None:
            self._refused(sessions, subject, grant.id, day, over, query_digest)
            raise over
        if reserved == 0 and quota.rows_per_day is not None:
            spent = TooManyRequests(
                "The grant's daily row quota is used up.",
                "该授权今日数据行数已用完。",
                code="quota_rows_exceeded",
                retry_after=_until_midnight(now),
            )
            self._settle(sessions, subject, grant.id, day, 0, 0, 0, query_digest, refused=spent)
            raise spent
        page_limit = reserved if quota.rows_per_day is not None else wanted
        return Admitted(
            grant,
            version,
            policy,
            obligations,
            projections,
            where,
            day,
            reserved,
            page_limit,
            query_digest,
            now,
        )

    def _projections(self, version: DatasetVersion, obligations: evaluate.Obligations) -> list[Any]:
        from yaosu.dataplane.query import Projection

        by_name = _compiled_cached(version, obligations.masking)
        return [
            Projection(
                name=f,
                sql=by_name[f].sql,
                params=list(by_name[f].params),
                type=str(by_name[f].column["type"]),
            )
            for f in obligations.fields
            if f in by_name
        ]

    def _refused(
        self,
        sessions: Sessions,
        subject: Subject,
        grant_id: str,
        day: str,
        exc: YaosuError,
        query_digest: str,
    ) -> None:
        with transaction(sessions(True)) as m:
            repo.count_refusal(m, grant_id, day, exc.code)
            ledger_service.record(
                m,
                "sharing.call_refused",
                subject.actor,
                [grant_id],
                {"code": exc.code, "query": query_digest},
            )

    def _settle(
        self,
        sessions: Sessions,
        subject: Subject,
        grant_id: str,
        day: str,
        reserved: int,
        rows: int,
        nbytes: int,
        query_digest: str,
        kind: str = "rows",
        refused: YaosuError | None = None,
    ) -> None:
        with transaction(sessions(True)) as m:
            repo.settle(m, grant_id, day, reserved, rows, nbytes)
            if refused is not None:
                repo.count_refusal(m, grant_id, day, refused.code)
            ledger_service.record(
                m,
                "sharing.call_refused" if refused else "sharing.service_called",
                subject.actor,
                [grant_id],
                {"kind": kind, "rows": rows, "bytes": nbytes, "query": query_digest}
                if refused is None
                else {"code": refused.code, "query": query_digest},
            )

    def _fail(self, sessions: Sessions, subject: Subject, a: Admitted, exc: YaosuError) -> None:
        self._settle(
            sessions, subject, a.grant.id, a.day, a.reserved, 0, 0, a.query_digest, refused=exc
        )

    # --- answers ------------------------------------------------------------------------------
    def rows(
        self,
        sessions: Sessions,
        session: Session,
        subject: Subject,
        grant_id: str,
        *,
        fields: Sequence[str] | None,
        params: Mapping[str, Sequence[str]],
        purpose: str | None,
        order: Sequence[tuple[str, bool]],
        limit: int,
        cursor: str | None,
        fmt: str,
        delivery: str = "api",
    ) -> Iterator[bytes]:
        """Stream one page of rows (``delivery`` "file": a whole export under a file grant);
        the call is settled when the stream ends."""
        from yaosu.dataplane.query import RowQuery

        a = self.admit(
            sessions,
            session,
            subject,
            grant_id,
            fields=fields,
            params=params,
            purpose=purpose,
            order=order,
            limit=limit,
            delivery=delivery,
        )
        path = grant_storage_path(a.version)
        q = RowQuery(
            path=path,
            columns=a.projections,
            where=a.where,
            order_by=list(order),
            limit=a.page_limit,
            cursor=cursor,
            scope=_cursor_scope(a),
        )
        try:
            chunks, stats = engine().stream(q, fmt)
        except YaosuError as exc:
            exc = _engine_error(exc)
            self._fail(sessions, subject, a, exc)
            raise exc from None

        def body() -> Iterator[bytes]:
            sent = 0
            try:
                for chunk in chunks:
                    sent += len(chunk)
                    yield chunk
            finally:
                st = stats()
                rows = int(getattr(st, "rows", 0) or 0)
                self._settle(
                    sessions,
                    subject,
                    a.grant.id,
                    a.day,
                    a.reserved,
                    rows,
                    sent,
                    a.query_digest,
                    "export" if delivery == "file" else "rows",
                )

        return body()

    def lookup(
        self,
        sessions: Sessions,
        session: Session,
        subject: Subject,
        grant_id: str,
        *,
        by: str | None,
        key: str,
        fields: Sequence[str] | None,
        purpose: str | None,
    ) -> dict[str, Any] | None:
        """One entity by its key (e.g. a resident ID or a USCC). The key field must be granted
        unmasked: looking up by a hidden value would reveal it. The key text is read as a value
        of the key field's type (integer, float, date, date-time, boolean or text); one that
        does not parse is refused with ``invalid_key``."""
        column = by
        if column is None:
            grant, resource = self._load(session, subject, grant_id)
            try:
                version = self._version(session, resource)
                column = _key_column(session, version, _policy(grant))
            except YaosuError as exc:
                now = self.clock()
                self._refused(
                    sessions, subject, grant.id, day_of(now).isoformat(), exc,
                    digest({"key": [None, key], "delivery": "api"}),
                )  # fmt: skip
                raise
        a = self.admit(
            sessions,
            session,
            subject,
            grant_id,
            fields=fields,
            params={},
            purpose=purpose,
            order=[],
            limit=1,
            key=(column, key),
            count=False,
        )
        from yaosu.dataplane.query import quote_ident

        try:
            found = engine().lookup(
                grant_storage_path(a.version),
                quote_ident(column),
                a.key_value,
                a.projections,
                a.where,
            )
        except YaosuError as exc:
            exc = _engine_error(exc)
            self._meter_failed(sessions, subject, a, exc)
            raise exc from None
        size = len(json.dumps(found, default=str).encode()) if found else 0
        self._meter_once(sessions, subject, a, 1 if found else 0, size)
        return found

    def _meter_once(
        self, sessions: Sessions, subject: Subject, a: Admitted, rows: int, nbytes: int
    ) -> None:
        """Count a short call in one transaction: rate, quota check, usage and its ledger entry.
        A call over the rate or a quota is refused and its answer withheld."""
        quota = a.policy.terms.quota
        rate = quota.rate_per_minute
        refused: YaosuError | None = None
        with transaction(sessions(True)) as m:
            room, oldest = True, None
            if rate is not None:
                room, oldest = repo.rate_room(m, a.grant.id, _us(a.at), rate)
            counted = room and repo.count_call(
                m, a.grant.id, a.day, rows, nbytes, quota.calls_per_day, quota.rows_per_day
            )
            if not room:
                refused = _rate_refusal(rate or 0, a.at, oldest)
                repo.count_refusal(m, a.grant.id, a.day, refused.code)
                ledger_service.record(
                    m,
                    "sharing.call_refused",
                    subject.actor,
                    [a.grant.id],
                    {"code": refused.code, "query": a.query_digest},
                )
            elif not counted:
                usage = repo.usage(m, a.grant.id, a.day)
                calls_left = quota.calls_per_day is None or (
                    usage is None or usage.calls < quota.calls_per_day
                )
                code = "quota_rows_exceeded" if calls_left else "quota_calls_exceeded"
                refused = TooManyRequests(
                    "The grant's daily row quota is used up."
                    if calls_left
                    else "The grant's daily call quota is used up.",
                    "该授权今日数据行数已用完。" if calls_left else "该授权今日调用次数已用完。",
                    code=code,
                    retry_after=_until_midnight(a.at),
                )
                repo.count_refusal(m, a.grant.id, a.day, code)
                ledger_service.record(
                    m,
                    "sharing.call_refused",
                    subject.actor,
                    [a.grant.id],
                    {"code": code, "query": a.query_digest},
                )
            else:
                if rate is not None:
                    repo.record_rate_call(m, a.grant.id, _us(a.at))
                ledger_service.record(
                    m,
                    "sharing.service_called",
                    subject.actor,
                    [a.grant.id],
                    {"kind": "lookup", "rows": rows, "bytes": nbytes, "query": a.query_digest},
                )
        if refused is not None:
            raise refused

    def _meter_failed(
        self, sessions: Sessions, subject: Subject, a: Admitted, exc: YaosuError
    ) -> None:
        """A lookup that failed in the engine: a refusal, counted and in the ledger (it was never
        admitted as a call, so it takes nothing from the quotas or the rate)."""
        self._refused(sessions, subject, a.grant.id, a.day, exc, a.query_digest)

    def schema(self, session: Session, subject: Subject, grant_id: str) -> dict[str, Any]:
        """The granted fields with their types after masking and their Chinese labels."""
        grant, resource = self._load(session, subject, grant_id)
        version = self._version(session, resource)
        policy = served_policy(session, grant, resource, version)
        terms = policy.terms
        labels = {f["name"]: f.get("label_zh", "") for f in resource.fields or []}
        masked = terms.masked
        compiled = _compiled(version, terms.masking)
        return {
            "grant_id": grant.id,
            "resource_id": resource.id,
            "version": {"id": version.id, "number": version.number, "sha256": version.sha256},
            "fields": [
                {
                    "name": f,
                    "label_zh": labels.get(f, ""),
                    "type": compiled[f].column["type"] if f in compiled else None,
                    "masking": masked.get(f),
                }
                for f in terms.fields
            ],
            "row_filter": [c.model_dump(mode="json", by_alias=True) for c in terms.row_filter],
        }


class _Cache:
    """A small bounded memo: parsed policies and compiled columns do not change for a given
    (grant state, version, masking), so calls need not redo them."""

    def __init__(self, size: int = 512) -> None:
        self._items: dict[Any, Any] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                return self._items[key]
        value = make()
        with self._lock:
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[key] = value
        return value


_policies = _Cache()
_served = _Cache()
_kinds = _Cache()
_columns = _Cache()


def _policy(grant: Grant) -> Policy:
    # A grant's policy never changes after issue (its status does, and is read per call).
    return _policies.get(grant.id, lambda: parse_policy(grant.policy))


def served_policy(
    session: Session, grant: Grant, resource: Resource, version: DatasetVersion
) -> Policy:
    """The grant's policy as it applies to the version served now: every personal field of that
    version (as classified and reviewed) among the granted fields that the grant neither masks
    nor released with a lifting that still holds for the field's class (``grant.unmasked``) is
    masked by the resource's default rule. A grant's masking was decided against the
    classification at its issue — possibly before any data, or before a version in which a
    granted field turned out to hold personal information; what it serves is decided against
    the version it serves. The added masking is an ordinary duty of the policy, so filters,
    sorts and lookups on such a field are refused like those on any masked field."""
    policy = _policy(grant)
    terms = policy.terms
    personal = classification_service.personal_masking(session, resource, terms.fields)
    if not personal:
        return policy
    # An automatic grant masks the sensitive fields (001-5), a reviewed one every personal field.
    classes = {"sensitive"} if _auto_approved(session, grant) else {"sensitive", "general"}
    masked = terms.masked
    lifted = grant.unmasked or {}
    extra = {
        f: rule
        for f, (pi_class, rule) in personal.items()
        if pi_class in classes and f not in masked and not lift_holds(lifted.get(f), pi_class)
    }
    if not extra:
        return policy

    def make() -> Policy:
        doc = policy.document()
        first = doc["permission"][0]
        first["duty"] = [
            *first.get("duty", []),
            *(
                {"action": "anonymize", "target": f, "yaosu:masking": rule}
                for f, rule in sorted(extra.items())
            ),
        ]
        return parse_policy(doc)

    return _served.get((grant.id, version.id, digest(extra)), make)


def _auto_approved(session: Session, grant: Grant) -> bool:
    def make() -> bool:
        req = session.get(ShareRequest, grant.request_id) if grant.request_id else None
        return bool(req is not None and req.auto_approved)

    return bool(_kinds.get(grant.id, make))


def _compiled_cached(
    version: DatasetVersion, policy: masking.MaskingPolicy | None
) -> dict[str, masking.CompiledColumn]:
    rules = policy.model_dump_json() if policy is not None else ""
    key = (version.id, rules)
    return _columns.get(key, lambda: _compiled(version, policy))


def _compiled(
    version: DatasetVersion, policy: masking.MaskingPolicy | None
) -> dict[str, masking.CompiledColumn]:
    """Each column of the version as SQL: masked where the policy says, else as it is."""
    if policy is not None and policy.rules:
        compiled = masking.compile_columns(policy, version.columns, masking_service.key())
        return {c.name: c for c in compiled}
    return {
        c["name"]: masking.CompiledColumn(c["name"], filters.quote_ident(c["name"]), [], c, None)
        for c in version.columns
    }


def _typed_key(column: str, text: str, types: Mapping[str, str]) -> Any:
    """A lookup key as a value of its column's type, or ``invalid_key``."""
    column_type = types.get(column)
    if column_type is None:
        raise Invalid(
            f"The key field {column!r} is not in this version of the data.",
            f"该数据版本中没有键字段 {column!r}。",
            code="unknown_field",
        )
    try:
        return filters.parse_literal(text, column_type)
    except ValueError as exc:
        raise _invalid_key(column, column_type, str(exc)) from None


def _cursor_scope(a: Admitted) -> str:
    """What a page cursor is bound to besides the query: the grant, so that a cursor minted
    under one grant is refused under another (even on the same version, order and filter)."""
    return f"grant:{a.grant.id}"


def _engine_error(exc: YaosuError) -> YaosuError:
    """An engine error as the client may see it. A value that does not convert is reported
    without DuckDB's text, which can quote a stored (possibly hidden) value."""
    if exc.code != "bad_value":
        return exc
    return Invalid(
        "A filter or key value does not fit its column's type.",
        "筛选条件或查询键的值与列类型不符。",
        code="bad_value",
    )


def _until_midnight(now: datetime) -> int:
    """Seconds to the next midnight of the node's zone, when the daily quotas renew."""
    return seconds_to_midnight(now)


def _default_purpose(policy: Policy) -> str | None:
    purposes = policy.terms.purposes
    return sorted(purposes)[0] if purposes else None


def _key_column(session: Session, version: DatasetVersion, policy: Policy) -> str:
    """The natural key among the granted fields: a resident ID or credit code field."""
    found = classification_service.key_column(session, version.id, policy.terms.fields)
    if found:
        return found
    raise Invalid(
        "Name the key field with `by`: no resident-ID or credit-code field is granted.",
        "请用 by 参数指定查询键字段：授权字段中没有身份证号或统一社会信用代码。",
        code="key_field_required",
    )


def grant_storage_path(version: DatasetVersion) -> str:
    from yaosu.catalog.service import dataset_service

    return str(dataset_service.storage().path(version.storage_key))


_engines: dict[tuple[str, bytes], Any] = {}
_engine_lock = threading.Lock()


def engine() -> Any:
    """The query engine of this node's storage (one per storage root and node key: tests and
    the CLI switch data directories within one process)."""
    from yaosu.dataplane.query import Engine

    root, key = get_settings().storage_root, derive(get_node_key(), "dataservice-cursor")
    with _engine_lock:
        if (root, key) not in _engines:
            while len(_engines) >= 4:  # keep a few: each holds a DuckDB and lookup caches
                _engines.pop(next(iter(_engines))).close()
            _engines[(root, key)] = Engine(
                key=key, allowed_directories=[root], setup=masking.register_functions
            )
        return _engines[(root, key)]


data_service = DataService()
