import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xattrib
from xattrib.scoring import agreement, decompose_error

C = {"lat": [-10.0, 0.0, 10.0], "lon": [0.0, 10.0, 20.0, 30.0]}


def _maps(rng, k=4, n=5):
    g = xr.DataArray(rng.normal(size=(n, 3, 4)), dims=("sample", "lat", "lon"), coords=C)
    a = xr.concat([g + rng.normal(0, 0.5, g.shape) for _ in range(k)], "member")
    return a, g


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 6), normalise=st.booleans())
def test_total_is_bias2_plus_variance_to_float_precision(seed, k, normalise):
    a, g = _maps(np.random.default_rng(seed), k=k)
    d = decompose_error(a, g, summary=False, normalise=normalise)
    np.testing.assert_allclose(d["total"], d["bias2"] + d["variance"], rtol=1e-12, atol=1e-14)


def test_decomposition_against_numpy_with_area_weights():
    a, g = _maps(np.random.default_rng(1))
    w = np.cos(np.deg2rad(a["lat"])).broadcast_like(g.isel(sample=0)).values.ravel()
    w = w / w.sum()
    av, gv = a.values.reshape(4, 5, 12), g.values.reshape(5, 12)
    total = (((av - gv) ** 2) * w).sum(-1).mean(0)
    bias2 = (((av.mean(0) - gv) ** 2) * w).sum(-1)
    d = decompose_error(a, g, summary=False, normalise=False)
    np.testing.assert_allclose(d["total"], total, rtol=1e-12)
    np.testing.assert_allclose(d["bias2"], bias2, rtol=1e-12)
    s = decompose_error(a, g, normalise=False, n_boot=200)
    assert float(s["total"].sel(statistic="mean")) == pytest.approx(total.mean())
    lo, hi = (float(s["variance"].sel(statistic=q)) for q in ("mean_lo", "mean_hi"))
    assert lo <= float(s["variance"].sel(statistic="mean")) <= hi


def test_agreement_is_the_mean_pairwise_pearson_r():
    a, _ = _maps(np.random.default_rng(2), k=3)
    got = agreement(a, weights=None)
    want = np.zeros(5)
    for s in range(5):
        r = np.corrcoef(a.values[:, s].reshape(3, -1))
        want[s] = (r.sum() - 3) / 6
    np.testing.assert_allclose(got.values, want, rtol=1e-10)


def test_agreement_is_lazy_for_dask_input(raise_if_dask_computes_fixture=None):
    a, _ = _maps(np.random.default_rng(3))
    ds = xr.Dataset({"attribution": a.chunk({"sample": 2})})
    from tests.conftest import raise_if_dask_computes

    with raise_if_dask_computes():
        out = agreement(ds.assign(mask=a.isel(member=0, sample=0).notnull()), weights=None)
    assert out.chunks is not None


def test_heatmaps_without_members_are_refused():
    a, g = _maps(np.random.default_rng(4))
    with pytest.raises(ValueError, match="no 'member' dimension.*fit\\(bench, seed=\\[0, 1, 2\\]\\)"):
        xattrib.agreement(a.isel(member=0))
    with pytest.raises(ValueError, match="1 member"):
        xattrib.decompose_error(a.isel(member=[0]), g)
    with pytest.raises(ValueError, match="truth has a member dimension"):
        xattrib.decompose_error(a, a)
