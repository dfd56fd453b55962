"""Seeded mutation fuzzing of the bundled policies, inventory, fixtures and sim state.

Each case copies examples/ and inventories/ into a fresh directory, mutates
one file (bytes, lines, hostile scalars, deep nesting, truncation), runs one
command in-process and checks the contract: exit code in {0, 1, 2, 3}, no
traceback, exit 3 messages located at FILE:LINE:COL, and every case within
a time bound. HVDYN_FUZZ_CASES sets the number of cases (default 300),
HVDYN_FUZZ_SEED the seed; a failure names the case to replay alone with
HVDYN_FUZZ_ONLY=N.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from hvdyn.sim import state_path
from tests.runner import run_cli

REPO = Path(__file__).resolve().parents[2]
CASES = int(os.environ.get("HVDYN_FUZZ_CASES", "300"))
SEED = int(os.environ.get("HVDYN_FUZZ_SEED", "11"))
ONLY = os.environ.get("HVDYN_FUZZ_ONLY")
BOUND_S = float(os.environ.get("HVDYN_FUZZ_BOUND_S", "30"))  # per case; the machine is shared
LOCATED = re.compile(r"^hvdyn: [^\n]+?:\d+:\d+: ")
CODES = {0, 1, 2, 3}

POLICIES = sorted(p.name for p in (REPO / "examples").glob("*.yaml"))
FIXTURES = sorted(p.name for p in (REPO / "inventories" / "lab").glob("*.yaml"))

HOSTILE = [
    "", "~", "null", "-1", "0", "1e309", "-0.0", ".nan", "0x10", "0o17", "99999999999999999999",
    "65537MB", "1GB", "3MB", "1.5GB", "true", "FALSE", "yes", "off", '"\\0"', '"a\\0b"',
    '"\\ud800"', '"\\U0001F600"', "'''", '"', "[", "]", "{", "}", "{a: b}", "[1, [2, [3]]]",
    "&anchor x", "*nope", "!!python/object/apply:os.system ['true']", "!vault |\n  x",
    "!!binary aGk=", "<<: {a: 1}", "- a", "? a", "%YAML 1.1", "---", "...", "\t", "|", ">",
    "x" * 5000, "é" * 300, "\u202e" + "evil", "2026-13-45T99:99:99Z", "'*'", "'!*'", "'[a-'",
]


@dataclass(frozen=True)
class Case:
    index: int
    target: str  # path relative to the case dir
    command: tuple[str, ...]
    what: str


def _deep(rng: random.Random) -> str:
    depth = rng.choice([63, 64, 65, 200, 490, 999, 1000, 5000])
    return "[" * depth + "1" + "]" * depth if rng.random() < 0.5 else "{a: " * depth + "1" + (
        "}" * depth)


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random damage to YAML (or JSON) text, and a word on what it was."""
    lines = text.splitlines(keepends=True) or ["\n"]
    kind = rng.randrange(9)
    at = rng.randrange(len(lines))
    if kind == 0:  # a byte changed
        raw = bytearray(text.encode("utf-8"))
        if raw:
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return raw.decode("utf-8", errors="surrogateescape"), "byte changed"
    if kind == 1:
        del lines[at]
        return "".join(lines), f"line {at + 1} deleted"
    if kind == 2:
        lines.insert(at, lines[rng.randrange(len(lines))])
        return "".join(lines), f"line copied to {at + 1}"
    if kind == 3:  # a value replaced by a hostile one
        line = lines[at]
        value = rng.choice(HOSTILE)
        if ":" in line:
            head = line.split(":", 1)[0]
            lines[at] = f"{head}: {value}\n"
        else:
            lines[at] = f"{line.rstrip()} {value}\n"
        return "".join(lines), f"line {at + 1} value {value[:20]!r}"
    if kind == 4:  # deep nesting
        line = lines[at]
        head = line.split(":", 1)[0] if ":" in line else "x"
        lines[at] = f"{head}: {_deep(rng)}\n"
        return "".join(lines), f"line {at + 1} nested deep"
    if kind == 5:
        cut = rng.randrange(len(text) + 1)
        return text[:cut], f"truncated at {cut}"
    if kind == 6:  # indentation changed
        line = lines[at]
        lines[at] = (" " * rng.randrange(1, 5) + line) if rng.random() < 0.5 else line.lstrip()
        return "".join(lines), f"line {at + 1} indented"
    if kind == 7:  # a key added
        indent = " " * rng.choice([0, 2, 4, 6])
        key = rng.choice(["name", "vms", "memory", "startup", "hosts", "vars", "children",
                          "rules", "match", "set", "id", "state", "zz", "hvdyn_transport"])
        lines.insert(at, f"{indent}{key}: {rng.choice(HOSTILE)}\n")
        return "".join(lines), f"key {key} added at {at + 1}"
    chars = list(text)  # characters shuffled in a window
    start = rng.randrange(len(chars) + 1)
    window = chars[start:start + 8]
    rng.shuffle(window)
    chars[start:start + 8] = window
    return "".join(chars), f"shuffled at {start}"


def _cases() -> Iterator[Case]:
    rng = random.Random(SEED)
    for index in range(CASES):
        pick = rng.random()
        if pick < 0.35:
            policy = rng.choice(POLICIES)
            command = rng.choice([("validate",), ("plan",), ("explain", "--vm", "*")])
            yield Case(index, f"examples/{policy}", (command[0], f"examples/{policy}",
                                                     *command[1:]), "policy")
        elif pick < 0.5:
            command = rng.choice(["validate", "plan"])
            yield Case(index, "inventories/lab.yaml", (command, "examples/lab.yaml"), "inventory")
        elif pick < 0.9:
            fixture = rng.choice(FIXTURES)
            command = rng.choice([("validate",), ("plan",), ("apply", "--allow-restart"),
                                  ("render", "-o", "out")])
            yield Case(index, f"inventories/lab/{fixture}",
                       (command[0], "examples/lab.yaml", *command[1:]), "fixture")
        else:
            fixture = rng.choice(FIXTURES)
            yield Case(index, f"state:{fixture}", ("plan", "examples/lab.yaml"), "sim state")


class _TooSlow(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _TooSlow


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-pristine")
    shutil.copytree(REPO / "examples", root / "examples")
    shutil.copytree(REPO / "inventories", root / "inventories")
    return root


def _run_case(case: Case, pristine: Path, work: Path) -> list[str]:
    """Problems found in one case (empty when it kept the contract)."""
    root = work / f"case-{case.index}"
    shutil.copytree(pristine, root)
    rng = random.Random(f"{SEED}:{case.index}")
    state = root / "state"
    cwd = os.getcwd()
    os.chdir(root)
    try:
        if case.target.startswith("state:"):
            fixture = root / "inventories" / "lab" / case.target.removeprefix("state:")
            # writes the state files (read-only commands such as plan leave none behind)
            invoke(("sim", "reset", "-i", "inventories/lab.yaml"), state)
            host = fixture.stem
            path = state_path(state, host, fixture.resolve())
            text, what = mutate(path.read_text("utf-8"), rng)
        else:
            path = root / case.target
            text, what = mutate(path.read_text("utf-8"), rng)
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        started = time.monotonic()
        result = invoke(case.command, state)
        took = time.monotonic() - started
    finally:
        os.chdir(cwd)
    label = f"case {case.index} ({case.what} {case.target}: {what}; {' '.join(case.command)})"
    problems: list[str] = []
    if isinstance(result, _TooSlow):
        return [f"{label}: no result within {BOUND_S} s"]
    code, output, exception = result
    if exception is not None and not isinstance(exception, SystemExit):
        problems.append(f"{label}: {type(exception).__name__}: {exception}"[:600])
    if code not in CODES:
        problems.append(f"{label}: exit code {code}")
    if "Traceback" in output:
        problems.append(f"{label}: traceback in output")
    if code == 3 and not LOCATED.search(output):
        first = output.strip().splitlines()[:1]
        problems.append(f"{label}: exit 3 without FILE:LINE:COL: {first}")
    if took > BOUND_S:
        problems.append(f"{label}: took {took:.1f} s")
    if not problems:
        shutil.rmtree(root, ignore_errors=True)
    return problems


def invoke(command: tuple[str, ...], state: Path
           ) -> tuple[int, str, BaseException | None] | _TooSlow:
    previous: Callable[..., object] | int | None = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, BOUND_S * 2)
    try:
        result = run_cli(*command, state_dir=state, catch_exceptions=True)
    except _TooSlow as exc:
        return exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if isinstance(result.exception, _TooSlow):
        return result.exception
    return result.exit_code, result.stdout + result.stderr, result.exception


@pytest.mark.slow
def test_fuzzed_inputs_keep_the_contract(pristine: Path, tmp_path: Path) -> None:
    problems: list[str] = []
    for case in _cases():
        if ONLY is None or case.index == int(ONLY):
            problems.extend(_run_case(case, pristine, tmp_path))
    assert not problems, f"seed {SEED}: {len(problems)} problems:\n" + "\n".join(problems[:40])


def test_the_mutator_is_deterministic_and_covers_every_kind() -> None:
    text = (REPO / "examples" / "lab.yaml").read_text("utf-8")
    first = [mutate(text, random.Random(f"1:{i}"))[1] for i in range(200)]
    again = [mutate(text, random.Random(f"1:{i}"))[1] for i in range(200)]
    assert first == again
    words = {"byte", "deleted", "copied", "value", "nested", "truncated", "indented", "added",
             "shuffled"}
    assert all(any(w in what for what in first) for w in words)
    json.dumps(first)  # descriptions are plain text
