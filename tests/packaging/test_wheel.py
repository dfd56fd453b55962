"""The wheel ships the templates: build it, install it apart, render from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

RENDER_FROM_INSTALLED = """
import hvdyn, hvdyn.powershell.templates
from hvdyn.powershell.params import discover_params
script = hvdyn.powershell.templates.render_script("discover", discover_params("hv01"))
print(hvdyn.__file__)
print(hvdyn.powershell.templates.template_dir())
print(len(script.text))
"""


@pytest.mark.slow
def test_installed_wheel_renders_templates_from_the_package(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = dist.glob("hvdyn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for template in ("discover.ps1.j2", "apply.ps1.j2", "collect.ps1.j2"):
        assert f"hvdyn/templates/{template}" in names
    assert not any(n.startswith("tests/") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [sys.executable, "-c", RENDER_FROM_INSTALLED],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    module_file, template_dir, length = proc.stdout.split()
    assert Path(module_file).is_relative_to(target)
    assert Path(template_dir).is_relative_to(target)
    assert int(length) > 500
