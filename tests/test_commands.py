"""Every console command pyproject.toml installs starts and answers --help.

Nothing else runs the installed commands: `vae-fit-prior` once pointed at a module that had been
renamed, and only a user found out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
    "scripts"
]
# One process imports each command's module and calls its function with --help, as the
# installed script does (one torch import for all of them, not one per command).
HELP_OF_EACH = """
import contextlib, importlib, io, json, sys
found = {}
for name, target in json.loads(sys.argv[1]).items():
    module, function = target.split(":")
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            getattr(importlib.import_module(module), function)(["--help"])
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    except Exception as error:
        code, out = repr(error), io.StringIO(repr(error))
    found[name] = [code, out.getvalue()]
print(json.dumps(found))
"""


def test_each_command_answers_help() -> None:
    """Checked from pyproject.toml itself, so a stale installation cannot hide a bad target."""
    done = subprocess.run(
        [sys.executable, "-c", HELP_OF_EACH, json.dumps(COMMANDS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (code, text) in answers.items():
        assert code == 0, f"{name} = {COMMANDS[name]}: {text[-500:]}"
        assert "usage:" in text, f"{name}: {text[:300]}"


def test_the_installed_scripts_are_the_declared_ones() -> None:
    """The scripts beside this Python (what a user runs after `pip install`) exist for every
    declared command, and the first of them starts."""
    folder = Path(sys.executable).parent
    missing = [name for name in COMMANDS if not (folder / name).exists()]
    assert missing == [], f"not installed: {missing} (reinstall: pip install -e .)"
    done = subprocess.run(
        [str(folder / "vae-export"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.startswith("usage: vae-export")
