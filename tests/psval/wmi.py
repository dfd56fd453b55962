"""WMI conformance: every class and every member used on a WMI object is allowlisted.

Which member accesses count (the "typed variable" model):
- A WMI object is an expression whose class is known statically:
  `Get-WmiObject ... -Class X` (or `-Query "... FROM X"`), `$o.GetRelated('X')`,
  `[wmi]<expr>.Job` (a job reference, Msvm_ConcreteJob), a call of a script
  function whose result is a WMI object, a variable assigned from one of those,
  a `foreach` variable over a WMI collection, `$_` inside a script block of a
  later stage of a pipeline that starts with a WMI object, and a function
  parameter bound (positionally) at some call site to a WMI object.
- Pipelines keep the class through Select-Object / Where-Object / Sort-Object.
- `$wmiObject.Method(...)` yields the method's out-parameters object ("X.Method"),
  whose members must be the method's listed out parameters.
- Variables are scoped per function (reads fall back to script scope).
Every member_access / invokation_expression on such an expression must name a
listed property/method of (one of) its classes or a generic WMI member. Any
`Msvm_*`, `Win32_*`, `MSCluster_*`, `CIM_*` name anywhere in code or strings
must be a listed class.
Not seen: objects reached through untyped indirection (hashtable values, array
elements, `$x = $y[0]`), dynamic member names (`$o.$name`), members of embedded
objects (`$r.PrivateProperties.VmID` checks only PrivateProperties).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter as ts
import yaml

from .compat import _command_elements, _param_name, command_name, unwrap
from .parse import Finding, Parsed, parse, walk

ALLOWLIST_PATH = Path(__file__).resolve().parent.parent / "data" / "wmi_v1_allowlist.yaml"
_CLASS_NAME_RE = re.compile(r"\b(?:Msvm|Win32|MSCluster|CIM)_[A-Za-z0-9_]+")
_FROM_RE = re.compile(r"\bFROM\s+([A-Za-z0-9_]+)", re.IGNORECASE)
_KEEP_CLASS = {"select-object", "where-object", "sort-object", "select", "where", "sort", "?"}


@dataclass(frozen=True)
class Allowlist:
    classes: dict[str, tuple[frozenset[str], frozenset[str]]]  # lower name -> (props, methods)
    out_params: dict[str, frozenset[str]]  # "class.method" lower -> out params
    generic: frozenset[str]
    canonical: dict[str, str]

    def members(self, cls: str) -> frozenset[str]:
        if cls in self.out_params:
            return self.out_params[cls]
        if cls not in self.classes:
            return self.generic  # unknown class: WMI001 reports it; only generic members
        props, methods = self.classes[cls]
        return props | methods | self.generic


@functools.cache
def load_allowlist(path: Path = ALLOWLIST_PATH) -> Allowlist:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = set(data["sources"])
    classes: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    out: dict[str, frozenset[str]] = {}
    canonical: dict[str, str] = {}
    for name, spec in data["classes"].items():
        src = spec["source"]
        for key in [src] if isinstance(src, str) else src:
            if key not in sources:
                raise ValueError(f"{name}: unknown source {key}")
        methods = spec.get("methods") or {}
        classes[name.lower()] = (
            frozenset(p.lower() for p in spec["properties"]),
            frozenset(m.lower() for m in methods),
        )
        canonical[name.lower()] = name
        for mname, mspec in methods.items():
            out[f"{name}.{mname}".lower()] = frozenset(p.lower() for p in mspec["out"])
    g = data["generic_members"]
    generic = frozenset(x.lower() for x in g["properties"] + g["methods"])
    return Allowlist(classes, out, generic, canonical)


@dataclass
class WmiReport:
    findings: list[Finding] = field(default_factory=list)
    classes_used: set[str] = field(default_factory=set)
    members_checked: list[tuple[str, str]] = field(default_factory=list)  # (class, member)


Classes = frozenset[str]


class _Checker:
    def __init__(self, p: Parsed, allow: Allowlist) -> None:
        self.p = p
        self.allow = allow
        self.report = WmiReport()
        self.functions: dict[str, ts.Node] = {}
        self.fparams: dict[str, list[str]] = {}
        self.freturn: dict[str, Classes] = {}
        self.param_bind: dict[tuple[str, str], Classes] = {}  # (function, var) -> classes
        self.param_str: dict[tuple[str, str], set[str]] = {}  # (function, var) -> str literals
        self.scopes: dict[str, dict[str, Classes]] = {}
        for n in walk(p.root):
            if n.type == "function_statement":
                name_node = next(c for c in n.named_children if c.type == "function_name")
                fname = p.node_text(name_node).lower()
                self.functions[fname] = n
                self.fparams[fname] = [
                    _var(p.node_text(v))
                    for decl in n.named_children
                    if decl.type == "function_parameter_declaration"
                    for v in walk(decl)
                    if v.type == "variable" and v.parent is not None
                    and v.parent.type == "script_parameter"
                ]

    # -------------------------------------------------------------- scopes
    def scope_of(self, node: ts.Node) -> str:
        cur = node.parent
        while cur is not None:
            if cur.type == "function_statement":
                name_node = next(c for c in cur.named_children if c.type == "function_name")
                return self.p.node_text(name_node).lower()
            cur = cur.parent
        return ""

    def lookup(self, scope: str, var: str, node: ts.Node) -> Classes:
        if var == "_":
            return self.dollar_under(node)
        if scope and (scope, var) in self.param_bind:
            return self.param_bind[(scope, var)]
        found = self.scopes.get(scope, {}).get(var)
        if found is None and scope:
            found = self.scopes.get("", {}).get(var)
        return found or frozenset()

    def dollar_under(self, node: ts.Node) -> Classes:
        """$_ inside a script block of pipeline stage k>0: the class flowing into it."""
        cur = node.parent
        while cur is not None:
            if cur.type == "script_block_expression" and cur.parent is not None:
                stage = cur.parent
                while stage is not None and stage.type != "command":
                    stage = stage.parent
                if stage is not None and stage.parent is not None:
                    pipe = stage.parent
                    stages = [c for c in pipe.named_children]
                    idx = [s.id for s in stages].index(stage.id) if stage in stages else -1
                    if idx > 0:
                        return self.pipeline_prefix_class(stages[:idx])
                return frozenset()
            cur = cur.parent
        return frozenset()

    # -------------------------------------------------------------- classes of expressions
    def cls(self, node: ts.Node) -> Classes:
        p = self.p
        node = unwrap(node)
        t = node.type
        if t in ("pipeline", "pipeline_chain") and node.named_child_count > 1:
            return self.pipeline_prefix_class(list(node.named_children))
        if t == "parenthesized_expression" or t == "array_expression" or t == "sub_expression":
            inner = [c for c in node.named_children if c.type in ("pipeline", "statement_list")]
            if len(inner) == 1:
                sub = inner[0]
                if sub.type == "statement_list":
                    if sub.named_child_count != 1:
                        return frozenset()
                    sub = sub.named_children[0]
                got = self.cls(sub)
                if t == "array_expression":  # @(...) is an array of those objects
                    return frozenset(c if c.endswith("[]") else c + "[]" for c in got)
                return got
            return frozenset()
        if t == "command":
            return self.command_class(node)
        if t == "variable":
            return self.lookup(self.scope_of(node), _var(p.node_text(node)), node)
        if t == "invokation_expression":
            target, member = _target_member(node)
            if member is None or target is None:
                return frozenset()
            mname = p.node_text(member).lower()
            if mname == "getrelated":
                arg = _first_string_arg(p, node)
                return frozenset({arg.lower()}) if arg else frozenset()
            tcls = self.cls(target)
            outs = self.allow.out_params
            return frozenset(f"{c}.{mname}" for c in tcls if f"{c}.{mname}" in outs)
        if t == "cast_expression":
            tl = node.named_children[0]
            if p.node_text(tl).lower() in ("[wmi]", "[system.management.managementobject]"):
                inner = unwrap(node.named_children[-1])
                if inner.type == "member_access":
                    _, member = _target_member(inner)
                    if member is not None and p.node_text(member).lower() == "job":
                        return frozenset({"msvm_concretejob"})
                m = _CLASS_NAME_RE.search(p.node_text(inner))
                if m:
                    return frozenset({m.group(0).lower()})
            return frozenset()
        if t == "expression_with_unary_operator" and node.named_child_count == 1:
            return self.cls(node.named_children[0])
        return frozenset()

    def pipeline_prefix_class(self, stages: list[ts.Node]) -> Classes:
        if not stages:
            return frozenset()
        c = self.cls(stages[0])
        if len(stages) > 1:
            c = _elements(c)  # a pipeline unrolls arrays
        for s in stages[1:]:
            if s.type != "command":
                return frozenset()
            got = command_name(self.p, s)
            if got is None or got[0] not in _KEEP_CLASS:
                return frozenset()
        return c

    def command_class(self, cmd: ts.Node) -> Classes:
        got = command_name(self.p, cmd)
        if got is None:
            return frozenset()
        name = got[0]
        if name in ("get-wmiobject", "gwmi"):
            scope = self.scope_of(cmd)

            def resolve(var: str) -> set[str]:
                return self.param_str.get((scope, var), set())

            return frozenset(c.lower() for c in _wmi_classes_of_command(self.p, cmd, resolve))
        if name in self.functions:
            return self.freturn.get(name, frozenset())
        return frozenset()

    # -------------------------------------------------------------- inference passes
    def infer(self) -> None:
        p = self.p
        for _ in range(4):  # fixpoint over functions/params/vars; the scripts are small
            for n in walk(p.root):
                if n.type == "assignment_expression":
                    named = n.named_children
                    left = unwrap(named[0])
                    if left.type == "variable" and len(named) >= 3:
                        self._bind(self.scope_of(n), _var(p.node_text(left)), self.cls(named[2]))
                elif n.type == "foreach_statement":
                    var = next((c for c in n.named_children if c.type == "variable"), None)
                    coll = next((c for c in n.named_children if c.type == "pipeline"), None)
                    if var is not None and coll is not None:
                        self._bind(self.scope_of(n), _var(p.node_text(var)),
                                   _elements(self.cls(coll)))
                elif n.type == "command":
                    got = command_name(p, n)
                    if got and got[0] in self.functions:
                        params = self.fparams[got[0]]
                        args = [e for e in _command_elements(n) if e.type != "command_parameter"]
                        for pname, arg in zip(params, args, strict=False):
                            lit = unwrap(arg)
                            if lit.type == "string_literal":
                                value = p.node_text(lit)[1:-1]
                                self.param_str.setdefault((got[0], pname), set()).add(value)
                            c = self.cls(arg)
                            if c:
                                key = (got[0], pname)
                                self.param_bind[key] = self.param_bind.get(key, frozenset()) | c
            for fname, fn in self.functions.items():
                self.freturn[fname] = self._return_class(fn)

    def _bind(self, scope: str, var: str, c: Classes) -> None:
        if c:
            cur = self.scopes.setdefault(scope, {})
            cur[var] = cur.get(var, frozenset()) | c

    def _return_class(self, fn: ts.Node) -> Classes:
        body = next((c for c in fn.named_children if c.type == "script_block"), None)
        if body is None:
            return frozenset()
        sl = next((c for c in walk(body) if c.type == "statement_list"), None)
        if sl is None or not sl.named_children:
            return frozenset()
        last = sl.named_children[-1]
        out = self.cls(last)
        for n in walk(body):
            if n.type == "flow_control_statement" and self.p.node_text(n).lower().startswith(
                "return"
            ):
                for c in n.named_children:
                    out = out | self.cls(c)
        return out

    # -------------------------------------------------------------- checks
    def check(self) -> WmiReport:
        p = self.p
        allow = self.allow
        # class names anywhere (code, strings; comments excluded)
        comments = [(n.start_byte, n.end_byte) for n in walk(p.root) if n.type == "comment"]
        for m in _CLASS_NAME_RE.finditer(p.text):
            b = len(p.text[: m.start()].encode("utf-8"))
            if any(s <= b < e for s, e in comments):
                continue
            name = m.group(0).lower()
            self.report.classes_used.add(name)
            if name not in allow.classes:
                line = p.text.count("\n", 0, m.start()) + 1
                col = m.start() - (p.text.rfind("\n", 0, m.start()) + 1) + 1
                self.report.findings.append(
                    Finding(line, col, "WMI001", f"WMI class {m.group(0)} is not allowlisted",
                            m.group(0)))
        for n in walk(p.root):
            if n.type not in ("member_access", "invokation_expression"):
                continue
            target, member = _target_member(n)
            if target is None or member is None or member.named_child_count != 1:
                continue
            if member.named_children[0].type != "simple_name":
                continue  # dynamic member name
            if any(not c.is_named and c.type == "::" for c in n.children):
                continue  # static member of a type
            classes = self.cls(target)
            if not classes:
                continue
            mname = p.node_text(member)
            arrays = [c for c in classes if c.endswith("[]")]
            if arrays and mname.lower() not in ARRAY_MEMBERS:
                names = ", ".join(sorted(arrays))
                self.report.findings.append(p.finding(
                    member, "WMI003",
                    f".{mname} on an array ({names}) is member enumeration: PS 3.0+"))
                continue
            if arrays:
                continue
            ok_in = [c for c in classes if mname.lower() in allow.members(c)]
            for c in classes:
                self.report.members_checked.append((c, mname))
            if not ok_in:
                names = ", ".join(sorted(allow.canonical.get(c, c) for c in classes))
                self.report.findings.append(
                    p.finding(member, "WMI002", f"{mname} is not an allowlisted member of {names}")
                )
        return self.report


ARRAY_MEMBERS = frozenset({
    "count", "length", "longlength", "rank", "contains", "indexof", "clone", "copyto",
    "getenumerator", "gettype", "tostring", "getlength", "getvalue", "getupperbound",
    "getlowerbound", "isfixedsize", "isreadonly", "issynchronized", "syncroot",
})


def _elements(classes: Classes) -> Classes:
    return frozenset(c.removesuffix("[]") for c in classes)


def _var(text: str) -> str:
    name = text[1:]
    if name.startswith("{") and name.endswith("}"):
        name = name[1:-1]
    name = name.lower()
    for prefix in ("script:", "local:", "global:"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


def _target_member(n: ts.Node) -> tuple[ts.Node | None, ts.Node | None]:
    named = n.named_children
    member = next((c for c in named if c.type == "member_name"), None)
    return (named[0] if named and named[0].type != "member_name" else None), member


def _first_string_arg(p: Parsed, inv: ts.Node) -> str | None:
    args = next((c for c in inv.named_children if c.type == "argument_list"), None)
    if args is None:
        return None
    lit = next((c for c in walk(args) if c.type == "string_literal"), None)
    if lit is None:
        return None
    return p.node_text(lit).strip("'\"")


def _wmi_classes_of_command(p: Parsed, cmd: ts.Node, resolve: Any = None) -> list[str]:
    elements = _command_elements(cmd)
    out: list[str] = []
    positional_seen = False
    for i, e in enumerate(elements):
        if e.type == "command_parameter":
            pname = _param_name(p.node_text(e))
            nxt = elements[i + 1] if i + 1 < len(elements) else None
            if nxt is None:
                continue
            if "class".startswith(pname) and len(pname) >= 2:
                text = p.node_text(nxt).strip("'\"")
                if re.fullmatch(r"[A-Za-z0-9_]+", text):
                    out.append(text)
                elif resolve is not None and unwrap(nxt).type == "variable":
                    out.extend(resolve(_var(text)))  # a parameter bound to literals
            elif "query".startswith(pname) and len(pname) >= 1:
                m = _FROM_RE.search(p.node_text(nxt))
                if m:
                    out.append(m.group(1))
        elif not positional_seen and (i == 0 or elements[i - 1].type != "command_parameter"):
            positional_seen = True
            text = p.node_text(e).strip("'\"")
            if re.fullmatch(r"[A-Za-z0-9_]+", text):
                out.append(text)  # Get-WmiObject's first positional parameter is -Class
    return out


def check_wmi(src: str | Parsed, allow: Allowlist | None = None) -> WmiReport:
    p = src if isinstance(src, Parsed) else parse(src)
    checker = _Checker(p, allow or load_allowlist())
    checker.infer()
    return checker.check()
