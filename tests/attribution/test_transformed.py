"""trim(): exact group contributions on linear models, a residual that really is fixed,
lazy == eager, distributed == local, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

import xattrib
from tests.conftest import raise_if_dask_computes
from xattrib.grid.cells import CellIndex
from xattrib.transforms import EOF, Fourier, feature_grouping


def _linear_model(sst, bias=0.0, seed=0):
    torch.manual_seed(seed)
    d = int(np.isfinite(sst.isel(time=0)).sum())
    lin = nn.Linear(d, 1)
    with torch.no_grad():
        lin.bias.fill_(bias)
    return xattrib.Model.from_module(lin, like=sst), lin.weight.detach().double().numpy()[0]


def _exact_groups(t, w, x, b, gidx, n_groups):
    """w · T⁻¹(P_g T(x − b)) for every group g, straight from the definition."""
    s = t.forward(torch.as_tensor(x - b)).double().numpy()
    out = np.zeros((x.shape[0], n_groups))
    for g in range(n_groups):
        masked = torch.as_tensor(np.where(gidx == g, s, 0.0))
        out[:, g] = t.inverse(masked.float()).double().numpy() @ w
    return out


@pytest.mark.parametrize("kind", ["fourier", "eof"])
def test_linear_model_gets_exact_group_contributions(sst, sst_cells, kind):
    model, w = _linear_model(sst, bias=0.7)
    ds = sst.isel(time=slice(0, 6)).to_dataset()
    t = Fourier(sst_cells) if kind == "fourier" else EOF.fit(sst, n_modes=8)
    gidx, labels, _ = feature_grouping(t)
    x = np.asarray(sst_cells.stack(ds["sst"]).values, np.float64)
    field = sst.mean("time")  # a non-zero baseline field
    b = np.asarray(sst_cells.stack(field).values, np.float64)
    want = _exact_groups(t, w, x, b, gidx, labels.size)
    out = xattrib.trim(ds, model, transform=t, baseline=field, progress=False,
                       method=["integrated_gradients", "occlusion", "deeplift",
                               "shapley_sampling"])
    for m in out.xai_method.values:
        got = out["attribution"].sel(xai_method=m).values
        np.testing.assert_allclose(got, want, atol=2e-4 * np.abs(want).max(), err_msg=m)
    # CD has no baseline: on a bias-free linear model it is the exact zero-baseline split
    model0, w0 = _linear_model(sst, bias=0.0, seed=1)
    cd = xattrib.trim(ds, model0, transform=t, method="cd", progress=False)
    want0 = _exact_groups(t, w0, x, np.zeros_like(b), gidx, labels.size)
    np.testing.assert_allclose(cd["attribution"][0].values, want0,
                               atol=2e-4 * np.abs(want0).max())


def _mlp_model(sst, seed=0):
    torch.manual_seed(seed)
    d = int(np.isfinite(sst.isel(time=0)).sum())
    net = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
                        nn.Linear(16, 1))
    return xattrib.Model.from_module(net, like=sst, x_std=1.0)


def test_occluding_a_band_changes_the_output(sst, sst_cells):
    """Occlusion = f(x) − f(T⁻¹(s without the band) + r) with r from the original x. (With
    r recomputed from the current s, as in the reference code, f' would not change.)"""
    model = _mlp_model(sst)
    ds = sst.isel(time=slice(0, 5)).to_dataset()
    t = Fourier(sst_cells)
    out = xattrib.trim(ds, model, transform=t, method="occlusion", progress=False)
    gidx, labels, _ = feature_grouping(t)
    net = model.network()
    x = torch.as_tensor(np.asarray(sst_cells.stack(ds["sst"]).values, np.float32))
    with torch.no_grad():
        s = t(x)
        r = x - t.inverse(s)
        fx = net(x)[:, 0]
        for g in (0, 3, 7):
            keep = torch.as_tensor(gidx != g)
            drop = net(t.inverse(s * keep) + r)[:, 0]
            np.testing.assert_allclose(out["attribution"][0, :, g], fx - drop, atol=1e-5)
    assert float(abs(out["attribution"]).max()) > 1e-3


def test_trim_output_and_completeness(sst, sst_cells):
    model = _mlp_model(sst)
    ds = sst.isel(time=slice(0, 6)).to_dataset()
    out = ds.xattrib.trim(model, transform="fourier",
                          method=["integrated_gradients", "deeplift", "gradient", "cd"],
                          features=True, progress=False, n_steps=128)
    assert out["attribution"].dims == ("xai_method", "time", "wavenumber")
    assert out["wavelength"].attrs["units"] == "km"
    assert out["feature_attribution"].dims == ("xai_method", "time", "fourier_feature")
    np.testing.assert_allclose(out["feature_attribution"].groupby(
        out["feature_wavenumber"].round()).sum().values.sum(-1),
        out["attribution"].sum("wavenumber").values, rtol=1e-4, atol=1e-5)
    scale = float(abs(out["prediction"]).max())
    err = abs(out["completeness_error"]).max("time")
    assert float(err.sel(xai_method="deeplift")) < 1e-5 * scale
    assert float(err.sel(xai_method="integrated_gradients")) < 1e-2 * scale
    assert np.isnan(err.sel(xai_method="cd"))
    bg = sst.isel(time=slice(10, 30)).rename(time="background")
    shap = ds.xattrib.trim(model, method="deepshap", baseline=bg, progress=False)
    assert float(abs(shap["completeness_error"]).max()) < 1e-5 * scale
    with pytest.raises(ValueError, match="background distribution"):
        ds.xattrib.trim(model, method="integrated_gradients", baseline=bg, progress=False)
    np.testing.assert_allclose(out["prediction"], model.predict(ds), rtol=1e-5)
    assert out.attrs["xattrib_transform"] == "fourier"


def test_lazy_equals_eager_and_builds_lazily(sst):
    model = _mlp_model(sst)
    ds = sst.isel(time=slice(0, 9)).to_dataset()
    methods = ["integrated_gradients", "shapley_sampling", "cd"]
    # random methods draw per batch: the same batches (here, of the chunk size) give the
    # same maps
    eager = xattrib.trim(ds, model, method=methods, progress=False, n_samples=4,
                         batch_size=4)
    with raise_if_dask_computes():
        lazy = xattrib.trim(ds.chunk(time=4), model, method=methods, progress=False,
                            n_samples=4, batch_size=4)
    assert lazy["attribution"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), eager, atol=1e-6)


def test_distributed_equals_local(sst):
    distributed = pytest.importorskip("distributed")
    model = _mlp_model(sst)
    ds = sst.isel(time=slice(0, 8)).to_dataset().chunk(time=4)
    local = xattrib.trim(ds, model, transform="wavelet",
                         method=["integrated_gradients", "cd"], progress=False).compute(
                             scheduler="sync")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dist = client.compute(xattrib.trim(ds, model, transform="wavelet",
                                           method=["integrated_gradients", "cd"],
                                           progress=False)).result()
    xr.testing.assert_allclose(dist, local, atol=1e-6)


def test_custom_groups_and_multi_output(sst, sst_cells):
    torch.manual_seed(2)
    d = sst_cells.n_cells
    net = nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 2))
    model = xattrib.Model.from_module(net, like=sst, outputs=["a", "b"])
    ds = sst.isel(time=slice(0, 4)).to_dataset()
    t = Fourier(sst_cells)
    halves = xr.DataArray(np.where(t.features["feature_wavenumber"] < 4, "large", "small"),
                          dims=("fourier_feature",), name="scale")
    out = xattrib.trim(ds, model, transform=t, groups=halves, method="deeplift",
                       progress=False)
    assert out["attribution"].dims == ("output", "xai_method", "time", "scale")
    assert list(out["scale"].values) == ["large", "small"]
    bands = xattrib.trim(ds, model, transform=t, method="deeplift", progress=False)
    np.testing.assert_allclose(out["attribution"].sum("scale"),
                               bands["attribution"].sum("wavenumber"), rtol=1e-4, atol=1e-6)


def test_trim_errors(sst):
    model = _mlp_model(sst)
    ds = sst.isel(time=slice(0, 3)).to_dataset()
    with pytest.raises(ValueError, match="cannot run in a transformed space"):
        xattrib.trim(ds, model, method="lrp_epsilon", progress=False)
    with pytest.raises(TypeError, match="patch groups grid cells"):
        xattrib.trim(ds, model, method="occlusion", patch=2, progress=False)
    with pytest.raises(ValueError, match="unknown attribution method 'ig'"):
        xattrib.trim(ds, model, method="ig", progress=False)
    with pytest.raises(ValueError, match="Transforms that fit this grid"):
        xattrib.trim(ds, model, transform="sht", progress=False)
    with pytest.raises(ValueError, match="transform_kwargs"):
        xattrib.trim(ds, model, transform=EOF.fit(sst, 3), transform_kwargs={"n_modes": 2},
                     progress=False)


def test_custom_transform_and_global_transforms():
    """A user's lossy, non-Module transform, and zonal/sht on a global land-masked grid, all
    give a linear model's exact group contributions."""
    from tests.test_transforms import BlockMeans

    g = xattrib.grid.make_grid(resolution=20.0, mask="ocean")
    rng = np.random.default_rng(0)
    x = xr.DataArray(rng.standard_normal((4, *g["mask"].shape)), dims=("sample", "lat", "lon"),
                     coords={"lat": g.lat, "lon": g.lon}, name="x").where(g["mask"])
    cells = CellIndex.from_data(x)
    torch.manual_seed(0)
    lin = nn.Linear(cells.n_cells, 1, bias=False)
    model = xattrib.Model.from_module(lin, like=x)
    w = lin.weight.detach().double().numpy()[0]
    xs = np.asarray(cells.stack(x).values, np.float64)
    from xattrib.transforms import SphericalHarmonics, Zonal

    for t in (BlockMeans(cells), Zonal(cells), SphericalHarmonics(cells, lmax=5)):
        gidx, labels, _ = feature_grouping(t)
        want = _exact_groups(t, w, xs, np.zeros_like(xs), gidx, labels.size)
        out = xattrib.trim(x.to_dataset(), model, transform=t, progress=False,
                           method=["occlusion", "integrated_gradients", "cd"])
        for m in out.xai_method.values:
            np.testing.assert_allclose(out["attribution"].sel(xai_method=m), want,
                                       atol=1e-4 * np.abs(want).max(),
                                       err_msg=f"{type(t).__name__} {m}")


def test_methods_keyword_and_its_older_name():
    """trim takes methods= like attribute; method= still works; both at once is an error."""
    bench = xattrib.benchmark(n_samples=6, chunks=6, response="linear")
    f = xattrib.Model.exact(bench)
    new = xattrib.trim(bench, f, transform="fourier", methods=["integrated_gradients", "cd"],
                       progress=False)
    old = xattrib.trim(bench, f, transform="fourier", method=["integrated_gradients", "cd"],
                       progress=False)
    xr.testing.assert_identical(new, old)
    assert list(new["xai_method"].values) == ["integrated_gradients", "cd"]
    with pytest.raises(TypeError, match="not both"):
        xattrib.trim(bench, f, methods="cd", method="occlusion", progress=False)
    timed = xattrib.trim(bench.rename(sample="time"), f, transform="fourier", methods="cd",
                         sample_dim="time", progress=False)
    np.testing.assert_array_equal(timed["attribution"].values,
                                  new["attribution"].sel(xai_method=["cd"]).values)
    assert timed["attribution"].dims[1] == "time"


def test_eof_on_a_few_benchmark_samples_uses_its_covariance():
    """transform='eof' on a benchmark: the EOFs of its own covariance, whatever the samples;
    on other data too few samples get an error that says what to pass instead."""
    bench = xattrib.benchmark(n_samples=3, chunks=3, response="linear")
    f = xattrib.Model.exact(bench)
    out = xattrib.trim(bench, f, transform="eof", methods="integrated_gradients",
                       transform_kwargs={"n_modes": 12}, progress=False)
    assert out.sizes["mode"] == 12
    one = xattrib.trim(bench.isel(sample=[0]), f, transform="eof",
                       methods="integrated_gradients", transform_kwargs={"n_modes": 12},
                       progress=False)
    np.testing.assert_allclose(one["attribution"].values,  # batched float32: rounding only
                               out["attribution"].isel(sample=[0]).values, rtol=1e-4, atol=1e-6)
    cov = xattrib.generator_from_dataset(bench).covariance.matrix
    ref = EOF.from_covariance(cov, f.cells, n_modes=12)
    np.testing.assert_allclose(
        xattrib.trim(bench, f, transform=ref, methods="integrated_gradients",
                     progress=False)["attribution"].values, out["attribution"].values,
        rtol=1e-6, atol=1e-8)
    plain = bench[["x"]].compute()
    plain.attrs = {}  # no longer a benchmark: EOFs are fitted on the samples
    with pytest.raises(ValueError, match=r"EOFs fitted on 3 samples.*transform=xattrib"
                                         r"\.transforms\.EOF\.fit\(train_x"):
        xattrib.trim(plain, f, transform="eof", methods="integrated_gradients",
                     transform_kwargs={"n_modes": 12}, progress=False)


# -- several input variables -----------------------------------------------------------------
def _two_variable_linear(sst, seed=0):
    """A linear network of SST at lags 0 and 1 (cells layout), its weights per variable."""
    src = xattrib.datasets.lagged(sst, [0, 1])
    torch.manual_seed(seed)
    d = int(np.isfinite(sst.isel(time=0)).sum())
    lin = nn.Linear(2 * d, 1)
    model = xattrib.Model.from_module(lin, like=src)
    w = lin.weight.detach().double().numpy()[0]
    return src, model, [w[:d], w[d:]]


def test_several_variables_each_get_their_own_exact_groups(sst, sst_cells):
    """Each variable's transform on its own cells: attribution_<v> holds, per group g,
    w_v · T⁻¹(P_g T(x_v)) — straight from the definition, variable by variable."""
    src, model, ws = _two_variable_linear(sst)
    ds = src.isel(time=slice(2, 8))
    out = xattrib.trim(ds, model, transform="fourier", progress=False, features=True,
                       methods=["integrated_gradients", "occlusion"])
    assert out.attrs["xattrib_input_variables"] == "sst_lag0 sst_lag1"
    assert "attribution" not in out and out["attribution_sst_lag1"].dims == (
        "xai_method", "time", "wavenumber")
    t = Fourier(sst_cells)
    gidx, labels, _ = feature_grouping(t)
    for v, w in zip(["sst_lag0", "sst_lag1"], ws, strict=True):
        x = np.asarray(sst_cells.stack(ds[v]).values, np.float64)
        want = _exact_groups(t, w, x, np.zeros_like(x), gidx, labels.size)
        for m in out.xai_method.values:
            got = out[f"attribution_{v}"].sel(xai_method=m).values
            np.testing.assert_allclose(got, want, atol=2e-4 * np.abs(want).max(),
                                       err_msg=f"{v} {m}")
        assert out[f"attribution_{v}"].attrs["input_variable"] == v
        assert out[f"feature_attribution_{v}"].sizes["fourier_feature"] == t.features.size
    assert float(abs(out["completeness_error"]).max()) < 1e-4


def test_several_variables_through_a_transform_of_all_inputs(sst, sst_cells):
    """A user's own transform over every variable's cells in turn is used as given: the
    identity with every feature alone gives back IG = w ⊙ x of both variables."""
    src, model, ws = _two_variable_linear(sst, seed=2)
    d = sst_cells.n_cells

    class Identity(nn.Module):
        features = xr.DataArray(np.arange(2 * d), dims="input_cell", name="input_cell")

        def forward(self, x):
            return x

        def inverse(self, s):
            return s

    ds = src.isel(time=slice(1, 5))
    out = xattrib.trim(ds, model, transform=Identity(), groups="features", progress=False)
    x = np.concatenate([sst_cells.stack(ds[v]).values for v in ("sst_lag0", "sst_lag1")], 1)
    np.testing.assert_allclose(out["attribution"][0].values, np.concatenate(ws) * x,
                               rtol=1e-4, atol=1e-6)


def test_several_variables_lazy_and_refused_basis(sst):
    src, model, _ = _two_variable_linear(sst, seed=3)
    ds = src.isel(time=slice(1, 9))
    eager = xattrib.trim(ds, model, transform="wavelet", progress=False)
    with raise_if_dask_computes():
        lazy = xattrib.trim(ds.chunk(time=3), model, transform="wavelet", progress=False)
    assert lazy["attribution_sst_lag0"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), eager, atol=1e-6)
    with pytest.raises(ValueError, match="basis is over one variable"):
        xattrib.trim(ds, model, transform="benchmark", progress=False)


def test_eof_of_a_several_variable_benchmark_uses_each_variables_block(sst):
    bench = xattrib.benchmark(xattrib.datasets.lagged(sst, [0, 1]), n_samples=50, seed=0,
                              response="linear")
    exact = xattrib.Model.exact(bench)
    out = xattrib.trim(bench.isel(sample=slice(0, 3)), exact, transform="eof", features=True,
                       transform_kwargs={"n_modes": 4}, progress=False)
    cov = xattrib.generation.generator_from_dataset(bench).covariance.matrix
    d = cov.shape[0] // 2
    for i, v in enumerate(["sst_lag0", "sst_lag1"]):
        want = EOF.from_covariance(cov[i * d:(i + 1) * d, i * d:(i + 1) * d],
                                   exact.cells, n_modes=4).features
        np.testing.assert_allclose(out[f"explained_variance_ratio_{v}"].values,
                                   want["explained_variance_ratio"].values)
    assert out.sizes["mode"] == 4
