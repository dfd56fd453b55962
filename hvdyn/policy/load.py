"""Policy file -> `Policy`, every user mistake located at FILE:LINE:COL.

Loading happens in two passes: pydantic checks shape and single values
(positions come from `yamlpos`), then the checks across fields (duplicate rule
names, startup > maximum) run on the validated model; `hvdyn.policy.errors`
words both. What is left is compiled into the `Policy` that `resolve`s VMs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError

from hvdyn.core.errors import PolicyError, raise_located
from hvdyn.core.fileio import read_input
from hvdyn.core.model import DesiredValue, Provenance, SettingName
from hvdyn.core.yamlpos import KeyPath, YamlDoc, parse_yaml
from hvdyn.policy.errors import cross_checks, translate
from hvdyn.policy.evaluate import Policy, Rule
from hvdyn.policy.match import Matcher
from hvdyn.policy.schema import DEFAULT_HOST_RESERVE_MB, SET_FIELDS, PolicyModel, SetModel


def load_policy(path: Path) -> Policy:
    """Read, validate and compile a policy file; raise located errors for user mistakes."""
    file = str(path)
    raw = read_input(path, PolicyError)  # a file it cannot read: "FILE: cannot read: why"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(file, 1, 1, "", f"not UTF-8 text ({exc.reason})") from None
    doc = parse_yaml(text, file, PolicyError)
    if doc.data is None:
        raise PolicyError(file, 1, 1, "", "the file is empty", "a mapping with version: 1")
    try:
        model = PolicyModel.model_validate(doc.data)
    except ValidationError as exc:
        raise_located([translate(doc, err) for err in exc.errors()])
        raise  # not reached: pydantic reports at least one error
    raise_located(cross_checks(doc, model))
    return _compile_policy(path, hashlib.sha256(raw).hexdigest(), doc, model)


def _set_values(doc: YamlDoc, where: KeyPath, s: SetModel, source: str
                ) -> dict[SettingName, DesiredValue]:
    out: dict[SettingName, DesiredValue] = {}
    for key in SET_FIELDS:  # file-independent, stable order
        if key not in s.model_fields_set:
            continue
        value = getattr(s, key)
        line = doc.pos((*where, key)).line
        out[SET_FIELDS[key]] = DesiredValue(
            value=value, provenance=Provenance(source=source, file=doc.file, line=line)
        )
    return out


def _compile_policy(path: Path, digest: str, doc: YamlDoc, model: PolicyModel) -> Policy:
    rules = tuple(
        Rule(
            name=r.name,
            line=doc.pos(("rules", i)).line,
            index=i,
            matcher=Matcher.build(r.match, doc.pos(("rules", i, "match")).line),
            values=_set_values(doc, ("rules", i, "set"), r.set, r.name),
            restart=r.restart,
        )
        for i, r in enumerate(model.rules)
    )
    excludes = tuple(
        Matcher.build(m, doc.pos(("exclude", i)).line) for i, m in enumerate(model.exclude)
    )
    inventory = None if model.inventory is None else (path.parent / model.inventory).resolve()
    where = doc.pos(("inventory",)) if model.inventory is not None else None
    return Policy(
        path=path,
        digest=digest,
        inventory_path=inventory,
        inventory_at=(where.line, where.col) if where is not None else (0, 0),
        host_reserve_mb=(
            DEFAULT_HOST_RESERVE_MB if model.host.reserve is None else model.host.reserve
        ),
        max_overcommit=model.host.max_overcommit,
        defaults=_set_values(doc, ("defaults",), model.defaults, "defaults"),
        rules=rules,
        excludes=excludes,
    )
