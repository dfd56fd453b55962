"""Table-driven PowerShell 2.0 compatibility walk over the tree-sitter tree.

`check_ps2(src)` returns syntax findings (PS0001/PS0002) first, then one finding per
3.0+ construct. It is *syntactic*: it sees names, operators and shapes, not types.
Rules are keyed on specific names so grammar misparses (e.g. `1..3` as a command
name) do not produce findings.
"""

from __future__ import annotations

import re

import tree_sitter as ts

from .parse import Finding, Parsed, first_line, parse, syntax_errors, walk

# ------------------------------------------------------------------ tables


def _words(text: str) -> list[str]:
    return text.split()


_PS3_CMDLETS = _words("""
convertto-json convertfrom-json invoke-restmethod invoke-webrequest
get-ciminstance set-ciminstance new-ciminstance remove-ciminstance invoke-cimmethod
get-cimclass get-cimassociatedinstance new-cimsession get-cimsession remove-cimsession
new-cimsessionoption register-cimindicationevent export-binarymilog import-binarymilog
unblock-file update-help save-help show-command get-typedata remove-typedata
disconnect-pssession connect-pssession receive-pssession new-pstransportoption
resume-job suspend-job register-scheduledjob get-scheduledjob get-jobtrigger new-jobtrigger
add-jobtrigger get-controlpanelitem show-controlpanelitem rename-computer
""")
_PS4_CMDLETS = _words("get-filehash new-psworkflowsession")
_PS5_CMDLETS = _words("""
compress-archive expand-archive new-temporaryfile get-clipboard set-clipboard
install-module find-module update-module install-package find-package get-package
format-hex convertfrom-string convert-string convertfrom-sddlstring new-guid get-runspace
write-information enter-pshostprocess get-itempropertyvalue wait-debugger debug-job
protect-cmsmessage unprotect-cmsmessage new-filecatalog clear-recyclebin
get-timezone set-timezone get-computerinfo get-localuser new-localuser
""")
_PS6_CMDLETS = _words("get-uptime remove-alias test-json get-error join-string remove-service")

_SERVER2012_CMDLETS = _words("""
get-vm new-vm set-vm start-vm stop-vm remove-vm save-vm suspend-vm resume-vm restart-vm
checkpoint-vm move-vm export-vm import-vm compare-vm measure-vm rename-vm
get-vmmemory set-vmmemory get-vmhost set-vmhost get-vmswitch new-vmswitch
get-vmnetworkadapter get-vmsnapshot get-vmintegrationservice enable-vmintegrationservice
get-vmprocessor set-vmprocessor get-vmharddiskdrive get-vmbios get-vmhostnumanode
enable-vmresourcemetering get-vhd new-vhd test-vhd mount-vhd resize-vhd
get-netadapter get-netipaddress new-netipaddress set-netipaddress remove-netipaddress
get-netipconfiguration get-netipinterface set-netipinterface get-netroute new-netroute
get-nettcpconnection get-nettcpsetting get-netfirewallrule new-netfirewallrule
get-netconnectionprofile get-netneighbor test-netconnection resolve-dnsname
get-dnsclientserveraddress set-dnsclientserveraddress get-smbshare new-smbshare
get-disk get-volume get-partition get-physicaldisk get-storagepool
get-scheduledtask register-scheduledtask
""")
# Whole families: Hyper-V module nouns (VM*, VHD*), NetTCPIP/NetAdapter/... (Net*),
# DnsClient, SMB, Storage. None exists on 2008 R2 / PowerShell 2.0.
_SERVER2012_PATTERN = re.compile(
    r"^[a-z]+-(vm|vhd|net[a-z]|dnsclient|smb|physicaldisk|storage|virtualdisk|scheduledtask)"
)

CMDLET_RULES: dict[str, str] = {}
for _n in _PS3_CMDLETS:
    CMDLET_RULES[_n] = "needs PS 3.0"
for _n in _PS4_CMDLETS:
    CMDLET_RULES[_n] = "needs PS 4.0"
for _n in _PS5_CMDLETS:
    CMDLET_RULES[_n] = "needs PS 5.0+"
for _n in _PS6_CMDLETS:
    CMDLET_RULES[_n] = "needs PS 6+"
_S2012 = (
    "needs a Windows Server 2012+ module "
    "(no Hyper-V/NetTCPIP/DnsClient/Storage cmdlets on 2008 R2)"
)
for _n in _SERVER2012_CMDLETS:
    CMDLET_RULES[_n] = _S2012

ALIASES = {
    "gc": "get-content", "cat": "get-content", "type": "get-content",
    "ls": "get-childitem", "dir": "get-childitem", "gci": "get-childitem",
    "epcsv": "export-csv", "select": "select-object", "icm": "invoke-command",
    "write": "write-output", "echo": "write-output", "gi": "get-item", "ri": "remove-item",
    "rm": "remove-item", "del": "remove-item", "sc": "set-content", "ac": "add-content",
    "ipmo": "import-module", "sort": "sort-object", "sls": "select-string", "ps": "get-process",
    "gps": "get-process", "sleep": "start-sleep", "gwmi": "get-wmiobject",
    "iex": "invoke-expression", "?": "where-object", "where": "where-object",
    "%": "foreach-object", "foreach": "foreach-object",
    "measure": "measure-object", "group": "group-object",
}

COMMON_PARAMS_V2 = {
    "verbose", "vb", "debug", "db", "erroraction", "ea", "warningaction", "wa",
    "errorvariable", "ev", "warningvariable", "wv", "outvariable", "ov", "outbuffer", "ob",
    "whatif", "wi", "confirm", "cf",
}
GLOBAL_PARAM_RULES = {
    "pipelinevariable": "needs PS 4.0", "pv": "needs PS 4.0",
    "informationaction": "needs PS 5.0", "infa": "needs PS 5.0",
    "informationvariable": "needs PS 5.0", "iv": "needs PS 5.0",
    "progressaction": "needs PS 7.4", "proga": "needs PS 7.4",
}
# 3.0+ parameters of cmdlets that exist in 2.0 (exact names and their 3.0+ aliases).
PARAM_RULES: dict[str, dict[str, str]] = {
    "export-csv": {"append": "3.0", "includetypeinformation": "6.0", "usequotes": "7.0",
                   "quotefields": "7.0"},
    "convertto-csv": {"usequotes": "7.0", "quotefields": "7.0", "includetypeinformation": "6.0"},
    "get-content": {"raw": "3.0", "tail": "3.0", "last": "3.0", "stream": "3.0",
                    "asbytestream": "6.0"},
    "get-childitem": {"file": "3.0", "directory": "3.0", "ad": "3.0", "af": "3.0",
                      "attributes": "3.0", "hidden": "3.0", "readonly": "3.0", "system": "3.0",
                      "depth": "5.0", "followsymlink": "6.0"},
    "add-member": {"notepropertyname": "3.0", "notepropertyvalue": "3.0",
                   "notepropertymembers": "3.0", "typename": "3.0"},
    "select-object": {"skiplast": "5.0", "wait": "3.0"},
    "invoke-command": {"indisconnectedsession": "3.0", "sessionname": "3.0",
                       "noNewScope".lower(): "3.0", "runasadministrator": "7.0",
                       "hostname": "6.0"},
    "start-sleep": {"duration": "7.3"},
    "out-file": {"nonewline": "5.0"},
    "set-content": {"nonewline": "5.0"},
    "add-content": {"nonewline": "5.0"},
    "out-string": {"nonewline": "7.0"},
    "write-output": {"noenumerate": "4.0"},
    "get-date": {"asutc": "7.1", "unixtimeseconds": "7.1"},
    "sort-object": {"top": "7.0", "bottom": "7.0", "stable": "6.2"},
    "select-string": {"raw": "7.0", "noemphasis": "7.0"},
    "get-item": {"stream": "3.0"},
    "remove-item": {"stream": "3.0"},
    "get-process": {"includeusername": "4.0"},
    "import-module": {"minimumversion": "3.0", "requiredversion": "3.0", "cimsession": "3.0",
                      "fullyqualifiedname": "5.0", "maximumversion": "5.0"},
    "measure-object": {"allstats": "6.0", "standarddeviation": "6.0"},
    "get-random": {"shuffle": "7.0"},
    "get-wmiobject": {"cimsession": "3.0"},
    "new-object": {"property": ""},  # 2.0 has -Property: placeholder never fires (empty value)
    "join-path": {"additionalchildpath": "6.0"},
    "split-path": {"extension": "6.0", "leafbase": "6.0"},
    "test-connection": {"tcpport": "6.0", "traceroute": "6.0", "ping": "6.0"},
}
for _table in PARAM_RULES.values():
    for _k in [k for k, v in _table.items() if not v]:
        del _table[_k]

WHERE_ALLOWED = {"filterscript", "inputobject"} | COMMON_PARAMS_V2
FOREACH_ALLOWED = {"process", "begin", "end", "inputobject"} | COMMON_PARAMS_V2

TYPE_RULES = {
    "ordered": "3.0 ([ordered] needs PS 3.0)",
    "pscustomobject": "3.0 (on 2.0 no hashtable->object cast; use New-Object PSObject -Property)",
    "system.management.automation.pscustomobject": "3.0 (no hashtable->object cast on 2.0)",
    "nullstring": "3.0", "system.management.automation.language.nullstring": "3.0",
    "ciminstance": "3.0", "microsoft.management.infrastructure.ciminstance": "3.0",
    "cimclass": "3.0", "cimtype": "3.0", "cimconverter": "3.0", "cimsession": "3.0",
    "supportswildcards": "4.0", "psdefaultvalue": "4.0", "validatedrive": "4.0",
    "validateuserdrive": "4.0", "argumentcompleter": "5.0", "argumentcompletions": "6.0",
    "semver": "6.0", "experimental": "7.0", "validatenotnullorwhitespace": "7.4",
    "noRunspaceAffinity".lower(): "7.4",
}

OPERATOR_RULES = {
    op: "needs PS 3.0"
    for op in ("-in", "-iin", "-cin", "-notin", "-inotin", "-cnotin", "-shl", "-shr")
}

VARIABLE_RULES = {
    "psitem": "$PSItem needs PS 3.0 (use $_)",
    "pscommandpath": "$PSCommandPath needs PS 3.0",
    "psdefaultparametervalues": "$PSDefaultParameterValues needs PS 3.0",
    "psscriptroot": "$PSScriptRoot is set only inside modules on PS 2.0",
    "psemailserver": "$PSEmailServer needs PS 3.0",
    "psmoduleautoloadingpreference": "needs PS 3.0",
    "psedition": "$PSEdition needs PS 5.1",
    "iswindows": "needs PS 6", "islinux": "needs PS 6", "ismacos": "needs PS 6",
    "iscoreclr": "needs PS 6", "psstyle": "needs PS 7.2",
    "psnativecommandargumentpassing": "needs PS 7.3",
    "informationpreference": "needs PS 5.0",
}

STRAY_KEYWORDS = {"else", "elseif", "catch", "finally", "until"}
FORBIDDEN_COMMANDS = {"invoke-expression": "Invoke-Expression is forbidden in generated code"}
PS3008_COMMANDS = {
    "using": "'using' statements need PS 5.0",
    "configuration": "DSC configuration needs PS 4.0",
}

# Member enumeration heuristic: members an array itself has (System.Array / IList / object).
ARRAY_MEMBERS = {
    "count", "length", "longlength", "rank", "syncroot", "isreadonly", "isfixedsize",
    "issynchronized", "contains", "indexof", "clone", "copyto", "getenumerator", "gettype",
    "tostring", "equals", "gethashcode", "getlength", "getlonglength", "getvalue", "setvalue",
    "getupperbound", "getlowerbound", "psobject", "psbase", "psextended", "psadapted",
    "pstypenames",
}

_PASSTHROUGH = {
    "pipeline", "pipeline_chain", "logical_expression", "bitwise_expression",
    "comparison_expression", "additive_expression", "multiplicative_expression",
    "format_expression", "range_expression", "array_literal_expression", "unary_expression",
    "left_assignment_expression", "argument_expression", "logical_argument_expression",
    "bitwise_argument_expression", "comparison_argument_expression",
    "additive_argument_expression", "multiplicative_argument_expression",
    "format_argument_expression", "range_argument_expression",
}

_REQUIRES_RE = re.compile(r"^#requires\b(.*)$", re.IGNORECASE | re.DOTALL)
_REQ_VERSION_RE = re.compile(r"-version\s+['\"]?(\d+)", re.IGNORECASE)
_REQ_NEWER_RE = re.compile(r"-(modules|psedition|runasadministrator|assembly)\b", re.IGNORECASE)
_PS6_ESCAPE_RE = re.compile(r"(`+)(e|u\{)")
_METHOD_FALLBACK_RE = re.compile(r"\.\s*(ForEach|Where)\s*\(", re.IGNORECASE)


# ------------------------------------------------------------------ helpers


def unwrap(node: ts.Node) -> ts.Node:
    """Descend through single-child expression wrappers to the interesting node."""
    while node.type in _PASSTHROUGH and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def command_name(p: Parsed, cmd: ts.Node) -> tuple[str, ts.Node] | None:
    """Lower-cased command name (quotes and `Module\\` prefix stripped) and its node."""
    for child in cmd.named_children:
        if child.type in ("command_name", "command_name_expr"):
            text = p.node_text(child).translate(_NORM).strip()
            if child.type == "command_name_expr":
                if any(c.type in ("variable", "sub_expression", "parenthesized_expression",
                                  "script_block_expression", "member_access")
                       for c in walk(child)):
                    return None  # dynamic: not knowable statically
                text = text.strip("'\"")
            text = text.rsplit("\\", 1)[-1].lower()
            return text, child
    return None


_NORM = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2015": "-"})


def _param_name(text: str) -> str:
    return text.lstrip("-\u2013\u2014\u2015").split(":", 1)[0].lower()


def _command_elements(cmd: ts.Node) -> list[ts.Node]:
    for child in cmd.named_children:
        if child.type == "command_elements":
            return [c for c in child.named_children if c.type != "command_argument_sep"]
    return []


def _variable_name(text: str) -> str:
    name = text[1:]
    if name.startswith("{") and name.endswith("}"):
        name = name[1:-1]
    return name.lower()


def _masked_code(p: Parsed) -> str:
    """The normalised text with strings and comments blanked (for regex fallbacks)."""
    chars = list(p.text)
    for n in walk(p.root):
        if n.type in ("string_literal", "comment"):
            start = len(p.data[: n.start_byte].decode("utf-8"))
            end = start + len(p.data[n.start_byte : n.end_byte].decode("utf-8"))
            for i in range(start, end):
                if chars[i] not in "\r\n":
                    chars[i] = " "
    return "".join(chars)


# ------------------------------------------------------------------ the walk


def check_ps2(src: str | Parsed, *, member_enumeration: bool = True) -> list[Finding]:
    """Syntax findings, then PS 2.0 compatibility findings, for one script."""
    p = src if isinstance(src, Parsed) else parse(src)
    out = list(syntax_errors(p))
    defined_functions = {
        p.node_text(fn).lower()
        for n in walk(p.root)
        if n.type == "function_statement"
        for fn in n.named_children
        if fn.type == "function_name"
    }
    array_vars: dict[str, bool] = {}
    member_uses: list[tuple[str, ts.Node, ts.Node]] = []

    def add(node: ts.Node, code: str, message: str, snippet: str | None = None) -> None:
        out.append(p.finding(node, code, message, snippet))

    for n in walk(p.root):
        t = n.type
        if t == "command":
            _check_command(p, n, defined_functions, add)
        elif t == "type_name" and (n.parent is None or n.parent.type != "type_name"):
            name = p.node_text(n).lower()
            if name in TYPE_RULES:
                add(n, "PS3003", f"type [{p.node_text(n)}] needs PS {TYPE_RULES[name]}")
        elif t == "comparison_operator":
            op = p.node_text(n).translate(_NORM).lower()
            if op in OPERATOR_RULES:
                add(n, "PS3004", f"operator {op} {OPERATOR_RULES[op]}")
        elif t == "attribute_argument":
            named = n.named_children
            if len(named) == 1 and named[0].type == "simple_name":
                add(n, "PS3005", "attribute argument without a value needs PS 3.0 "
                    "(write Mandatory = $true)")
        elif t == "variable":
            text = p.node_text(n)
            name = _variable_name(text)
            if name.startswith("using:"):
                add(n, "PS3006", "$using: scope needs PS 3.0")
            elif name in VARIABLE_RULES:
                add(n, "PS3006", VARIABLE_RULES[name])
        elif t == "invokation_expression":
            _check_invocation(p, n, add)
        elif t in ("class_statement", "enum_statement"):
            add(n, "PS3008", f"{t.split('_')[0]} definitions need PS 5.0")
        elif t in ("parallel_statement", "sequence_statement", "inlinescript_statement"):
            add(n, "PS3008", "workflow constructs need PS 3.0")
        elif t == "function_statement":
            if any(not c.is_named and c.type == "workflow" for c in n.children):
                add(n, "PS3008", "workflows need PS 3.0")
        elif t == "stop_parsing":
            add(n, "PS3009", "stop-parsing token --% needs PS 3.0")
        elif t in ("file_redirection_operator", "merging_redirection_operator"):
            op = p.node_text(n)
            if op[:1] in "3456*":
                add(n, "PS3010", f"redirection {op} needs PS 3.0 (only 1/2 streams on 2.0)")
        elif t == "pipeline_chain_tail" or (not n.is_named and t in ("&&", "||")):
            add(n, "PS3011", f"pipeline chain operator {p.node_text(n)[:2]} needs PS 7.0")
        elif t == "comment":
            _check_comment(p, n, add)
        elif t in ("expandable_string_literal", "expandable_here_string_literal"):
            for m in _PS6_ESCAPE_RE.finditer(p.node_text(n)):
                if len(m.group(1)) % 2 == 1:
                    add(n, "PS3014", f"escape `{m.group(2)} needs PS 6 (literal text on 2.0)")
        elif t == "assignment_expression" and member_enumeration:
            _track_assignment(p, n, array_vars)
        elif t == "foreach_statement" and member_enumeration:
            for c in n.named_children:
                if c.type == "variable":
                    array_vars[_variable_name(p.node_text(c))] = False
                    break
        elif t == "member_access" and member_enumeration:
            target = n.named_children[0] if n.named_children else None
            member = next((c for c in n.named_children if c.type == "member_name"), None)
            if target is not None and member is not None:
                member_uses.append(("", target, member))
    if member_enumeration:
        _check_member_enumeration(p, array_vars, member_uses, add)

    # `.ForEach(` is a syntax error in this grammar (keyword clash): name it explicitly.
    if any(f.code == "PS0001" for f in out):
        masked = _masked_code(p)
        for m in _METHOD_FALLBACK_RE.finditer(masked):
            line = masked.count("\n", 0, m.start()) + 1
            col = m.start() - (masked.rfind("\n", 0, m.start()) + 1) + 1
            out.append(Finding(line, col, "PS3007", f".{m.group(1)}() method needs PS 4.0",
                               m.group(0)))
    return out


def _check_command(p: Parsed, n: ts.Node, defined: set[str], add) -> None:  # type: ignore[no-untyped-def]
    got = command_name(p, n)
    if got is None:
        return
    raw, name_node = got
    name = ALIASES.get(raw, raw)
    if raw in STRAY_KEYWORDS:
        add(name_node, "PS9002", f"stray '{raw}' runs as a command (a statement is broken)")
        return
    if name in FORBIDDEN_COMMANDS:
        add(name_node, "PS9001", FORBIDDEN_COMMANDS[name])
        return
    if raw in PS3008_COMMANDS:
        add(name_node, "PS3008", PS3008_COMMANDS[raw])
        return
    if name not in defined:
        if name in CMDLET_RULES:
            add(name_node, "PS3001", f"command '{name}' {CMDLET_RULES[name]}")
        elif _SERVER2012_PATTERN.match(name):
            add(name_node, "PS3001", f"command '{name}' {_S2012}")
    elements = _command_elements(n)
    params = [e for e in elements if e.type == "command_parameter"]
    table = PARAM_RULES.get(name, {})
    for i, e in enumerate(elements):
        if e.type != "command_parameter":
            continue
        pname = _param_name(p.node_text(e))
        if pname in GLOBAL_PARAM_RULES:
            add(e, "PS3002", f"parameter -{pname} {GLOBAL_PARAM_RULES[pname]}")
        elif pname in table:
            add(e, "PS3002", f"{name} -{pname} needs PS {table[pname]}")
        if pname in ("erroraction", "ea", "warningaction", "wa"):
            value = p.node_text(e).split(":", 1)[1] if ":" in p.node_text(e) else (
                p.node_text(elements[i + 1]) if i + 1 < len(elements) else "")
            if value.strip("'\" ").lower() in ("ignore", "suspend"):
                add(e, "PS3002", f"-{pname} {value.strip()} needs PS 3.0")
    if name == "where-object":
        bad = [e for e in params if _param_name(p.node_text(e)) not in WHERE_ALLOWED]
        positional = [e for e in elements if e.type != "command_parameter"]
        first_ok = not positional or unwrap(positional[0]).type == "script_block_expression"
        if bad or not first_ok:
            add(bad[0] if bad else positional[0], "PS3012",
                "simplified Where-Object syntax needs PS 3.0 (use a script block)")
    elif name == "foreach-object":
        bad = [e for e in params if _param_name(p.node_text(e)) not in FOREACH_ALLOWED]
        positional = [e for e in elements if e.type != "command_parameter"]
        first_ok = not positional or unwrap(positional[0]).type == "script_block_expression"
        if bad or not first_ok:
            add(bad[0] if bad else positional[0], "PS3012",
                "simplified ForEach-Object syntax / -MemberName needs PS 3.0 (use a script block)")


def _check_invocation(p: Parsed, n: ts.Node, add) -> None:  # type: ignore[no-untyped-def]
    member = next((c for c in n.named_children if c.type == "member_name"), None)
    if member is None:
        return
    name = p.node_text(member).lower()
    static = any(not c.is_named and c.type == "::" for c in n.children)
    if static and name == "new":
        add(n, "PS3007", "[T]::new() needs PS 5.0 (use New-Object)", first_line(p.node_text(n)))
    elif name in ("where", "foreach"):
        add(member, "PS3007", f".{p.node_text(member)}() method needs PS 4.0")
    elif name == "invokescript":
        add(member, "PS9001", "InvokeScript() is dynamic code execution, forbidden")


def _check_comment(p: Parsed, n: ts.Node, add) -> None:  # type: ignore[no-untyped-def]
    text = p.node_text(n).translate(_NORM)
    m = _REQUIRES_RE.match(text)
    if not m:
        return
    v = _REQ_VERSION_RE.search(m.group(1))
    if v and int(v.group(1)) > 2:
        add(n, "PS3013", f"#requires -Version {v.group(1)}: the hosts run PS 2.0")
    newer = _REQ_NEWER_RE.search(m.group(1))
    if newer:
        add(n, "PS3013", f"#requires -{newer.group(1)} needs PS 3.0+")


def _track_assignment(p: Parsed, n: ts.Node, array_vars: dict[str, bool]) -> None:
    named = n.named_children
    if len(named) < 3:
        return
    left = unwrap(named[0])
    if left.type != "variable":
        return
    op = p.node_text(named[1]).strip()
    value = unwrap(named[2])
    is_array = op == "=" and (
        value.type == "array_expression"
        or (value.type == "array_literal_expression" and value.named_child_count > 1)
    )
    name = _variable_name(p.node_text(left))
    if op == "+=" and array_vars.get(name, False):
        return  # $a += x keeps an array an array
    array_vars[name] = array_vars.get(name, True) and is_array


def _check_member_enumeration(p: Parsed, array_vars, member_uses, add) -> None:  # type: ignore[no-untyped-def]
    for _, target, member in member_uses:
        mname = p.node_text(member).lower()
        if mname in ARRAY_MEMBERS:
            continue
        t = unwrap(target)
        if t.type == "array_expression":
            add(member, "PS3015", f"member enumeration @(...).{p.node_text(member)} needs PS 3.0")
        elif t.type == "variable" and array_vars.get(_variable_name(p.node_text(t))):
            add(member, "PS3015",
                f"member enumeration {p.node_text(t)}.{p.node_text(member)} on an array "
                "needs PS 3.0 (use ForEach-Object)")
