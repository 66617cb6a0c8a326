"""The documentation site builds offline, warning-free, with every notebook executed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOTEBOOKS = sorted(p.stem for p in (DOCS.parent / "examples").glob("*.py"))

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")


# every test that reads the built site runs on one xdist worker (``--dist loadgroup``), so
# the site (every example executed as a notebook) is built once per run
@pytest.mark.xdist_group("docs")
def test_accessor_api_is_documented(site):
    for name in ("Dataset.xattrib.benchmark", "Dataset.xattrib.trim",
                 "Dataset.xattrib.attribute", "DataArray.xattrib.score"):
        page = site / "generated" / f"xarray.{name}.html"
        assert page.exists(), name
        assert name in page.read_text(encoding="utf-8")
    api = (site / "api.html").read_text(encoding="utf-8")
    assert "Dataset.xattrib.benchmark" in api and "xattrib.trim" in api


@pytest.mark.xdist_group("docs")
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executed_with_outputs(site, name):
    html = (site / "examples" / f"{name}.html").read_text(encoding="utf-8")
    assert "cell_output" in html, f"{name}: no executed output on the page"


@pytest.mark.xdist_group("docs")
def test_pages_with_figures(site):
    for page in ("index", "examples/quickstart", "examples/baselines", "examples/trim_bands",
                 "examples/cosmology"):
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        assert "<img" in html, f"{page}: no figure"


@pytest.mark.xdist_group("docs")
def test_first_benchmark_numbers_match_the_command(site, tmp_path):
    """A reader running the command beside "Your first benchmark" sees its numbers."""
    html = (site / "examples" / "quickstart.html").read_text(encoding="utf-8")
    res = subprocess.run([sys.executable, str(DOCS.parent / "examples" / "quickstart.py"),
                          "--small", "--out", str(tmp_path)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    line = next(s for s in res.stdout.splitlines() if s.startswith("model R²"))
    assert line in html.replace("&lt;", "<").replace("&gt;", ">")


README_PATH = [
    # the quickstart, at a small size
    """import xattrib
sst = xattrib.datasets.pacific_sst()
bench = sst.xattrib.benchmark(n_samples=2_000, seed=0)
model = bench.xattrib.fit(epochs=1, samples_per_epoch=20_000)
test = bench.isel(sample=slice(-20, None))
heat = test.xattrib.attribute(model, methods=["integrated_gradients", "gradient"])
scores = heat.xattrib.score(test["truth"])
xattrib.io.write_together({"heat.nc": heat, "scores.nc": scores})
xattrib.plots.plot_maps(heat, test["truth"], samples=[1990, 1995])""",
    # one's own anomalies and a plain torch network of one's own
    """import torch, warnings, xarray as xr
from eofs.examples import example_data_path
with warnings.catch_warnings():  # the file's own ambiguous "hours since 1-1-1" units
    warnings.filterwarnings("ignore", "Ambiguous reference date")
    z = xr.open_dataset(example_data_path("hgt_djf.nc"))["z"].squeeze("pressure", drop=True)
z = (z - z.mean("time")).isel(latitude=slice(0, 12), longitude=slice(0, 16))
own = z.xattrib.benchmark(n_samples=500, seed=1)
net = torch.nn.Sequential(torch.nn.Linear(int(own["mask"].sum()), 8), torch.nn.ReLU(),
                          torch.nn.Linear(8, 1))
mine = xattrib.Model.from_module(net, like=own)
mine_heat = own.isel(sample=slice(0, 10)).xattrib.attribute(mine, methods="gradient")
mine_heat.xattrib.to_netcdf("mine.nc")""",
    # TRIM and its band curves
    """bands = test.xattrib.trim(model, transform="fourier", method=["integrated_gradients", "cd"])
ref = test.xattrib.trim(xattrib.Model.exact(bench), method="integrated_gradients")
xattrib.plots.plot_bands(bands, reference=ref)
print(xattrib.io.check_cf("heat.nc"), xattrib.io.check_cf("mine.nc"))""",
]


def test_readme_notebook_path_runs_in_jupyter_without_a_warning(tmp_path):
    """The README's path in a real Jupyter kernel: no warning, no "IProgress not found"
    (ipywidgets is part of the set-up), the written files pass the CF check."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in README_PATH]
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    said = []
    for cell in nb.cells:
        for out in cell.outputs:
            assert out.output_type != "error", out
            if out.output_type == "stream":
                said.append(out.text)
    text = "".join(said)
    assert "Warning" not in text and "IProgress" not in text, text[-3000:]
    assert "[] []" in text  # check_cf of the written heatmaps
    assert (tmp_path / "scores.nc").exists()
