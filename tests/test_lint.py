"""The linters the project configures (pyproject's [tool.ruff] and [tool.mypy]) pass.

They run inside the suite so that the README's one test command, which CI runs, checks them
too.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; the test set-up (.ci/setup) installs it")
    return found


def test_ruff():
    res = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_mypy():
    res = subprocess.run([_tool("mypy"), "xattrib"], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
