"""The documentation site builds offline, warning-free, with every notebook executed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOTEBOOKS = sorted(p.stem for p in (DOCS.parent / "examples").glob("*.py"))

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "XATTRIB_EXAMPLE_SIZE": "small"}
    res = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        capture_output=True, text=True, env=env, timeout=2400)
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-6000:])
    return out / "html"


def test_accessor_api_is_documented(site):
    for name in ("Dataset.xattrib.benchmark", "Dataset.xattrib.trim",
                 "Dataset.xattrib.attribute", "DataArray.xattrib.score"):
        page = site / "generated" / f"xarray.{name}.html"
        assert page.exists(), name
        assert name in page.read_text(encoding="utf-8")
    api = (site / "api.html").read_text(encoding="utf-8")
    assert "Dataset.xattrib.benchmark" in api and "xattrib.trim" in api


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executed_with_outputs(site, name):
    html = (site / "examples" / f"{name}.html").read_text(encoding="utf-8")
    assert "cell_output" in html, f"{name}: no executed output on the page"


def test_pages_with_figures(site):
    for page in ("index", "examples/quickstart", "examples/baselines", "examples/trim_bands",
                 "examples/cosmology"):
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        assert "<img" in html, f"{page}: no figure"


def test_first_benchmark_numbers_match_the_command(site, tmp_path):
    """A reader running the command beside "Your first benchmark" sees its numbers."""
    html = (site / "examples" / "quickstart.html").read_text(encoding="utf-8")
    res = subprocess.run([sys.executable, str(DOCS.parent / "examples" / "quickstart.py"),
                          "--small", "--out", str(tmp_path)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    line = next(s for s in res.stdout.splitlines() if s.startswith("model R²"))
    assert line in html.replace("&lt;", "<").replace("&gt;", ">")
