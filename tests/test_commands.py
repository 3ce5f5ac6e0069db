"""Every console command pyproject.toml installs starts and answers --help.

Nothing else runs the installed commands: `vae-fit-prior` once pointed at a module that had been
renamed, and only a user found out.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
    "scripts"
]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_answers_help(name: str) -> None:
    """The installed script beside this Python (what a user runs after `pip install`), or the
    entry point itself when the environment was installed before the command was added."""
    installed = Path(sys.executable).parent / name
    module, function = COMMANDS[name].split(":")
    command = (
        [str(installed), "--help"]
        if installed.exists()
        else [sys.executable, "-c", f"from {module} import {function}; {function}(['--help'])"]
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout, done.stdout[:500]
    if installed.exists():
        assert name in done.stdout.split("\n", 1)[0]  # the usage line names the command


def test_each_entry_point_names_a_function_that_exists() -> None:
    """Checked from pyproject.toml itself, so a stale installation cannot hide a bad target."""
    for name, target in COMMANDS.items():
        module, function = target.split(":")
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}; assert callable({module}.{function})"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert done.returncode == 0, f"{name} = {target}: {done.stderr[-500:]}"
