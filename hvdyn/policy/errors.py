"""Everything wrong with a policy file, as `PolicyError`s at FILE:LINE:COL.

Two sources: pydantic's errors about shape and single values (`translate`),
and the checks across fields that run on the validated model (`cross_checks`).
"""

from __future__ import annotations

from pydantic_core import ErrorDetails

from hvdyn.core.errors import PolicyError
from hvdyn.core.sizes import startup_above_maximum
from hvdyn.core.yamlpos import KeyPath, YamlDoc
from hvdyn.policy.schema import ALLOWED_KEYS, PolicyModel, SetModel, show_value


def located(
    doc: YamlDoc,
    path: KeyPath,
    message: str,
    allowed: str | None = None,
    *,
    key: bool = False,
    at: KeyPath | None = None,
) -> PolicyError:
    """A `PolicyError` about `path`, where it is in the file (see `YamlDoc.located`)."""
    return doc.located(PolicyError, path, message, allowed, key=key, at=at)


def translate(doc: YamlDoc, err: ErrorDetails) -> PolicyError:
    """One of pydantic's errors as hvdyn says it, at the key or value it is about."""
    loc: KeyPath = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    allowed: str | None = None
    at_key = False
    if kind == "extra_forbidden":
        generic = tuple("*" if isinstance(p, int) else p for p in loc[:-1])
        message, allowed, at_key = "unknown key", ALLOWED_KEYS.get(generic), True
    elif kind == "missing":
        return located(doc, loc, "required key missing", at=loc[:-1])
    elif kind == "hvdyn":
        message, allowed = str(ctx["message"]), str(ctx["allowed"]) or None
        if ctx.get("index") is not None:
            loc = (*loc, int(ctx["index"]))
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"expected a mapping, got {show_value(err['input'])}"
    elif kind in ("list_type", "tuple_type"):
        message = f"expected a list, got {show_value(err['input'])}"
    else:  # not expected with the validators above; still located, never a traceback
        message = err["msg"]
    return located(doc, loc, message, allowed, key=at_key)


def cross_checks(doc: YamlDoc, model: PolicyModel) -> list[PolicyError]:
    """Unique rule names, no empty exclude entry, startup <= maximum with defaults."""
    errors: list[PolicyError] = []
    seen: dict[str, int] = {}
    for i, rule in enumerate(model.rules):
        path: KeyPath = ("rules", i, "name")
        if rule.name in seen:
            errors.append(located(
                doc, path, f"duplicate rule name {rule.name!r} (first at line {seen[rule.name]})",
                "unique rule names",
            ))
        else:
            seen[rule.name] = doc.pos(path).line
    for i, entry in enumerate(model.exclude):
        if not entry.model_fields_set:
            errors.append(located(
                doc, ("exclude", i), "an empty exclude entry would exclude every VM",
                ALLOWED_KEYS[("exclude", "*")],
            ))
    error = _startup_vs_maximum(doc, ("defaults",), model.defaults, SetModel())
    if error:
        errors.append(error)
    for i, rule in enumerate(model.rules):
        error = _startup_vs_maximum(doc, ("rules", i, "set"), rule.set, model.defaults)
        if error:
            errors.append(error)
    return errors


def _startup_vs_maximum(
    doc: YamlDoc, where: KeyPath, own: SetModel, base: SetModel
) -> PolicyError | None:
    """startup <= maximum for `own` layered on `base`, unless the result is static.

    A `set` that does not say `dynamic` is checked as dynamic: the VMs it
    reaches may be.
    """
    merged = base.model_copy(update=own.model_dump(exclude_unset=True))
    if merged.startup is None or merged.maximum is None:
        return None
    problem = startup_above_maximum(merged.dynamic is not False, merged.startup, merged.maximum)
    if problem is None:
        return None
    key = next((k for k in ("startup", "maximum", "dynamic") if k in own.model_fields_set), None)
    path: KeyPath = (*where, key) if key else where
    detail = "" if where == ("defaults",) else " (with defaults)"
    return located(doc, path, problem + detail, "startup <= maximum while dynamic")
