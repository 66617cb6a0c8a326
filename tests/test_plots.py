"""Maps: degrees on the axes, zero-centred diverging colours, coastlines from the shipped
land mask (nothing downloaded)."""

import socket

import numpy as np
import pytest
import xarray as xr

import xattrib
from xattrib import plots


@pytest.fixture(scope="module")
def heat_and_truth():
    b = xattrib.datasets.pacific_sst().xattrib.benchmark(n_samples=20, seed=0,
                                                         chunks=20).compute()
    heat = xr.Dataset({"attribution": b["truth"].expand_dims(xai_method=["same", "negated"])
                       * xr.DataArray([1.0, -1.0], dims="xai_method")})
    return heat, b["truth"]


def test_maps_have_coastlines_degrees_and_diverging_scale(heat_and_truth, tmp_path,
                                                          monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("a figure tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    heat, truth = heat_and_truth
    fig = plots.plot_maps(heat, truth, samples=[0], path=tmp_path / "maps.png")
    assert (tmp_path / "maps.png").stat().st_size > 0
    ax = fig.axes[0]
    # a coastline contour drawn from the land mask: some land inside the Pacific domain
    contours = [c for c in ax.collections if c.__class__.__name__ in ("QuadContourSet",
                                                                      "ContourSet")]
    assert contours or any("Contour" in type(c).__name__ for c in ax.get_children())
    label = ax.xaxis.get_major_formatter()(200.0, 0)
    assert label == "200°E" and ax.yaxis.get_major_formatter()(-10.0, 0) == "10°S"
    mesh = next(c for c in ax.collections if type(c).__name__ == "QuadMesh")
    assert mesh.get_clim() == (-1.0, 1.0) and mesh.get_cmap().name == "RdBu_r"


def test_skill_map_figure(heat_and_truth):
    heat, truth = heat_and_truth
    skill = xattrib.summary.skill_map(heat, truth)
    fig = plots.plot_skill(skill)
    vals = [c.get_array() for ax in fig.axes for c in ax.collections
            if type(c).__name__ == "QuadMesh"]
    assert np.nanmax(np.abs(np.concatenate([np.ravel(v) for v in vals]))) == pytest.approx(1.0)
