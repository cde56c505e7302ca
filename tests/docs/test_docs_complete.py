"""The docs and the code name the same things, both ways:

- error codes: every code the source can raise (an error class's ``code``, a ``code=`` argument,
  the code a helper passes on, a family built from a word such as `<kind>_not_found`) is a row of
  docs/errors.md with the status it is raised with, and every code a page's error table lists is
  raised somewhere;
- token scopes: docs/identity.md's scope table is exactly ``SCOPES``, and no page names another;
- endpoints: every API route is written somewhere as `METHOD /api/v1/path` (path parameters in
  braces, any name), every route written so exists, and a bare `/api/v1/...` path names a route;
- CKAN actions: docs/ckan.md's action table is exactly the actions served.

Every failure names what is missing or extra. No database: these tests read the Markdown, the
source tree (parsed, not imported) and the application's routers."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from yaosu.app import API_PREFIX, API_ROUTERS, create_app
from yaosu.identity.rules import SCOPES
from yaosu.opendata.ckan import ACTIONS

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "yaosu"
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
ERRORS_PAGE = DOCS / "errors.md"

_TICKED = re.compile(r"`([^`\n]+)`")
_CODE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_PATTERN = re.compile(r"^[a-z0-9_]*(?:<[a-z_ ]+>[a-z0-9_]*)+$")  # `<kind>_not_found`
_HOLE = "<>"
# Tables headed "code" that list codes of something other than errors.
NOT_ERROR_TABLES = {"classification-detectors.md": "the detectors' type codes"}


# --- the error codes of the source --------------------------------------------------------------
@dataclass
class _Module:
    name: str
    package: str  # where ``from . import x`` looks
    tree: ast.Module
    defs: dict[str, ast.AST] = field(default_factory=dict)  # top-level functions and classes
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # from M import x → (M, x)
    modules: dict[str, str] = field(default_factory=dict)  # from P import m / import M as m


def _modules() -> dict[str, _Module]:
    out: dict[str, _Module] = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if parts[-1] == "__init__" else name.rpartition(".")[0]
        mod = _Module(name, package, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for node in mod.tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                mod.defs[node.name] = node
        out[name] = mod
    for mod in out.values():
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ImportFrom) and (node.module or node.level):
                base = mod.package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = (
                    node.module
                    if node.level == 0
                    else ".".join(p for p in (base, node.module) if p)
                )
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    if full in out:
                        mod.modules[alias.asname or alias.name] = full
                    else:
                        mod.names[alias.asname or alias.name] = (source, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        mod.modules[alias.asname] = alias.name
    return out


Key = tuple[str, str]  # (module, top-level name); methods are not code producers


def _defined(mods: dict[str, _Module], key: Key | None) -> Key | None:
    """Follow re-exports (``from .errors import X`` in a package) to where a name is defined."""
    for _ in range(5):
        if key is None or key[0] not in mods or key[1] in mods[key[0]].defs:
            return key
        key = mods[key[0]].names.get(key[1])
    return key


def _resolve(mods: dict[str, _Module], mod: _Module, func: ast.expr) -> Key | None:
    if isinstance(func, ast.Name):
        if func.id in mod.defs:
            return (mod.name, func.id)
        return _defined(mods, mod.names.get(func.id))
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        target = mod.modules.get(func.value.id)
        return _defined(mods, (target, func.attr)) if target else None
    return None


def _base_keys(mods: dict[str, _Module], mod: _Module, cls: ast.ClassDef) -> Iterator[Key]:
    for base in cls.bases:
        key = _resolve(mods, mod, base)
        if key:
            yield key


def _positional(fn: ast.FunctionDef, skip_self: bool) -> list[str]:
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    return names[1:] if skip_self else names


@dataclass
class Producers:
    """Callables whose ``code`` argument becomes an error code: the error classes, the records
    that carry a refusal (a ``code`` and a ``message_zh`` field: a policy failure, a route) and
    every function that passes its own ``code`` parameter on to one of them."""

    errors: set[Key] = field(default_factory=set)
    position: dict[Key, int | None] = field(default_factory=dict)  # index of ``code``, or None


def _producers(mods: dict[str, _Module]) -> Producers:
    p = Producers(errors={("yaosu.kit.errors", "YaosuError")})
    changed = True
    while changed:  # subclasses of subclasses, in any module order
        changed = False
        for mod in mods.values():
            for node in mod.defs.values():
                key = (mod.name, getattr(node, "name", ""))
                if (
                    isinstance(node, ast.ClassDef)
                    and key not in p.errors
                    and any(b in p.errors for b in _base_keys(mods, mod, node))
                ):
                    p.errors.add(key)
                    changed = True
    for mod in mods.values():
        for node in mod.defs.values():
            if isinstance(node, ast.ClassDef) and (mod.name, node.name) in p.errors:
                _error_position(mods, mod, node, p)
            if not isinstance(node, ast.ClassDef) or (mod.name, node.name) in p.errors:
                continue
            key = (mod.name, node.name)
            fields = [
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            ]
            if "code" in fields and "message_zh" in fields:
                p.position[key] = fields.index("code")
    changed = True
    while changed:  # forwarders: def f(..., code, ...): ... Producer(..., code=code) ...
        changed = False
        for mod in mods.values():
            for node in mod.defs.values():
                key = (mod.name, getattr(node, "name", ""))
                if not isinstance(node, ast.FunctionDef) or key in p.position:
                    continue
                args = _positional(node, False)
                if "code" not in args and "code" not in [a.arg for a in node.args.kwonlyargs]:
                    continue
                params = set(args) | {a.arg for a in node.args.kwonlyargs}
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and any(
                        isinstance(v, ast.Name) and v.id == "code"
                        for v in _code_arguments(mods, mod, call, p, params)
                    ):
                        p.position[key] = args.index("code") if "code" in args else None
                        changed = True
                        break
    return p


def _error_position(
    mods: dict[str, _Module], mod: _Module, cls: ast.ClassDef, p: Producers
) -> int | None:
    """Where an error class takes its code positionally: its own ``__init__``, else its first
    error base's (``SandboxRefused(SandboxError, Forbidden)`` takes ``SandboxError``'s)."""
    key = (mod.name, cls.name)
    if key in p.position:
        return p.position[key]
    init = next(
        (s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None
    )
    index: int | None = None
    if init is not None:
        args = _positional(init, True)
        index = args.index("code") if "code" in args else None
    else:
        for base in _base_keys(mods, mod, cls):
            node = mods[base[0]].defs.get(base[1]) if base[0] in mods else None
            if base in p.errors and isinstance(node, ast.ClassDef):
                index = _error_position(mods, mods[base[0]], node, p)
                break
    p.position[key] = index
    return index


def _code_arguments(
    mods: dict[str, _Module],
    mod: _Module,
    call: ast.Call,
    p: Producers,
    params: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[ast.expr]:
    key = _resolve(mods, mod, call.func)
    if isinstance(call.func, ast.Name) and call.func.id in params:
        # An error class passed in (``kind(en, zh, code=code)``): its ``code=`` is the code.
        return [k.value for k in call.keywords if k.arg == "code"]
    if key is None or key not in p.position:
        return []
    found = [k.value for k in call.keywords if k.arg == "code"]
    index = p.position[key]
    if index is not None and index < len(call.args):
        found.append(call.args[index])
    return found


def _shape(node: ast.JoinedStr) -> str:
    return "".join(str(v.value) if isinstance(v, ast.Constant) else _HOLE for v in node.values)


@dataclass
class SourceCodes:
    literal: dict[str, str] = field(default_factory=dict)  # code → where it is first raised
    statuses: dict[str, dict[int, str]] = field(default_factory=dict)  # code → status → where
    shapes: dict[str, str] = field(default_factory=dict)  # `<>_not_found` → where


def _values(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.IfExp):
        yield from _values(node.body)
        yield from _values(node.orelse)
    else:
        yield node


def _local_values(tree: ast.Module) -> dict[ast.expr, list[ast.expr]]:
    """For each name read inside a function, the values that function assigns to it."""
    out: dict[ast.expr, list[ast.expr]] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        assigned: dict[str, list[ast.expr]] = {}
        for s in ast.walk(fn):
            if isinstance(s, ast.Assign):
                for target in s.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(s.value)
        for name in ast.walk(fn):
            if isinstance(name, ast.Name) and name.id in assigned:
                out[name] = assigned[name.id]
    return out


def _class_status(mods: dict[str, _Module], key: Key) -> int | None:
    """An error class's ``status``, its own or the first base's that sets one."""
    mod = mods.get(key[0])
    node = mod.defs.get(key[1]) if mod else None
    if mod is None or not isinstance(node, ast.ClassDef):
        return None
    for s in node.body:
        targets = s.targets if isinstance(s, ast.Assign) else [getattr(s, "target", None)]
        value = getattr(s, "value", None)  # ``status = 403`` or ``status: int = 400``
        if (
            any(isinstance(t, ast.Name) and t.id == "status" for t in targets)
            and isinstance(value, ast.Constant)
            and isinstance(value.value, int)
        ):
            return value.value
    for base in _base_keys(mods, mod, node):
        status = _class_status(mods, base)
        if status is not None:
            return status
    return None


def _call_status(
    mods: dict[str, _Module], mod: _Module, call: ast.Call, p: Producers, depth: int = 0
) -> int | None:
    """The status a producer call raises with, when one class decides it; None when that is
    decided elsewhere (an error class passed in, a policy failure's status table)."""
    key = _resolve(mods, mod, call.func)
    if key is None or depth > 4:
        return None
    if key in p.errors:
        return _class_status(mods, key)
    node = mods[key[0]].defs.get(key[1]) if key[0] in mods else None
    if not isinstance(node, ast.FunctionDef):
        return None
    args = _positional(node, False)
    for c in ast.walk(node):
        # ``_words_error(Conflict, key, code)`` builds ``kind(…, code=code)``: the class passed
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in args:
            index = args.index(c.func.id)
            if index < len(call.args):
                passed = _resolve(mods, mod, call.args[index])
                return _class_status(mods, passed) if passed in p.errors else None
    inner = {
        _call_status(mods, mods[key[0]], c, p, depth + 1)
        for c in ast.walk(node)
        if isinstance(c, ast.Call) and _resolve(mods, mods[key[0]], c.func) in p.position
    }
    return inner.pop() if len(inner) == 1 else None


def _status_overrides(tree: ast.Module) -> dict[ast.Call, int]:
    """Calls inside a function that then sets ``error.status = 422`` raise with that status."""
    out: dict[ast.Call, int] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        for s in ast.walk(fn):
            if (
                isinstance(s, ast.Assign)
                and any(isinstance(t, ast.Attribute) and t.attr == "status" for t in s.targets)
                and isinstance(s.value, ast.Constant)
                and isinstance(s.value.value, int)
            ):
                out.update({c: s.value.value for c in ast.walk(fn) if isinstance(c, ast.Call)})
    return out


def source_codes() -> SourceCodes:
    mods = _modules()
    p = _producers(mods)
    found = SourceCodes()

    def add(node: ast.expr, mod: _Module, status: int | None = None) -> None:
        where = f"{mod.name}:{node.lineno}"
        for v in _values(node):
            if isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value:
                found.literal.setdefault(v.value, where)
                if status is not None:
                    found.statuses.setdefault(v.value, {}).setdefault(status, where)
            elif isinstance(v, ast.JoinedStr):
                found.shapes.setdefault(_shape(v), where)

    for mod in mods.values():
        local = _local_values(mod.tree)
        overrides = _status_overrides(mod.tree)
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Call):
                status = overrides.get(node) or _call_status(mods, mod, node, p)
                for value in _code_arguments(mods, mod, node, p):
                    # ``code = "a" if … else "b"; raise X(…, code=code)``: the assigned values
                    for v in local.get(value, [value]) if isinstance(value, ast.Name) else [value]:
                        add(v, mod, status)
            elif isinstance(node, ast.ClassDef) and (mod.name, node.name) in p.errors:
                for s in node.body:
                    if isinstance(s, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "code" for t in s.targets
                    ):
                        add(s.value, mod, _class_status(mods, (mod.name, node.name)))
                base = next(_base_keys(mods, mod, node), None)
                for call in ast.walk(node):  # super().__init__("cancelled", …)
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "__init__"
                        and isinstance(call.func.value, ast.Call)
                        and getattr(call.func.value.func, "id", None) == "super"
                    ):
                        index = p.position.get(base) if base else None
                        values = [k.value for k in call.keywords if k.arg == "code"]
                        if index is not None and index < len(call.args):
                            values.append(call.args[index])
                        for value in values:
                            add(value, mod, _class_status(mods, (mod.name, node.name)))
            elif isinstance(node, ast.Dict):
                # An error stored as data (a failed job's error): {"code": …, "message_zh": …}
                keys = {
                    k.value: v
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant)
                }
                if "code" in keys and "message_zh" in keys:
                    add(keys["code"], mod)
    return found


def documented_codes(text: str) -> dict[str, int]:
    """Code → line of the first cells of the tables whose header's first cell is "code"."""
    out: dict[str, int] = {}
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        first = line.strip("|").split("|")[0].strip()
        if not in_table:
            in_table = first.lower() == "code"
            continue
        for token in _TICKED.findall(first):
            out.setdefault(token, number)
    return out


def _pattern_shape(token: str) -> str:
    return re.sub(r"<[^>]+>", _HOLE, token)


def _shape_regex(shape: str) -> re.Pattern[str]:
    return re.compile("^" + "[a-z0-9_]+".join(re.escape(part) for part in shape.split(_HOLE)) + "$")


SOURCE = source_codes()


def test_the_source_scan_finds_codes_of_every_kind() -> None:
    """A class's ``code``, a ``code=`` argument, a forwarding helper's positional code, a data
    plane error's first argument, a policy refusal and a generated family are all seen."""
    for code in (
        "not_found",
        "address_forbidden",
        "reason_required",
        "stale_version",
        "empty_file",
        "field_not_granted",
        "open_without_application",
        "ingest_failed",
        "nul_character",
    ):
        assert code in SOURCE.literal, code
    assert {"<>_not_found", "org_<>", "http_<>", "<>_state_conflict"} <= set(SOURCE.shapes)
    # Names that merely look like codes are not taken: detectors' types, words keys, labels.
    assert not {"mobile", "resident_id", "calls", "rows", "kanon.err.k"} & set(SOURCE.literal)


def test_every_error_code_is_documented() -> None:
    documented = documented_codes(ERRORS_PAGE.read_text(encoding="utf-8"))
    patterns = {_pattern_shape(t) for t in documented if _PATTERN.match(t)}
    missing = sorted(
        f"{code} (raised at {where})"
        for code, where in SOURCE.literal.items()
        if code not in documented
    )
    families = sorted(
        f"{shape.replace(_HOLE, '<…>')} (raised at {where})"
        for shape, where in SOURCE.shapes.items()
        if shape not in patterns
    )
    assert not missing and not families, (
        f"error codes docs/errors.md does not list: {missing}; "
        f"generated code families it does not list: {families}"
    )


def test_every_documented_error_code_is_raised() -> None:
    shapes = [_shape_regex(s) for s in SOURCE.shapes]
    extra = []
    for page in (p for p in PAGES if p.name not in NOT_ERROR_TABLES):
        for token, line in documented_codes(page.read_text(encoding="utf-8")).items():
            if _PATTERN.match(token):
                if _pattern_shape(token) not in SOURCE.shapes:
                    extra.append(f"{page.name}:{line} {token}")
            elif _CODE.match(token):
                if token not in SOURCE.literal and not any(s.match(token) for s in shapes):
                    extra.append(f"{page.name}:{line} {token}")
            else:
                extra.append(f"{page.name}:{line} {token} (not a code's spelling)")
    assert not extra, f"documented error codes the source never raises: {extra}"


def test_the_error_page_gives_the_status_each_code_is_raised_with() -> None:
    documented: dict[str, set[int]] = {}
    for line in ERRORS_PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2:
            for token in _TICKED.findall(cells[0]):
                documented.setdefault(token, set()).update(
                    int(n) for n in re.findall(r"\d{3}", cells[1])
                )
    wrong = sorted(
        f"{code}: raised as {status} at {where}, documented as "
        f"{', '.join(map(str, sorted(documented[code]))) or 'nothing'}"
        for code, raised in SOURCE.statuses.items()
        if code in documented
        for status, where in raised.items()
        if status not in documented[code]
    )
    assert not wrong, f"docs/errors.md gives other statuses than the source raises: {wrong}"


def test_the_error_page_gives_a_status_and_a_meaning_for_every_code() -> None:
    bad = []
    for line in ERRORS_PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `"):
            continue
        if len(cells) < 3 or not re.fullmatch(r"\d{3}(?:, \d{3})*", cells[1]) or not cells[2]:
            bad.append(line)
    assert not bad, f"rows of docs/errors.md without a status or a meaning: {bad}"


# --- token scopes --------------------------------------------------------------------------------
def _table_first_cells(text: str, header: str) -> set[str]:
    out: set[str] = set()
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        first = line.strip("|").split("|")[0].strip()
        if not in_table:
            in_table = first.lower() == header
            continue
        out.update(_TICKED.findall(first))
    return out


_SCOPE_PREFIXES = {scope.split(":")[0] for scope in SCOPES}  # `did:web` is not a scope


def test_the_identity_page_lists_exactly_the_scopes() -> None:
    documented = _table_first_cells((DOCS / "identity.md").read_text(encoding="utf-8"), "scope")
    missing = sorted(set(SCOPES) - documented)
    extra = sorted(documented - set(SCOPES))
    assert not missing and not extra, (
        f"token scopes docs/identity.md does not list: {missing}; "
        f"scopes it lists that the server does not have: {extra}"
    )


def test_every_scope_named_anywhere_exists() -> None:
    extra = sorted(
        f"{page.name}: {token}"
        for page in PAGES
        for token in set(_TICKED.findall(page.read_text(encoding="utf-8")))
        if re.fullmatch(r"[a-z]+:[a-z]+", token)
        and token.split(":")[0] in _SCOPE_PREFIXES
        and token not in SCOPES
    )
    assert not extra, f"pages name scopes the server does not have: {extra}"


# --- endpoints -----------------------------------------------------------------------------------
_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`\s?#]*)[^`]*`")


def _normal(path: str) -> str:
    """Path parameters compare by position, not name: `{id}` documents `{resource_id}`."""
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def served_routes() -> dict[str, str]:
    out = {}
    for router in API_ROUTERS:
        for route in router.routes:
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    path = API_PREFIX + route.path  # type: ignore[attr-defined]
                    out[f"{method} {_normal(path)}"] = f"{method} {path}"
    return out


def documented_routes(pages: Iterable[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for page in pages:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for method, path in _ROUTE.findall(line):
                out.setdefault(f"{method} {_normal(path)}", f"{page.name}:{number}")
    return out


def test_every_route_is_documented() -> None:
    served, documented = served_routes(), documented_routes(PAGES)
    missing = sorted(shown for key, shown in served.items() if key not in documented)
    assert not missing, f"API routes no page documents as `METHOD /api/v1/…`: {missing}"


def test_every_documented_route_exists() -> None:
    served, documented = served_routes(), documented_routes(PAGES)
    extra = sorted(f"{where} {key}" for key, where in documented.items() if key not in served)
    assert not extra, f"pages document API routes the server does not have: {extra}"


_BARE_PATH = re.compile(r"`(/api/v1[^`\s?#]*)[^`]*`")


def test_every_api_path_named_without_a_method_is_served() -> None:
    """`/api/v1/ledger/trail` in a sentence names a route or the start of some routes' paths;
    alternatives (`rows|lookup`) and wildcards (`responsibilities*`) are left to the reader."""
    served = {key.split(" ", 1)[1] for key in served_routes()} | {
        _normal(route.path)  # type: ignore[attr-defined]
        for route in create_app().routes
        if getattr(route, "path", "").startswith(API_PREFIX)
    }
    prefixes = {"/".join(p.split("/")[:n]) for p in served for n in range(3, p.count("/") + 2)}
    unknown = sorted(
        f"{page.name}:{number} {path}"
        for page in PAGES
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        for path in _BARE_PATH.findall(line)
        if not set(path) & {"|", "*", "…"} and _normal(path) not in served | prefixes
    )
    assert not unknown, f"pages name API paths the server does not have: {unknown}"


def test_the_route_form_is_read_as_written() -> None:
    page = "`GET /api/v1/services/{grant}/lookup?key=…` and `POST /api/v1/tokens`, not /api/v1/x"
    assert _ROUTE.findall(page) == [
        ("GET", "/api/v1/services/{grant}/lookup"),
        ("POST", "/api/v1/tokens"),
    ]


# --- CKAN actions --------------------------------------------------------------------------------
def test_the_ckan_page_lists_exactly_the_actions() -> None:
    documented = _table_first_cells((DOCS / "ckan.md").read_text(encoding="utf-8"), "action")
    missing = sorted(set(ACTIONS) - documented)
    extra = sorted(documented - set(ACTIONS))
    assert not missing and not extra, (
        f"CKAN actions docs/ckan.md does not list: {missing}; "
        f"actions it lists that the server does not have: {extra}"
    )
