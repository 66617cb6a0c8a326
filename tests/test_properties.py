"""Invariants over random small grids, masks, chunkings, responses and seeds (hypothesis).

- the truth is complete: it sums to y − F(baseline) in every sample;
- values do not depend on the chunking (bit for bit);
- a benchmark survives a CF netCDF round trip unchanged (and a generator rebuilt from
  the file draws the same samples);
- every metric stays within its bounds on arbitrary heatmaps.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import xattrib
from xattrib.truth_metrics import TRUTH_METRICS

_SETTINGS = settings(max_examples=20, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def grids(draw):
    """A regular 10° grid of 1–4 × 1–5 cells anywhere on the globe, with a random mask
    (at least one valid cell: a single valid cell is a legal, if tiny, benchmark)."""
    ny, nx = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    south = draw(st.integers(-9, 9 - ny)) * 10
    west = draw(st.integers(-18, 18 - nx)) * 10
    g = xattrib.grid.make_grid(resolution=10.0, lat=(south, south + 10 * ny),
                               lon=(west, west + 10 * nx), mask=None)
    flat = draw(arrays(bool, ny * nx, elements=st.booleans()))
    flat[draw(st.integers(0, ny * nx - 1))] = True
    return g.assign(mask=(g["mask"].dims, flat.reshape(ny, nx)))


def _bench(grid, **kw):
    return xattrib.benchmark(grid, covariance={"length_scale_km": 1500.0}, **kw)


@_SETTINGS
@given(grid=grids(), seed=st.integers(0, 2**16), n=st.integers(1, 60),
       response=st.sampled_from(["pwl", "linear", "tanh"]),
       baseline=st.sampled_from(["zero", "expectation", 0.5]))
def test_truth_is_complete(grid, seed, n, response, baseline):
    b = _bench(grid, n_samples=n, seed=seed, chunks=max(1, n // 3), response=response,
               baseline=baseline).compute()
    f_base = float(b["baseline_response"].sum()) if "baseline_response" in b else 0.0
    total = b["truth"].sum(["lat", "lon"]).astype(np.float64)
    scale = float(np.abs(b["y"]).max()) + 1e-3
    np.testing.assert_allclose(total, b["y"] - f_base, atol=2e-5 * scale + 1e-6)
    assert bool(b["x"].where(~b["mask"]).isnull().all())  # invalid cells stay NaN


@_SETTINGS
@given(grid=grids(), seed=st.integers(0, 2**16), n=st.integers(1, 2500),
       c1=st.integers(1, 3000), c2=st.integers(1, 3000))
def test_chunking_never_changes_a_value(grid, seed, n, c1, c2):
    a = _bench(grid, n_samples=n, seed=seed, chunks=c1).compute()
    b = _bench(grid, n_samples=n, seed=seed, chunks=c2).compute()
    for v in ("x", "y", "truth"):
        np.testing.assert_array_equal(a[v].values, b[v].values)


@settings(max_examples=10, deadline=None)
@given(grid=grids(), seed=st.integers(0, 2**16), n=st.integers(1, 40))
def test_cf_round_trip(tmp_path_factory, grid, seed, n):
    b = _bench(grid, n_samples=n, seed=seed, chunks=max(1, n // 2))
    path = tmp_path_factory.mktemp("rt") / "b.nc"
    xattrib.io.to_netcdf(b, path)
    back = xattrib.io.open_dataset(path).compute()
    for v in ("x", "y", "truth", "mask", "cell_area"):
        np.testing.assert_array_equal(back[v].values, b[v].values, err_msg=v)
    gen = xattrib.generator_from_dataset(back)
    x, y, _ = gen.draw(0, n)
    np.testing.assert_array_equal(y, b["y"].values)


@settings(max_examples=30, deadline=None)
@given(a=arrays(np.float64, (3, 12), elements=st.floats(-1e6, 1e6)),
       g=arrays(np.float64, (3, 12), elements=st.floats(-1e6, 1e6)))
def test_metric_bounds(a, g):
    grid = xattrib.grid.make_grid(resolution=30.0, lat=(0, 90), lon=(0, 120), mask=None)
    coords = {"lat": grid["lat"], "lon": grid["lon"]}
    heat = xr.DataArray(a.reshape(3, 3, 4), dims=("sample", "lat", "lon"), coords=coords)
    truth = xr.DataArray(g.reshape(3, 3, 4), dims=("sample", "lat", "lon"), coords=coords)
    s = xattrib.score(heat, truth, metrics=list(TRUTH_METRICS))
    bounds = {"pearson": (-1, 1), "spearman": (-1, 1), "cosine": (-1, 1),
              "sign_agreement": (0, 1), "topk": (0, 1), "relevance_mass": (0, 1),
              "rank_accuracy": (0, 1), "nmae": (0, np.inf), "completeness": (0, np.inf)}
    for name, (lo, hi) in bounds.items():
        v = s[name].values
        ok = np.isnan(v) | ((v >= lo - 1e-9) & (v <= hi + 1e-9))
        assert ok.all(), (name, v)
