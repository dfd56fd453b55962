"""The progress line words the engine's (host, Step, VMs) record as the display always has."""

from __future__ import annotations

from hvdyn.cli.progress import step_text
from hvdyn.core.vocab import Step


def test_a_step_without_vms_is_its_word() -> None:
    assert step_text(Step.DISCOVER, ()) == "discover"


def test_a_batch_names_three_vms_at_most() -> None:
    assert step_text(Step.APPLY, ("web-01", "web-02")) == "apply web-01, web-02"
    assert step_text(Step.RESTART, ("a", "b", "c")) == "restart a, b, c"
    assert step_text(Step.APPLY, ("a", "b", "c", "d")) == "apply a, b, c ..."
