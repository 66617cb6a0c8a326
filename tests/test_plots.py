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
    assert label == "160°W" and ax.yaxis.get_major_formatter()(-10.0, 0) == "10°S"
    mesh = next(c for c in ax.collections if type(c).__name__ == "QuadMesh")
    assert mesh.get_clim() == (-1.0, 1.0) and mesh.get_cmap().name == "RdBu_r"


def test_skill_map_figure(heat_and_truth):
    heat, truth = heat_and_truth
    skill = xattrib.summary.skill_map(heat, truth)
    fig = plots.plot_skill(skill)
    vals = [c.get_array() for ax in fig.axes for c in ax.collections
            if type(c).__name__ == "QuadMesh"]
    assert np.nanmax(np.abs(np.concatenate([np.ravel(v) for v in vals]))) == pytest.approx(1.0)


def test_maps_take_sample_labels_and_show_r(heat_and_truth):
    """samples= are the labels the rows show (they were positions), each method panel has
    its r with the truth, ticks are readable and land is grey, not white like zero."""
    heat, truth = heat_and_truth
    heat, truth = heat.isel(sample=slice(5, 10)), truth.isel(sample=slice(5, 10))
    fig = plots.plot_maps(heat, truth, samples=[7])
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert axes[0].get_ylabel() == "sample 7"
    mesh = next(c for c in axes[0].collections if type(c).__name__ == "QuadMesh")
    shown = np.ma.filled(mesh.get_array(), np.nan).ravel()
    t = truth.sel(sample=7).values.ravel()
    want = t / np.nanmax(np.abs(t))
    np.testing.assert_allclose(shown[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-6)
    assert axes[1].get_title().endswith("r = 1.00") and axes[2].get_title().endswith("r = -1.00")
    for ax in axes:
        assert all(t.get_fontsize() >= 8 for t in ax.get_xticklabels() + ax.get_yticklabels())
        assert ax.get_facecolor()[:3] == pytest.approx((0.8, 0.8, 0.8))


def test_longitudes_west_of_greenwich():
    assert [plots.lon_label(v) for v in (280.0, -80.0, 0.0, 360.0, 90.0, 180.0, -180.0)] == \
        ["80°W", "80°W", "0°", "0°", "90°E", "180°", "180°"]


def test_colour_bar_label_inside_the_figure(heat_and_truth):
    heat, truth = heat_and_truth
    fig = plots.plot_maps(heat, truth)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            lab = ax.xaxis.label.get_window_extent(renderer)
            assert box.x0 <= lab.x0 and lab.x1 <= box.x1 and box.y0 <= lab.y0 <= box.y1


def test_pole_row_is_one_value():
    g = xattrib.grid.make_grid(30.0, mask=None)
    lat = np.array([-90.0, -60, -30, 0, 30, 60, 90])
    da = xr.DataArray(np.arange(7 * 12, dtype=float).reshape(7, 12), dims=("lat", "lon"),
                      coords={"lat": ("lat", lat, {"units": "degrees_north"}),
                              "lon": ("lon", g.lon.values, {"units": "degrees_east"})})
    heat = xr.Dataset({"attribution": da.expand_dims(xai_method=["a"], sample=[0])})
    fig = plots.plot_maps(heat, da.expand_dims(sample=[0]))
    shown = np.ma.filled(fig.axes[0].collections[0].get_array(), np.nan).reshape(7, 12)
    for row in (0, 6):
        assert np.ptp(shown[row]) == 0
    assert np.ptp(shown[3]) > 0


def test_coastlines_on_your_own_axes(heat_and_truth):
    import matplotlib.pyplot as plt

    _, truth = heat_and_truth
    fig, ax = plt.subplots()
    cs = plots.add_coastlines(ax, truth)
    assert sum(len(s) for s in cs.allsegs) > 0  # the Pacific's coasts are in the domain
    plt.close(fig)


def test_band_curves_with_reference_and_wavelength_axis(tmp_path):
    b = xattrib.datasets.pacific_sst().xattrib.benchmark(n_samples=12, seed=0)
    exact = xattrib.Model.exact(b)
    t = xattrib.trim(b, exact, methods=["gradient", "integrated_gradients"], progress=False)
    fig = plots.plot_bands(t, reference=t.sel(xai_method=["integrated_gradients"]),
                           path=tmp_path / "bands.png")
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    med = np.median(np.abs(t["attribution"].sel(xai_method="gradient").values), 0)
    np.testing.assert_allclose(lines["gradient"].get_ydata(), med, rtol=1e-6)
    assert lines["exact F"].get_linestyle() == "--"
    np.testing.assert_allclose(lines["exact F"].get_ydata(), np.median(np.abs(
        t["attribution"].sel(xai_method="integrated_gradients").values), 0), rtol=1e-6)
    assert len(ax.collections) == 2  # a shaded spread per method
    sec = [c for c in ax.child_axes if "wavelength" in c.get_xlabel()]
    assert sec and (tmp_path / "bands.png").stat().st_size > 0


def test_figures_of_one_input_variable_name_it(heat_and_truth):
    """Maps and skill of two variables look alike: each figure says which variable."""
    heat, truth = heat_and_truth
    one = heat.assign(attribution=heat["attribution"].assign_attrs(input_variable="slp"))
    assert plots.plot_maps(one, truth)._suptitle.get_text() == "input variable slp"
    skill = xattrib.summary.skill_map(heat, truth).expand_dims(input_variable=["sst"])
    fig = plots.plot_skill(skill.sel(input_variable="sst"))
    assert fig._suptitle.get_text() == "input variable sst"
    assert plots.plot_maps(heat, truth)._suptitle is None  # one variable: no title
