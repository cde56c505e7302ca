"""The sandbox SQL checker (沙箱 SQL 校验): pure, no I/O, imports no domain package.

Input: the SQL text a consumer sends, the schema of its compute grant (each granted table's
columns with their column control, SCQL-style) and the grant's disclosure options. Output: a
`CheckedQuery` whose SQL is re-rendered from the checked syntax tree (identifiers resolved and
quoted, comments gone, the ``k`` rule's helper column or filters added), or a `ComputeRefused`
naming the column, the clause and the rule.

Controls, from most to least permissive:
- ``plaintext`` — anything, including row-level output (when the grant allows row output);
- ``group_by`` — a grouping key, a filter, or inside aggregates; output only in grouped queries;
- ``aggregate`` — only inside aggregate functions (COUNT, SUM, AVG, STDDEV…); MIN, MAX, MEDIAN,
  MODE and quantiles disclose one entity's exact value and are refused unless the grant sets
  ``extremes`` (then the ``k`` rule still applies to their groups);
- ``join_key`` — only in equality join conditions and equality filters (and COUNT of it); never
  output, transformed, grouped, ordered or partitioned by;
- ``hidden`` — never referenced.

The analysis follows each column through every scope (CTEs, derived tables, set operations,
IN subqueries): a column of a subquery carries the most restrictive control of the columns
its expression reads, so a control cannot be shed by renaming, casting, hashing or wrapping it
in CASE. An aggregated scope's outputs are released values (plaintext); every aggregated scope
is held to the ``k`` rule — inner ones by a HAVING filter, the outermost by a counted helper
column the caller strips after suppressing groups below ``k``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from yaosu.kit.errors import Forbidden, Invalid

__all__ = [
    "K_COLUMN",
    "CheckedQuery",
    "ComputeRefused",
    "Control",
    "Disclosure",
    "TableSchema",
    "check",
]

DIALECT = "duckdb"
MAX_SQL_CHARS = 20_000
K_COLUMN = "__yaosu_k"
_HELPER_PREFIX = "__yaosu"


class Control(enum.IntEnum):
    """A column control; a higher value is more restrictive."""

    PLAINTEXT = 0
    GROUP_BY = 1
    AGGREGATE = 2
    JOIN_KEY = 3
    HIDDEN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Control) -> Control:
        if isinstance(value, Control):
            return value
        return cls[value.upper()]


@dataclass(frozen=True)
class TableSchema:
    """A granted table as the sandbox shows it: column → control, and the entity key column
    (身份主键, the grant's unit of disclosure) whose distinct values the ``k`` rule counts."""

    columns: Mapping[str, Control | str]
    entity_key: str | None = None
    # The most rows one entity has in this table's (immutable) version, from its profile: 1
    # for a register of persons (every row is one entity: the key is unique and never null),
    # more for a ledger of their payments; None when unknown. With 1, the k count of a scope
    # reading only this table is COUNT(*) instead of COUNT(DISTINCT key); with any bound, the
    # count can first be bounded from below by COUNT(key) / bound.
    entity_max_rows: int | None = None


@dataclass(frozen=True)
class Disclosure:
    """Disclosure options of a compute grant."""

    k: int = 10
    row_level: bool = False
    extremes: bool = False


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # what the sandbox runs: re-rendered, with the k rule applied
    aggregated: bool  # the output rows are groups (False: row-level output)
    k_column: str | None  # helper column to filter on (>= k) and strip, when present
    k: int
    columns: list[str]  # output column names, helper excluded
    tables: list[str]  # granted tables the query reads
    reads: dict[str, list[str]] = field(default_factory=dict)  # table → columns read
    # The same query with a cheap lower bound of the entity count in the helper column (known
    # rows-per-entity bounds): when every group clears k on it, the exact count is not needed.
    fast_sql: str | None = None


class ComputeRefused(Forbidden):
    """A sandbox query was refused before it ran; ``details`` name column, clause and rule."""

    code = "compute_refused"

    def __init__(self, code: str, message: str, message_zh: str, **details: Any) -> None:
        super().__init__(message, message_zh, code=code, **details)


class ComputeSyntaxError(Invalid):
    code = "compute_syntax_error"

    def __init__(self, message: str, message_zh: str, **details: Any) -> None:
        super().__init__(message, message_zh, **details)


# --- function allow-list ------------------------------------------------------------------
# sqlglot expression keys (lower-case class names) and, for functions sqlglot does not model,
# DuckDB names. Anything else — read_*, glob, getenv, current_setting, duckdb_*, list builders
# that would carry individual values out (LIST, STRING_AGG, ARG_MAX, ANY_VALUE, FIRST…) — is
# refused.
_AGGREGATES = {
    "count", "sum", "avg", "min", "max", "stddev", "stddevpop", "stddevsamp", "variance",
    "variancepop", "corr", "covarpop", "covarsamp", "approxdistinct", "median", "mode",
    "percentilecont", "percentiledisc", "quantile", "countif", "logicaland", "logicalor",
}  # fmt: skip
# Aggregates whose value is one entity's exact value.
_EXTREMES = {"min", "max", "median", "mode", "percentilecont", "percentiledisc", "quantile"}
_WINDOW_ONLY = {
    "rownumber", "rank", "denserank", "ntile", "lag", "lead", "firstvalue", "lastvalue",
    "percentrank", "cumedist", "nthvalue",
}  # fmt: skip
_SCALARS = {
    "abs", "round", "floor", "ceil", "sqrt", "ln", "log", "exp", "pow", "sign", "trunc",
    "greatest", "least", "coalesce", "nullif", "if", "case", "cast", "trycast", "lower", "upper",
    "length", "substring", "concat", "concatws", "trim", "replace", "left", "right", "pad",
    "strposition", "startswith", "contains", "regexplike", "regexpextract", "timestamptrunc",
    "datetrunc", "year", "month", "day", "quarter", "week", "dayofweek", "extract",
    "timetostr", "strtotime", "currentdate", "datediff", "dateadd", "datesub", "md5", "sha2",
    "sha", "timetounix", "unixtotime", "datefromparts", "date", "todays", "interval",
}  # fmt: skip
_ANONYMOUS = {"hash", "date_part", "datepart", "md5_number", "bit_count", "sha1"}
_FUNCTIONS = _AGGREGATES | _WINDOW_ONLY | _SCALARS

# Statements and constructs that are never part of a sandbox query.
_CONSTRUCTS: dict[type[exp.Expression], tuple[str, str]] = {
    exp.Lateral: ("LATERAL", "LATERAL 子查询"),
    exp.TableSample: ("TABLESAMPLE / USING SAMPLE", "抽样子句"),
    exp.Unnest: ("UNNEST", "UNNEST"),
    exp.Values: ("VALUES", "VALUES"),
    exp.Placeholder: ("parameters", "参数占位符"),
    exp.Parameter: ("parameters", "参数"),
    exp.SessionParameter: ("session parameters", "会话参数"),
    exp.Into: ("SELECT INTO", "SELECT INTO"),
    exp.Lock: ("FOR UPDATE / FOR SHARE", "锁定子句"),
    exp.Pivot: ("PIVOT / UNPIVOT", "PIVOT / UNPIVOT"),
    exp.Lambda: ("lambda functions", "lambda 函数"),
    exp.Exists: ("EXISTS subqueries (use a join)", "EXISTS 子查询（请改用连接）"),
}

_CLAUSES = {
    "expressions": ("SELECT", "SELECT"),
    "where": ("WHERE", "WHERE"),
    "joins": ("JOIN ON", "JOIN ON"),
    "group": ("GROUP BY", "GROUP BY"),
    "having": ("HAVING", "HAVING"),
    "qualify": ("QUALIFY", "QUALIFY"),
    "order": ("ORDER BY", "ORDER BY"),
    "windows": ("WINDOW", "WINDOW"),
    "distinct": ("DISTINCT ON", "DISTINCT ON"),
}
_SELECT_ARGS_OK = set(_CLAUSES) | {"from_", "from", "with_", "with", "limit", "offset", "kind"}

_RULES: dict[str, tuple[str, str]] = {
    "hidden": ("hidden columns may not be referenced", "隐藏列不得被引用"),
    "join_key_output": (
        "join keys are never output, transformed or used outside equality joins and filters",
        "连接键只能用于等值连接和等值过滤，不得输出或变换",
    ),
    "join_key_equality": (
        "a join key may only be compared for equality with another join key or a literal",
        "连接键只能与另一连接键或常量作等值比较",
    ),
    "aggregate_only": (
        "this column may only be used inside aggregate functions",
        "该列只能在聚合函数中使用",
    ),
    "extremes": (
        "MIN, MAX, MEDIAN, MODE and quantiles disclose one entity's value; this grant does not "
        "allow them on aggregate-only columns",
        "MIN、MAX、中位数、众数和分位数会披露单个主体的取值，本授权不允许对仅聚合列使用",
    ),
    "group_by_output": (
        "group-by columns may be output only in grouped queries",
        "分组列只能在分组（聚合）查询中输出",
    ),
    "row_level": (
        "this grant allows aggregate results only, not row-level output",
        "本授权只允许输出聚合结果，不允许输出明细行",
    ),
    "limit_in_subquery": (
        "LIMIT and OFFSET are allowed only on the final result (they single out rows)",
        "LIMIT 与 OFFSET 只能用于最终结果（否则可定位单行）",
    ),
    "aggregate_condition": (
        "inside an aggregate, only aggregate-only columns may be computed on or tested; "
        "filter rows with WHERE (the k rule then counts what is left)",
        "聚合函数内部只能对仅聚合列进行计算或条件判断；"
        "请用 WHERE 过滤行（最小分组规则会计入过滤后的主体）",
    ),
    "in_subquery": (
        "an IN subquery may only return join keys, group-by or plaintext columns",
        "IN 子查询只能返回连接键、分组列或明文列",
    ),
}


def _refuse(code: str, en: str, zh: str, **details: Any) -> ComputeRefused:
    return ComputeRefused(code, en, zh, **details)


def _flow(column: str, clause: tuple[str, str], rule: str, control: Control) -> ComputeRefused:
    en, zh = _RULES[rule]
    return _refuse(
        "compute_forbidden_flow",
        f"Column {column} ({control.label}) may not be used in {clause[0]}: {en}.",
        f"列 {column}（{control.label}）不得用于 {clause[1]}：{zh}。",
        column=column,
        clause=clause[0],
        rule=rule,
        control=control.label,
    )


# --- entry point -------------------------------------------------------------------------


def check(
    sql: str, schema: Mapping[str, TableSchema], disclosure: Disclosure | None = None
) -> CheckedQuery:
    """Check ``sql`` against the grant's ``schema``; return what to run, or raise."""
    try:
        return _check(sql, schema, disclosure or Disclosure())
    except (ComputeRefused, ComputeSyntaxError):
        raise
    except Exception as exc:
        # Fail closed: a shape the analysis does not understand is refused, never run.
        raise _refuse(
            "compute_forbidden_construct",
            f"The query could not be analysed ({type(exc).__name__}); simplify it.",
            f"无法分析该查询（{type(exc).__name__}），请简化后重试。",
            construct="unanalysable",
        ) from exc


def _check(sql: str, schema: Mapping[str, TableSchema], disclosure: Disclosure) -> CheckedQuery:
    if len(sql) > MAX_SQL_CHARS:
        raise _refuse(
            "compute_query_too_long",
            f"The query is longer than {MAX_SQL_CHARS} characters.",
            f"查询超过 {MAX_SQL_CHARS} 个字符。",
        )
    tables = _normalize_schema(schema)
    statement = _parse(sql)
    _check_nodes(statement, tables)
    try:
        statement = qualify(
            statement,
            schema={name: {c: "TEXT" for c in t.columns} for name, t in tables.items()},
            dialect=DIALECT,
            validate_qualify_columns=False,
            quote_identifiers=False,
            expand_stars=False,
        )
    except SqlglotError as exc:
        if "column" in str(exc).lower():
            raise _refuse(
                "compute_unknown_column",
                f"A column is not part of this grant: {exc}",
                f"有列不在本授权范围内：{exc}",
            ) from exc
        raise ComputeSyntaxError(
            f"The query could not be resolved: {exc}", f"无法解析查询中的名称：{exc}"
        ) from exc
    root = build_scope(statement)
    if root is None:
        raise _refuse(
            "compute_forbidden_statement",
            "Only a single SELECT query is allowed.",
            "只允许单条 SELECT 查询。",
            statement=type(statement).__name__.upper(),
        )
    analysis = _Analysis(root, tables, disclosure)
    analysis.run()
    # Render names exactly as the schema spells them, so the engine resolves the very tables
    # and columns that were checked (DuckDB and Python fold case differently beyond ASCII).
    ctes = {_norm(cte.alias) for cte in statement.find_all(exp.CTE)}
    for table_node in statement.find_all(exp.Table):
        granted = tables.get(_norm(table_node.name))
        if granted is not None and _norm(table_node.name) not in ctes:
            table_node.set("this", exp.to_identifier(granted.name, quoted=True))
    rewriter = _Rewriter(analysis)
    k_column = rewriter.apply()
    sql_text = statement.sql(dialect=DIALECT, identify=True, comments=False)
    fast_sql = None
    if rewriter.fast_edits:
        for edit in rewriter.fast_edits:
            edit()
        fast_sql = statement.sql(dialect=DIALECT, identify=True, comments=False)
    info = analysis.info[id(root.expression)]
    columns = [c for c in info.outputs if c != K_COLUMN]
    return CheckedQuery(
        sql=sql_text,
        fast_sql=fast_sql,
        aggregated=not info.carries_rows,
        k_column=k_column,
        k=disclosure.k,
        columns=columns,
        tables=sorted(analysis.reads),
        reads={t: sorted(c) for t, c in sorted(analysis.reads.items())},
    )


@dataclass(frozen=True)
class _Table:
    columns: dict[str, Control]
    entity_key: str | None
    entity_max_rows: int | None = None
    name: str = ""  # as the schema spells it (the view's name)
    spelled: dict[str, str] = field(default_factory=dict)  # column, normalized → as spelled


def _norm(name: str) -> str:
    # DuckDB resolves identifiers case-insensitively, quoted or not; sqlglot's duckdb dialect
    # normalizes the same way, so the schema is compared in lower case.
    return name.lower()


def _normalize_schema(schema: Mapping[str, TableSchema]) -> dict[str, _Table]:
    out: dict[str, _Table] = {}
    for name, table in schema.items():
        columns = {_norm(c): Control.parse(v) for c, v in table.columns.items()}
        key = _norm(table.entity_key) if table.entity_key else None
        spelled = {_norm(c): c for c in table.columns}
        bound = table.entity_max_rows if key and table.entity_max_rows else None
        out[_norm(name)] = _Table(columns, key, bound, name, spelled)
    return out


def _parse(sql: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=DIALECT) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise ComputeSyntaxError(
            f"The query is not valid SQL: {first.get('description', exc)} "
            f"(line {first.get('line', '?')}, column {first.get('col', '?')}).",
            f"查询不是合法的 SQL：{first.get('description', exc)}"
            f"（第 {first.get('line', '?')} 行第 {first.get('col', '?')} 列）。",
            line=first.get("line"),
            col=first.get("col"),
        ) from exc
    except SqlglotError as exc:  # tokenizer errors
        raise ComputeSyntaxError(
            f"The query is not valid SQL: {exc}", f"查询不是合法的 SQL：{exc}"
        ) from exc
    if len(statements) != 1:
        raise _refuse(
            "compute_forbidden_statement",
            f"Exactly one statement is allowed; the text holds {len(statements)}.",
            f"只允许一条语句，提交的文本包含 {len(statements)} 条。",
            statements=len(statements),
        )
    statement = statements[0]
    if not isinstance(statement, exp.Select | exp.SetOperation):
        kind = (
            statement.name.upper()
            if isinstance(statement, exp.Command)
            else type(statement).__name__.upper()
        )
        raise _refuse(
            "compute_forbidden_statement",
            f"Only a read-only SELECT query is allowed, not {kind}.",
            f"只允许只读的 SELECT 查询，不允许 {kind}。",
            statement=kind,
        )
    return statement


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.key


def _check_nodes(statement: exp.Expression, tables: dict[str, _Table]) -> None:
    """Statement-wide checks before names are resolved: constructs, functions, tables."""
    ctes = {_norm(cte.alias) for cte in statement.find_all(exp.CTE)}
    if ctes & set(tables):
        shadow = sorted(ctes & set(tables))[0]
        raise _refuse(
            "compute_forbidden_construct",
            f"A WITH query may not take the name of the granted table {shadow}.",
            f"WITH 子查询不得使用已授权表 {shadow} 的名称。",
            construct="WITH",
        )
    for node in statement.walk():
        for kind, (en, zh) in _CONSTRUCTS.items():
            if isinstance(node, kind):
                raise _refuse(
                    "compute_forbidden_construct",
                    f"{en} is not allowed in a sandbox query.",
                    f"沙箱查询不允许使用 {zh}。",
                    construct=en,
                )
        if isinstance(node, exp.Command | exp.DDL | exp.DML) or (
            isinstance(node, exp.Expression)
            and type(node).__name__ in {"Pragma", "Set", "Attach", "Detach", "Install", "Copy"}
        ):
            raise _refuse(
                "compute_forbidden_statement",
                "Only a read-only SELECT query is allowed.",
                "只允许只读的 SELECT 查询。",
                statement=type(node).__name__.upper(),
            )
        if isinstance(node, exp.Table):
            _check_table(node, tables, ctes)
        elif isinstance(node, exp.Func) and not isinstance(node, exp.Binary | exp.Unary):
            # Operators (AND, OR, =, +, ||, LIKE, NOT…) are Func subclasses in sqlglot too.
            name = _function_name(node)
            if name not in _FUNCTIONS and not (
                isinstance(node, exp.Anonymous) and name in _ANONYMOUS
            ):
                shown = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
                raise _refuse(
                    "compute_forbidden_function",
                    f"Function {shown} is not on the sandbox allow-list.",
                    f"函数 {shown} 不在沙箱允许列表中。",
                    function=shown,
                )
        elif isinstance(node, exp.Join) and (node.args.get("using") or node.method):
            raise _refuse(
                "compute_forbidden_construct",
                "NATURAL joins and JOIN … USING are not allowed: write ON a.x = b.x.",
                "不允许 NATURAL 连接和 JOIN … USING：请写 ON a.x = b.x。",
                construct="NATURAL / USING",
            )
        elif isinstance(node, exp.Identifier) and str(node.this).lower().startswith(_HELPER_PREFIX):
            raise _refuse(
                "compute_unknown_column",
                f"Names starting with {_HELPER_PREFIX} are reserved.",
                f"以 {_HELPER_PREFIX} 开头的名称为保留名称。",
                column=node.this,
            )
    for node in statement.find_all(exp.Star):
        if not isinstance(node.parent, exp.Count):
            raise _refuse(
                "compute_forbidden_star",
                "SELECT * is not allowed: name the columns you need.",
                "不允许 SELECT *：请列出需要的列。",
            )
    for select in statement.find_all(exp.Select):
        extra = {k for k, v in select.args.items() if v and k not in _SELECT_ARGS_OK}
        if extra:
            raise _refuse(
                "compute_forbidden_construct",
                f"Clause {sorted(extra)[0].upper()} is not allowed in a sandbox query.",
                f"沙箱查询不允许使用 {sorted(extra)[0].upper()} 子句。",
                construct=sorted(extra)[0].upper(),
            )
        for arg in ("limit", "offset"):
            clause = select.args.get(arg)
            if clause is not None and not all(
                isinstance(n, exp.Literal | exp.Limit | exp.Offset) for n in clause.walk()
            ):
                raise _refuse(
                    "compute_forbidden_construct",
                    f"{arg.upper()} must be a number.",
                    f"{arg.upper()} 必须是数字。",
                    construct=arg.upper(),
                )


def _check_table(node: exp.Table, tables: dict[str, _Table], ctes: set[str]) -> None:
    if not isinstance(node.this, exp.Identifier):
        inner = node.this
        shown = (
            inner.name
            if isinstance(inner, exp.Anonymous)
            else inner.sql_name()
            if isinstance(inner, exp.Func)
            else type(inner).__name__
        )
        raise _refuse(
            "compute_forbidden_function",
            f"Table function {shown} is not allowed: only the granted tables can be read.",
            f"不允许表函数 {shown}：只能读取已授权的表。",
            function=shown,
        )
    name = _norm(node.name)
    if node.args.get("db") or node.args.get("catalog") or (name not in tables and name not in ctes):
        shown = ".".join(p.name for p in node.parts)
        raise _refuse(
            "compute_unknown_table",
            f"Table {shown} is not part of this grant.",
            f"表 {shown} 不在本授权范围内。",
            table=shown,
        )


# --- the data-flow analysis -------------------------------------------------------------


@dataclass
class _ScopeInfo:
    aggregated: bool = False
    carries_rows: bool = False  # rows of this scope are rows of granted tables (not groups)
    final: bool = False
    outputs: dict[str, Control] = field(default_factory=dict)
    # How each output was made: "bare" (a column passed through), "value" (computed from
    # aggregate-only columns and constants), "computed" (anything else).
    purity: dict[str, str] = field(default_factory=dict)
    entity: list[str] | None = None  # injected entity columns, once computed


@dataclass
class _Use:
    column: exp.Column
    control: Control
    shown: str
    clause: tuple[str, str]
    in_agg: exp.Func | None
    bare: bool  # the column is the whole item of its clause (projection or key)
    other: Control | None = None  # control of the column it is compared with for equality


def _is_real_aggregate(node: Any) -> bool:
    if not isinstance(node, exp.AggFunc) or node.key in _WINDOW_ONLY:
        return False
    parent = node.parent
    return not (isinstance(parent, exp.Window) and parent.this is node)


def _walk_scope(node: exp.Expression) -> Iterator[exp.Expression]:
    """Nodes of one scope: stop at nested queries (they are scopes of their own)."""
    yield node
    for child in node.iter_expressions():
        if isinstance(child, exp.Query | exp.Subquery | exp.With):
            continue
        yield from _walk_scope(child)


class _Analysis:
    def __init__(self, root: Scope, tables: dict[str, _Table], disclosure: Disclosure) -> None:
        self.root = root
        self.tables = tables
        self.disclosure = disclosure
        self.info: dict[int, _ScopeInfo] = {}
        self.scopes: list[Scope] = []
        self.reads: dict[str, set[str]] = {}

    def run(self) -> None:
        self.scopes = list(self.root.traverse())
        self._mark_final(self.root)
        for scope in self.scopes:  # children before parents
            if isinstance(scope.expression, exp.SetOperation):
                self._union(scope)
            else:
                self._select(scope)

    def _mark_final(self, scope: Scope) -> None:
        self.info.setdefault(id(scope.expression), _ScopeInfo()).final = True
        if isinstance(scope.expression, exp.SetOperation):
            for branch in scope.set_operation_scopes:
                self._mark_final(branch)

    def scope_info(self, scope: Scope) -> _ScopeInfo:
        return self.info.setdefault(id(scope.expression), _ScopeInfo())

    def _union(self, scope: Scope) -> None:
        info = self.scope_info(scope)
        left, right = (self.scope_info(s) for s in scope.set_operation_scopes)
        info.aggregated = left.aggregated and right.aggregated
        info.carries_rows = left.carries_rows or right.carries_rows
        rights = list(right.outputs.values())
        info.outputs = {
            name: max(ctl, rights[i]) if i < len(rights) else ctl
            for i, (name, ctl) in enumerate(left.outputs.items())
        }

    # -- one SELECT scope
    def _select(self, scope: Scope) -> None:
        select = scope.expression
        assert isinstance(select, exp.Select)
        info = self.scope_info(scope)
        if not info.final and (select.args.get("limit") or select.args.get("offset")):
            raise _refuse(
                "compute_forbidden_flow",
                "LIMIT and OFFSET are allowed only on the final result.",
                "LIMIT 与 OFFSET 只能用于最终结果。",
                clause="LIMIT",
                rule="limit_in_subquery",
            )
        info.aggregated = bool(select.args.get("group")) or any(
            _is_real_aggregate(n)
            for arg in ("expressions", "having", "order")
            for item in _as_list(select.args.get(arg))
            for n in _walk_scope(item)
        )
        row_sources = False
        for _node, source in scope.selected_sources.values():
            if isinstance(source, exp.Table):
                row_sources = True
            else:
                row_sources = row_sources or self.scope_info(source).carries_rows
        info.carries_rows = row_sources and not info.aggregated

        aliases: dict[str, Control] = {}
        for item in select.expressions:
            uses = list(self._uses(scope, item, _CLAUSES["expressions"], aliases))
            for use in uses:
                self._judge(use, info)
            raw = [u.control for u in uses if u.in_agg is None]
            derived = Control.PLAINTEXT if info.aggregated else max(raw, default=Control.PLAINTEXT)
            aliases[_norm(item.alias_or_name)] = derived
            info.purity[_norm(item.alias_or_name)] = (
                "bare" if info.aggregated else self._purity_of(scope, item, uses)
            )
        info.outputs = dict(aliases)
        for node in _walk_scope(select):
            if _is_real_aggregate(node):
                self._check_aggregate_inputs(scope, node, aliases)
        for arg, clause in _CLAUSES.items():
            if arg == "expressions":
                continue
            for item in _as_list(select.args.get(arg)):
                target = item.args.get("on") if isinstance(item, exp.Join) else item
                if target is None:
                    continue
                for use in self._uses(scope, target, clause, aliases):
                    self._judge(use, info)
        if scope.is_subquery:
            self._check_expression_subquery(scope)
        if info.final and info.carries_rows and not self.disclosure.row_level:
            en, zh = _RULES["row_level"]
            raise _refuse(
                "compute_forbidden_flow",
                f"The query returns rows, not groups: {en}. Aggregate it (GROUP BY, COUNT, SUM…).",
                f"查询返回明细行而非分组：{zh}。请使用聚合（GROUP BY、COUNT、SUM 等）。",
                clause="SELECT",
                rule="row_level",
            )

    def _purity_of(self, scope: Scope, item: exp.Expression, uses: list[_Use]) -> str:
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(inner, exp.Column):
            return self._column_purity(scope, inner)
        if uses and all(
            u.control == Control.AGGREGATE
            and self._column_purity(scope, u.column) in {"bare", "value"}
            for u in uses
        ):
            return "value"
        return "computed" if uses else "value"

    def _column_purity(self, scope: Scope, column: exp.Column) -> str:
        selected = scope.selected_sources.get(_norm(column.table)) if column.table else None
        if selected is None or isinstance(selected[1], exp.Table):
            return "bare"
        return self.scope_info(selected[1]).purity.get(_norm(column.name), "computed")

    def _check_aggregate_inputs(
        self, scope: Scope, agg: exp.Expression, aliases: Mapping[str, Control]
    ) -> None:
        """Inside an aggregate, only aggregate-only columns may be computed on or conditioned
        on. ``sum(CASE WHEN name = 'x' THEN salary END)`` or ``sum(salary) FILTER (WHERE
        name = 'x')`` would aggregate over one person inside a group of k (a tracker); the
        same narrowing belongs in WHERE, where the k rule counts it."""
        parent = agg.parent
        condition = parent.expression if isinstance(parent, exp.Filter) else None
        args = [a for a in agg.iter_expressions() if not isinstance(a, exp.Order)]
        bare = condition is None and all(
            isinstance(a, exp.Column | exp.Literal | exp.Star)
            or (
                isinstance(a, exp.Distinct)
                and all(isinstance(x, exp.Column) for x in a.expressions)
            )
            for a in args
        )
        parts: list[exp.Expression] = [*args, *([condition] if condition is not None else [])]
        for part in parts:
            for column in (n for n in _walk_scope(part) if isinstance(n, exp.Column)):
                if not column.table:
                    continue  # an output alias (ORDER BY, HAVING): released values
                control, shown = self._resolve(scope, column, aliases, _CLAUSES["expressions"])
                purity = self._column_purity(scope, column)
                if purity == "computed" or (
                    not bare
                    and (control != Control.AGGREGATE or purity != "bare")
                    and not (control == Control.AGGREGATE and purity == "value")
                ):
                    raise _flow(shown, _CLAUSES["expressions"], "aggregate_condition", control)

    def _check_expression_subquery(self, scope: Scope) -> None:
        node = scope.expression
        parent = node.parent
        if isinstance(parent, exp.Subquery):
            parent = parent.parent
        if not isinstance(parent, exp.In) or not _in_filter(parent):
            raise _refuse(
                "compute_forbidden_construct",
                "Subqueries are allowed in FROM, JOIN, WITH and as IN (…) in WHERE or ON only.",
                "子查询只能用于 FROM、JOIN、WITH，或在 WHERE/ON 中作为 IN (…)。",
                construct="subquery",
            )
        outputs = list(self.scope_info(scope).outputs.values())
        if any(c == Control.AGGREGATE for c in outputs):
            en, zh = _RULES["in_subquery"]
            raise _refuse(
                "compute_forbidden_flow",
                f"IN subquery: {en}.",
                f"IN 子查询：{zh}。",
                clause="WHERE",
                rule="in_subquery",
            )

    def _uses(
        self,
        scope: Scope,
        node: exp.Expression,
        clause: tuple[str, str],
        aliases: Mapping[str, Control],
    ) -> Iterator[_Use]:
        item = node.this if isinstance(node, exp.Alias | exp.Ordered) else node
        for sub in _walk_scope(node):
            if not isinstance(sub, exp.Column):
                continue
            control, shown = self._resolve(scope, sub, aliases, clause)
            other = _equality_other(sub)
            other_control = (
                self._resolve(scope, other, aliases, clause)[0]
                if isinstance(other, exp.Column)
                else None
            )
            yield _Use(
                sub,
                control,
                shown,
                clause,
                _enclosing_aggregate(sub, node),
                sub is item,
                other_control,
            )

    def _resolve(
        self,
        scope: Scope,
        column: exp.Column,
        aliases: Mapping[str, Control],
        clause: tuple[str, str],
    ) -> tuple[Control, str]:
        name = _norm(column.name)
        qualifier = _norm(column.table) if column.table else ""
        if not qualifier:
            if clause[0] != "SELECT" and name in aliases:
                return aliases[name], column.name
            raise self._unknown_column(column.sql(dialect=DIALECT))
        selected = scope.selected_sources.get(qualifier)
        source = selected[1] if selected else None
        if source is None:
            if self._in_outer_scope(scope, qualifier):
                raise _refuse(
                    "compute_forbidden_construct",
                    "Correlated subqueries are not allowed: use a join.",
                    "不允许相关子查询：请改用连接。",
                    construct="correlated subquery",
                )
            raise self._unknown_column(column.sql(dialect=DIALECT))
        if isinstance(source, exp.Table):
            table = self.tables.get(_norm(source.name))
            if table is None or name not in table.columns:
                raise self._unknown_column(f"{source.name}.{column.name}")
            self.reads.setdefault(_norm(source.name), set()).add(name)
            column.set("this", exp.to_identifier(table.spelled[name], quoted=True))
            return table.columns[name], f"{source.name}.{column.name}"
        outputs = self.scope_info(source).outputs
        if name not in outputs:
            raise self._unknown_column(f"{qualifier}.{column.name}")
        return outputs[name], f"{qualifier}.{column.name}"

    def _in_outer_scope(self, scope: Scope, qualifier: str) -> bool:
        parent = scope.parent
        while parent is not None:
            if qualifier in parent.selected_sources:
                return True
            parent = parent.parent
        return False

    @staticmethod
    def _unknown_column(shown: str) -> ComputeRefused:
        return _refuse(
            "compute_unknown_column",
            f"Column {shown} is not part of this grant (or is ambiguous).",
            f"列 {shown} 不在本授权范围内（或有歧义）。",
            column=shown,
        )

    def _judge(self, use: _Use, info: _ScopeInfo) -> None:
        ctl, clause = use.control, use.clause
        where = clause[0] in {"WHERE", "JOIN ON"}
        if ctl == Control.HIDDEN:
            raise _flow(use.shown, clause, "hidden", ctl)
        if use.in_agg is not None:
            agg = use.in_agg.key
            if ctl == Control.JOIN_KEY and not (
                agg == "count" and _direct_argument(use.column, use.in_agg)
            ):
                raise _flow(use.shown, clause, "join_key_output", ctl)
            if ctl == Control.AGGREGATE and agg in _EXTREMES and not self.disclosure.extremes:
                raise _flow(use.shown, clause, "extremes", ctl)
            return
        if ctl == Control.JOIN_KEY:
            if where and _equality_operand(use.column):
                if use.other is not None and use.other != Control.JOIN_KEY:
                    raise _flow(use.shown, clause, "join_key_equality", ctl)
                return
            if clause[0] == "SELECT" and use.bare and not info.final and not info.aggregated:
                return  # passed through a subquery untouched; keeps its control
            raise _flow(use.shown, clause, "join_key_output", ctl)
        if ctl == Control.AGGREGATE:
            if clause[0] == "SELECT" and not info.final and not info.aggregated:
                return  # a row-level subquery column; still aggregate-only downstream
            raise _flow(use.shown, clause, "aggregate_only", ctl)
        if ctl == Control.GROUP_BY:
            if info.aggregated or not info.final:
                return
            if clause[0] in {"SELECT", "ORDER BY", "DISTINCT ON", "WINDOW"}:
                raise _flow(use.shown, clause, "group_by_output", ctl)


def _as_list(value: Any) -> list[exp.Expression]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, exp.Group | exp.Order):
        out: list[exp.Expression] = []
        for key in ("expressions", "grouping_sets", "cube", "rollup"):
            out.extend(_as_list(value.args.get(key)))
        return out
    if isinstance(value, exp.Distinct):
        on = value.args.get("on")
        return [on] if on is not None else []
    return [value]


def _enclosing_aggregate(column: exp.Expression, root: exp.Expression) -> exp.Func | None:
    node: Any = column
    while node is not None and node is not root.parent:
        if isinstance(node, exp.Func) and _is_real_aggregate(node):
            return node
        if isinstance(node, exp.Filter) and _is_real_aggregate(node.this):
            return node.this
        node = node.parent
    return None


def _direct_argument(column: exp.Column, func: exp.Func) -> bool:
    parent = column.parent
    if isinstance(parent, exp.Distinct):
        parent = parent.parent
    return parent is func


def _equality_operand(column: exp.Column) -> bool:
    parent = column.parent
    if isinstance(parent, exp.EQ):
        other = parent.expression if parent.this is column else parent.this
        ok = isinstance(other, exp.Column | exp.Literal)
    elif isinstance(parent, exp.In) and parent.this is column:
        ok = bool(parent.args.get("query")) or all(
            isinstance(v, exp.Literal) for v in parent.expressions
        )
    else:
        return False
    return ok and _only_connectives_above(parent)


def _equality_other(column: exp.Column) -> exp.Expression | None:
    parent = column.parent
    if isinstance(parent, exp.EQ):
        return parent.expression if parent.this is column else parent.this
    return None


def _only_connectives_above(node: exp.Expression) -> bool:
    parent = node.parent
    while isinstance(parent, exp.And | exp.Or | exp.Paren):
        parent = parent.parent
    return isinstance(parent, exp.Where | exp.Join)


def _in_filter(node: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        if isinstance(parent, exp.Where | exp.Join):
            return True
        parent = parent.parent
    return False


# --- the k rule rewrite ---------------------------------------------------------------


class _Rewriter:
    """Adds the k rule: every aggregated scope counts the distinct entities behind each group.

    Row-level scopes that feed an aggregated one pass their sources' entity keys through as
    helper columns; an inner aggregated scope keeps only groups of at least k entities (HAVING);
    the outermost aggregated SELECT gets a helper column with the count, so the caller can
    report how many groups it suppressed."""

    def __init__(self, analysis: _Analysis) -> None:
        self.a = analysis
        self.k = analysis.disclosure.k
        # Edits that turn the rendered exact query into its lower-bound form (fast_sql).
        self.fast_edits: list[Callable[[], None]] = []
        self.inner_bounds: dict[int, tuple[exp.Select, exp.GTE, exp.Expression, int]] = {}

    def apply(self) -> str | None:
        k_column = None
        for scope in self.a.scopes:
            info = self.a.scope_info(scope)
            if isinstance(scope.expression, exp.SetOperation) or not info.aggregated:
                continue
            select = scope.expression
            entities = self._source_entities(scope)
            if not entities:
                if any(
                    isinstance(s, exp.Table) or self.a.scope_info(s).carries_rows
                    for _n, s in scope.selected_sources.values()
                ):
                    raise _refuse(
                        "compute_k_unsupported",
                        "The k rule cannot be applied: the tables read have no entity key.",
                        "无法执行最小分组规则：所读的表没有主体标识列。",
                    )
                continue  # only aggregated sources, each already at least k
            bound = self._multiplicity(scope) if len(entities) == 1 else None
            if bound == 1:
                # A register: every row is one entity, so the rows are the entities and the
                # key column need not even be read.
                count: exp.Expression = exp.Count(this=exp.Star())
            else:
                count = _least([exp.Count(this=exp.Distinct(expressions=[e])) for e in entities])
            assert isinstance(select, exp.Select)
            if scope is self.a.root:
                helper = exp.alias_(count, K_COLUMN, quoted=True)
                select.select(helper, copy=False)
                if bound is not None and bound > 1:
                    added = select.expressions[-1]
                    lower = _lower_bound(entities[0], bound)

                    def swap(added: exp.Expression = added, lower: exp.Expression = lower) -> None:
                        added.set("this", lower)

                    self.fast_edits.append(swap)
                k_column = K_COLUMN
                info.outputs[K_COLUMN] = Control.PLAINTEXT
            else:
                condition = exp.GTE(this=count, expression=exp.Literal.number(self.k))
                select.having(condition, copy=False)
                if bound is not None and bound > 1:
                    self.inner_bounds[id(select)] = (select, condition, entities[0], bound)
        self._bound_inner_groups()
        return k_column

    def _bound_inner_groups(self) -> None:
        """The window-over-groups shape: a row-level final SELECT over aggregated sources only.
        Its fast form keeps inner groups of at least k rows (a necessary condition), carries
        each group's entity lower bound out, and the final SELECT reports the smallest bound
        over the rows it uses; when that clears k, every group used is proven to stand for k
        entities; otherwise the exact form (inner HAVING COUNT(DISTINCT)) runs instead."""
        root = self.a.root
        select = root.expression
        if not isinstance(select, exp.Select) or self.a.scope_info(root).aggregated:
            return
        sources = list(root.selected_sources.items())
        if not sources or any(
            isinstance(s, exp.Table) or id(s.expression) not in self.inner_bounds
            for _a, (_n, s) in sources
        ):
            return
        # Each bounded scope must feed only the final SELECT, or a relaxed group could reach
        # the output another way.
        for scope in self.a.scopes:
            if scope is root:
                continue
            for _a, (_n, s) in scope.selected_sources.items():
                if not isinstance(s, exp.Table) and id(s.expression) in self.inner_bounds:
                    return
        minima: list[exp.Expression] = []
        relaxed: set[int] = set()
        for alias, (_node, source) in sources:
            inner, condition, entity, bound = self.inner_bounds[id(source.expression)]
            name = f"{_HELPER_PREFIX}_kb"

            def relax(
                inner: exp.Select = inner,
                condition: exp.GTE = condition,
                entity: exp.Expression = entity,
                bound: int = bound,
                name: str = name,
            ) -> None:
                condition.set("this", exp.Count(this=entity.copy()))
                inner.select(exp.alias_(_lower_bound(entity, bound), name, quoted=True), copy=False)

            if id(inner) not in relaxed:  # a grouped CTE joined to itself is relaxed once
                relaxed.add(id(inner))
                self.fast_edits.append(relax)
            minima.append(
                exp.Window(
                    this=exp.Min(this=exp.column(name, table=alias, quoted=True)),
                    over="OVER",
                )
            )
        helper = exp.alias_(_least(minima), K_COLUMN, quoted=True)

        def report_minimum() -> None:
            select.select(helper, copy=False)

        self.fast_edits.append(report_minimum)

    def _source_entities(self, scope: Scope) -> list[exp.Expression]:
        out: list[exp.Expression] = []
        for alias, (_node, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table):
                table = self.a.tables[_norm(source.name)]
                if table.entity_key:
                    key = table.spelled.get(table.entity_key, table.entity_key)
                    out.append(exp.column(key, table=alias, quoted=True))
            elif self.a.scope_info(source).carries_rows:
                out.extend(
                    exp.column(name, table=alias, quoted=True) for name in self._inject(source)
                )
        return self._drop_equal(scope, out)

    @staticmethod
    def _drop_equal(scope: Scope, entities: list[exp.Expression]) -> list[exp.Expression]:
        """An inner join ON a.key = b.key (at the top of its AND chain) makes both tables'
        entity sets in every group the same: count one of them."""
        select = scope.expression
        same: set[frozenset[tuple[str, str]]] = set()
        for join in select.args.get("joins") or []:
            if join.side or join.kind not in ("", "INNER", None):
                continue
            condition = join.args.get("on")
            stack = [condition] if condition is not None else []
            while stack:
                node = stack.pop()
                if isinstance(node, exp.And):
                    stack.extend([node.this, node.expression])
                elif isinstance(node, exp.Paren):
                    stack.append(node.this)
                elif isinstance(node, exp.EQ) and all(
                    isinstance(side, exp.Column) for side in (node.this, node.expression)
                ):
                    same.add(frozenset({_column_key(node.this), _column_key(node.expression)}))
        kept: list[exp.Expression] = []
        for entity in entities:
            if not any(frozenset({_column_key(entity), _column_key(k)}) in same for k in kept):
                kept.append(entity)
        return kept

    def _multiplicity(self, scope: Scope) -> int | None:
        """A bound on the rows one entity has in this scope's FROM, or None: the product of
        the sources' bounds when they are inner-joined on their entity keys (one entity set),
        the source's own bound when there is one source; None otherwise."""
        select = scope.expression
        if not isinstance(select, exp.Select):
            return None
        joins = select.args.get("joins") or []
        if any(j.side or j.kind not in ("", "INNER", None) for j in joins):
            return None
        total = 1
        entities: list[exp.Expression] = []
        for alias, (_node, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table):
                table = self.a.tables[_norm(source.name)]
                if not table.entity_key or not table.entity_max_rows:
                    return None
                key = table.spelled.get(table.entity_key, table.entity_key)
                entities.append(exp.column(key, table=alias, quoted=True))
                total *= table.entity_max_rows
            else:
                if self.a.scope_info(source).aggregated or not isinstance(
                    source.expression, exp.Select
                ):
                    return None
                inner = self._multiplicity(source)
                if inner is None or len(self._inject(source)) != 1:
                    return None
                entities.append(exp.column(self._inject(source)[0], table=alias, quoted=True))
                total *= inner
        if len(entities) != 1 and len(self._drop_equal(scope, entities)) != 1:
            return None
        return total

    def _inject(self, scope: Scope) -> list[str]:
        """Helper entity columns of a row-level scope (added to its projection once)."""
        info = self.a.scope_info(scope)
        if info.entity is not None:
            return info.entity
        if isinstance(scope.expression, exp.SetOperation):
            node = scope.expression
            if not isinstance(node, exp.Union) or node.args.get("distinct"):
                raise self._unsupported("UNION (without ALL), INTERSECT or EXCEPT")
            branches = [self._inject(b) for b in scope.set_operation_scopes]
            if len({len(b) for b in branches}) != 1:
                raise self._unsupported("UNION ALL of branches over different tables")
            info.entity = branches[0]
            return info.entity
        select = scope.expression
        if select.args.get("distinct"):
            raise self._unsupported("SELECT DISTINCT")
        assert isinstance(select, exp.Select)
        names = []
        for i, expression in enumerate(self._source_entities(scope)):
            name = f"{_HELPER_PREFIX}_e{i}"
            select.select(exp.alias_(expression, name, quoted=True), copy=False)
            names.append(name)
        info.entity = names
        return names

    @staticmethod
    def _unsupported(what: str) -> ComputeRefused:
        return _refuse(
            "compute_k_unsupported",
            f"The k rule cannot count entities through {what} inside an aggregate; "
            "use GROUP BY or UNION ALL.",
            f"无法穿过聚合中的 {what} 计算主体数；请改用 GROUP BY 或 UNION ALL。",
            construct=what,
        )


def _lower_bound(entity: exp.Expression, bound: int) -> exp.Expression:
    """rows <= entities * bound, so ceil(rows / bound) <= entities."""
    return exp.Cast(
        this=exp.Ceil(
            this=exp.Div(this=exp.Count(this=entity.copy()), expression=exp.Literal.number(bound))
        ),
        to=exp.DataType.build("BIGINT"),
    )


def _column_key(column: exp.Expression) -> tuple[str, str]:
    assert isinstance(column, exp.Column)
    return (_norm(column.table), _norm(column.name))


def _least(expressions: list[exp.Expression]) -> exp.Expression:
    if len(expressions) == 1:
        return expressions[0]
    return exp.Least(this=expressions[0], expressions=expressions[1:])
