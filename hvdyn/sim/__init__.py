"""The simulated Windows Server 2008 R2 SP1 Hyper-V host behind the mock transport.

Public API: `load_fixture` (YAML -> HostState), `load_state` / `save_state` /
`session` / `reset` (state in `<state_dir>/sim/`), and `run_script` (the
discover/apply/collect scripts as record dicts).
"""

from __future__ import annotations

from hvdyn.sim.fixture import load_fixture, parse_fixture
from hvdyn.sim.hostfiles import load_state, reset, save_state, session, state_path
from hvdyn.sim.runner import run_script
from hvdyn.sim.state import HostState

__all__ = [
    "HostState",
    "load_fixture",
    "load_state",
    "parse_fixture",
    "reset",
    "run_script",
    "save_state",
    "session",
    "state_path",
]
