import numpy as np
import pytest
import torch
import xarray as xr

import xattrib
from tests.conftest import raise_if_dask_computes
from xattrib.methods import METHODS, Method, get_method, register_method
from xattrib.training.model import Model

torch.set_num_threads(1)
FAST = {"smoothgrad": {"n_samples": 4}, "gradientshap": {"n_samples": 4},
        "shapley_sampling": {"n_samples": 2, "patch": 1}}


@pytest.fixture(scope="module")
def bench(small_grid):
    return small_grid.xattrib.benchmark(n_samples=2000, seed=0, chunks=500)


@pytest.fixture(scope="module")
def linear_model(bench):
    """A network that is exactly f(x) = w·x + c, so every complete method must give w(x − b)."""
    cells = xattrib.CellIndex.from_mask(bench["mask"])
    d = cells.n_cells
    m = Model.build("mlp", cells, {"hidden": []}, np.zeros(d), np.ones(d), 0.0, 1.0)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        m.module[0].weight.copy_(torch.as_tensor(rng.standard_normal((1, d)), dtype=torch.float32))
        m.module[0].bias.fill_(0.3)
    m.invalidate()
    return m


@pytest.fixture(scope="module")
def relu_model(bench):
    return bench.xattrib.fit(epochs=1, hidden=(24, 12), progress=False, seed=0, fresh=False)


def _sub(bench, n=16):
    return bench.isel(sample=slice(0, n)).compute()


@pytest.mark.parametrize("method,baseline", [
    ("input_x_gradient", "zero"), ("lrp_z", "zero"), ("integrated_gradients", "zero"),
    ("integrated_gradients", "field"), ("deeplift", "field"), ("occlusion", "field"),
    ("occlusion", "mean"), ("shapley_sampling", "field"), ("deepshap", "field"),
])
def test_linear_model_exact(bench, linear_model, method, baseline):
    sub = _sub(bench)
    cells = linear_model.cells
    w = linear_model.module[0].weight.detach().numpy()[0].astype(np.float64)
    if baseline == "field":
        base = xr.full_like(bench["mask"], 0.4, dtype=float).where(bench["mask"])
        b = cells.stack(base).values
    elif baseline == "mean":
        base, b = "mean", linear_model.x_mean
    else:
        base, b = "zero", np.zeros(cells.n_cells)
    heat = sub.xattrib.attribute(linear_model, methods=[method], baseline=base, progress=False,
                                 **({method: FAST[method]} if method in FAST else {}))
    got = cells.stack(heat["attribution"].sel(xai_method=method)).values
    expected = w * (cells.stack(sub["x"]).values - b)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_lrp_z_equals_input_x_gradient_on_relu_mlp(bench, relu_model):
    heat = _sub(bench).xattrib.attribute(relu_model, methods=["lrp_z", "input_x_gradient"],
                                         progress=False)
    a = heat["attribution"]
    xr.testing.assert_allclose(a.sel(xai_method="lrp_z", drop=True),
                               a.sel(xai_method="input_x_gradient", drop=True), rtol=1e-3, atol=1e-6)


def test_ig_completeness_converges(bench, relu_model):
    sub = _sub(bench)
    errs = []
    for steps in (2, 8, 64):
        h = sub.xattrib.attribute(relu_model, methods=["integrated_gradients"], progress=False,
                                  n_steps=steps,
                                  integrated_gradients={"method": "riemann_trapezoid"})
        errs.append(float(abs(h["completeness_error"]).mean()))
    assert errs[2] < errs[1] < errs[0] and errs[2] < 0.1 * errs[0]


def test_dask_equals_eager_and_stays_lazy(bench, relu_model):
    methods = ["gradient", "integrated_gradients", "deeplift", "occlusion", "lrp_epsilon"]
    lazy_in = bench.isel(sample=slice(0, 40)).chunk({"sample": 15})
    with raise_if_dask_computes():
        lazy = lazy_in.xattrib.attribute(relu_model, methods=methods, progress=False)
    assert lazy["attribution"].chunks is not None
    eager = lazy_in.compute().xattrib.attribute(relu_model, methods=methods, progress=False)
    xr.testing.assert_allclose(lazy.compute(), eager, rtol=1e-5, atol=1e-7)


def test_distributed_local_cluster(bench, relu_model):
    distributed = pytest.importorskip("distributed")
    sub = bench.isel(sample=slice(0, 30))
    methods = ["integrated_gradients", "deeplift", "lrp_z"]
    local = sub.xattrib.attribute(relu_model, methods=methods, progress=False).compute(
        scheduler="synchronous")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        heat = sub.xattrib.attribute(relu_model, methods=methods, progress=False)
        # the model is one key of the graph, shipped to each worker once
        graph = dict(heat["attribution"].data.__dask_graph__())
        assert sum(isinstance(getattr(v, "value", v), Model) for v in graph.values()) == 1
        remote = client.compute(heat).result()
    xr.testing.assert_allclose(remote, local, rtol=1e-5, atol=1e-7)


def test_land_stays_nan(bench, relu_model):
    heat = _sub(bench).xattrib.attribute(relu_model, methods=["gradient", "occlusion"],
                                         progress=False)
    land = ~bench["mask"]
    a = heat["attribution"]
    assert bool(a.where(land).isnull().all()) and bool((a.notnull() == ~land).all())


def test_unknown_method_lists_valid_and_closest(bench, relu_model):
    # the valid names come in the registry's order (the order of tables and the job)
    with pytest.raises(ValueError, match=r"Did you mean 'integrated_gradients'.*Valid methods: "
                                         r"gradient, smoothgrad, input_x_gradient, "
                                         r"integrated_gradients, deeplift, deepshap"):
        _sub(bench).xattrib.attribute(relu_model, methods=["integrated_gradient"])


@pytest.mark.parametrize("kw,err,match", [
    ({"methods": ["integrated_gradients"], "baseline": "expectation"}, ValueError,
     "one baseline input"),
    ({"methods": ["gradient"], "n_stepz": 3}, TypeError, "no chosen method has a parameter"),
    ({"methods": ["gradient"], "integrated_gradients": {"n_steps": 3}}, ValueError,
     "not in methods"),
    ({"methods": ["integrated_gradients"], "integrated_gradients": {"steps": 3}}, TypeError,
     "has no parameter"),
    ({"methods": []}, ValueError, "empty"),
    ({"methods": ["gradient"], "baseline": "median"}, ValueError, "baseline must be"),
])
def test_bad_input(bench, relu_model, kw, err, match):
    with pytest.raises(err, match=match):
        _sub(bench).xattrib.attribute(relu_model, progress=False, **kw)


def test_expectation_background_for_shap(bench, relu_model):
    heat = _sub(bench).xattrib.attribute(relu_model, methods=["deepshap", "gradientshap"],
                                         baseline="expectation", progress=False,
                                         n_background=20, gradientshap={"n_samples": 8})
    assert heat.attrs["xattrib_baseline"] == "expectation"
    assert heat.attrs["xattrib_truth_baseline"] == "zero"  # the benchmark's truth
    assert float(abs(heat["completeness_error"].sel(xai_method="deepshap")).max()) < 1e-4


def test_per_sample_baseline(bench, linear_model):
    sub = _sub(bench)
    base = sub["x"] * 0.5
    heat = sub.xattrib.attribute(linear_model, methods=["integrated_gradients"], baseline=base,
                                 progress=False)
    w = linear_model.module[0].weight.detach().numpy()[0]
    cells = linear_model.cells
    np.testing.assert_allclose(cells.stack(heat["attribution"][0]).values,
                               w * cells.stack(sub["x"] * 0.5).values, rtol=1e-4, atol=1e-6)


def test_patch_shapley_is_complete(bench, relu_model):
    heat = _sub(bench, 4).xattrib.attribute(relu_model, methods=["shapley_sampling"],
                                            progress=False, n_samples=3, patch=2)
    assert float(abs(heat["completeness_error"]).max()) < 1e-4


def test_lrp_rules_removed_after_call(bench, relu_model):
    _sub(bench, 4).xattrib.attribute(relu_model, methods=["lrp_composite"], progress=False)
    net = relu_model.network()
    assert not any(hasattr(m, "rule") for m in net.modules())


def test_all_registry_methods_run_and_heat_file_is_cf(tmp_path, bench, relu_model):
    sub = _sub(bench, 6)
    names = [n for n in METHODS if METHODS[n].baseline != "distribution"]
    heat = sub.xattrib.attribute(relu_model, methods=names, progress=False,
                                 **{k: v for k, v in FAST.items() if k in names})
    assert list(heat["xai_method"].values) == names
    assert np.isfinite(heat["attribution"].where(bench["mask"], 0)).all()
    assert bool(heat["positive_only"].sel(xai_method="lrp_alpha1beta0"))
    p = heat.xattrib.to_netcdf(tmp_path / "heat.nc")
    assert xattrib.io.check_cf(p) == []


def test_register_custom_method(bench, relu_model):
    def doubled_gradient(net, x, baseline, background, factor):
        from captum.attr import Saliency

        return factor * Saliency(net).attribute(x, abs=False)

    register_method(Method("doubled", doubled_gradient, {"factor": 2.0}, baseline=None),
                    overwrite=True)
    try:
        heat = _sub(bench, 4).xattrib.attribute(relu_model, methods=["doubled", "gradient"],
                                                progress=False)
        a = heat["attribution"]
        xr.testing.assert_allclose(a.sel(xai_method="doubled", drop=True),
                                   2 * a.sel(xai_method="gradient", drop=True))
        assert get_method("doubled").defaults == {"factor": 2.0}
    finally:
        METHODS.pop("doubled")


@pytest.mark.parametrize("methods", [["gradient"], ["integrated_gradients"], ["occlusion"],
                                     ["occlusion", "input_x_gradient"]])
def test_prediction_equals_model_predict(bench, relu_model, methods):
    sub = bench.isel(sample=slice(0, 30))
    want = relu_model.predict(sub).values
    for data in (sub.compute(), sub.chunk({"sample": 12})):
        heat = data.xattrib.attribute(relu_model, methods=methods, progress=False)
        assert heat["prediction"].dtype == np.float64
        np.testing.assert_allclose(heat["prediction"].values, want, rtol=1e-5, atol=1e-6)
    assert "prediction" not in sub.xattrib.attribute(relu_model, methods=methods,
                                                      progress=False, prediction=False)


def test_gradient_prediction_reuses_its_forward_pass(bench, relu_model, monkeypatch):
    """The prediction comes from the gradient's own forward pass: one pass per batch (after
    one single-row pass per task that sizes the batches by the network's activations)."""
    net = relu_model.network()
    calls = []
    net.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    monkeypatch.setattr(relu_model, "network", lambda *a, **k: net)
    sub = _sub(bench, 25)
    heat = sub.xattrib.attribute(relu_model, methods=["gradient"], batch_size=10,
                                 progress=False)
    assert calls == [1, 10, 10, 5]
    monkeypatch.undo()
    np.testing.assert_allclose(heat["prediction"].values, relu_model.predict(sub).values,
                               rtol=1e-5, atol=1e-6)


def test_any_sample_dim_name(bench, relu_model):
    sub = _sub(bench, 6)
    ref = sub.xattrib.attribute(relu_model, methods=["gradient", "deeplift"], progress=False)
    renamed = sub.rename(sample="time")
    heat = renamed.xattrib.attribute(relu_model, methods=["gradient", "deeplift"],
                                     baseline=renamed["x"] * 0.0, progress=False)
    assert heat["attribution"].dims == ("xai_method", "time", "lat", "lon")
    np.testing.assert_allclose(heat["attribution"].values, ref["attribution"].values,
                               rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="one sample dimension besides"):
        sub.expand_dims(member=2).xattrib.attribute(relu_model, methods=["gradient"])


def test_per_sample_baseline_lazy_equals_eager(bench, linear_model):
    sub = bench.isel(sample=slice(0, 30))
    eager = sub.compute()
    ref = eager.xattrib.attribute(linear_model, methods=["integrated_gradients", "occlusion"],
                                  baseline=eager["x"] * 0.5, progress=False)
    lazy_in = sub.chunk({"sample": 7})
    with raise_if_dask_computes():
        lazy = lazy_in.xattrib.attribute(linear_model,
                                         methods=["integrated_gradients", "occlusion"],
                                         baseline=lazy_in["x"] * 0.5, progress=False)
    # occlusion differences f(x) - f(x') round differently in other batch sizes: float32 atol
    xr.testing.assert_allclose(lazy.compute(), ref, rtol=1e-5, atol=1e-6)


def test_read_only_and_float64_inputs(bench, relu_model):
    import warnings

    sub = _sub(bench, 12)
    ref = sub.xattrib.attribute(relu_model, methods=["gradient", "deeplift"], progress=False)
    ro = sub.copy(deep=True)
    ro["x"].values.flags.writeable = False  # e.g. memory-mapped or shared chunks
    f64 = sub.assign(x=sub["x"].astype(np.float64))
    for data in (ro, f64):
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*NumPy array is not writable")
            heat = data.xattrib.attribute(relu_model, methods=["gradient", "deeplift"],
                                          progress=False)
        xr.testing.assert_allclose(heat, ref, rtol=1e-6, atol=1e-7)


def test_completeness_error_over_batches(bench, relu_model):
    """The fixed baseline's f(b) is evaluated once per block and reused by every batch:
    the completeness error must equal Σ attribution − (f(x) − f(b)) in every batch."""
    sub = _sub(bench, 20)
    base = xr.full_like(bench["mask"], 0.3, dtype=float).where(bench["mask"])
    h = sub.xattrib.attribute(relu_model, methods=["integrated_gradients", "deeplift"],
                              baseline=base, batch_size=6, progress=False)
    cells = relu_model.cells
    fb = relu_model.predict(base.expand_dims(sample=[0]).to_dataset(name="x")).values[0]
    want = (cells.stack(h["attribution"]).sum("cell").values
            - (h["prediction"].values - fb)[None])
    np.testing.assert_allclose(h["completeness_error"].values, want, rtol=1e-4, atol=1e-5)


def test_random_methods_reproducible_under_threads(bench, relu_model):
    """captum's random methods draw from global generators; batches are seeded from the
    seed and their first sample, so dask's thread interleaving changes nothing, and the
    caller's own random state is left alone."""
    import dask

    sub = bench.isel(sample=slice(0, 60)).chunk({"sample": 10})
    methods = ["smoothgrad", "gradientshap", "shapley_sampling"]
    kw = {"smoothgrad": {"n_samples": 4}, "gradientshap": {"n_samples": 4, "n_background": 5},
          "shapley_sampling": {"n_samples": 2}}
    torch.manual_seed(123)
    np.random.seed(5)
    before = (torch.random.get_rng_state(), np.random.get_state()[1].copy())
    runs = []
    for _ in range(3):
        with dask.config.set(scheduler="threads", num_workers=4):
            runs.append(sub.xattrib.attribute(relu_model, methods=methods, baseline="zero",
                                              progress=False, **kw)["attribution"].values)
    for r in runs[1:]:
        np.testing.assert_array_equal(r, runs[0])
    assert torch.equal(torch.random.get_rng_state(), before[0])
    np.testing.assert_array_equal(np.random.get_state()[1], before[1])
    other = sub.xattrib.attribute(relu_model, methods=methods, progress=False, seed=1, **kw)
    assert not np.array_equal(other["attribution"].values, runs[0], equal_nan=True)


def test_draw_counts_have_their_own_names_and_the_old_one_still_works(bench, relu_model):
    """n_samples is the benchmark's size; the methods' draw counts say what they draw."""
    from xattrib.methods import get_method

    assert "n_noise" in get_method("smoothgrad").defaults
    assert "n_draws" in get_method("gradientshap").defaults
    assert "n_permutations" in get_method("shapley_sampling").defaults
    ds = _sub(bench, 3)
    new = ds.xattrib.attribute(relu_model, methods="smoothgrad", n_noise=3, progress=False)
    old = ds.xattrib.attribute(relu_model, methods="smoothgrad", n_samples=3, progress=False)
    xr.testing.assert_identical(new, old)
    with pytest.raises(ValueError, match="n_noise must be a whole number"):
        ds.xattrib.attribute(relu_model, methods="smoothgrad", n_noise=0, progress=False)


def test_a_dataarray_is_the_models_input(bench, relu_model):
    """da.xattrib.attribute / .trim explain the DataArray as the model's input (the lazy x of
    a benchmark too), with the same numbers as the Dataset."""
    sub = bench.isel(sample=slice(0, 6))  # lazy
    ref = sub.xattrib.attribute(relu_model, methods=["gradient", "integrated_gradients"],
                                progress=False).compute()
    heat = sub["x"].rename("sst").xattrib.attribute(
        relu_model, methods=["gradient", "integrated_gradients"], progress=False).compute()
    np.testing.assert_array_equal(heat["attribution"].values, ref["attribution"].values)
    bands = sub["x"].xattrib.trim(relu_model, transform="fourier", methods="cd",
                                  progress=False)
    np.testing.assert_array_equal(
        bands["attribution"].values,
        sub.xattrib.trim(relu_model, transform="fourier", methods="cd",
                         progress=False)["attribution"].values)


def test_wide_networks_take_fewer_rows_a_call(bench, relu_model, monkeypatch):
    """Batches shrink so one call's activations stay under the bound; values do not change."""
    net = relu_model.network()
    calls = []
    net.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    sub = _sub(bench, 12)
    ref = sub.xattrib.attribute(relu_model, methods=["integrated_gradients"], progress=False)
    from xattrib.attribution.engine import activations_per_row

    per_row = activations_per_row(net, torch.zeros(1, relu_model.cells.n_cells))
    monkeypatch.setattr("xattrib.attribution.heatmaps._MAX_ACTIVATIONS", per_row * 64 * 5)
    monkeypatch.setattr(relu_model, "network", lambda *a, **k: net)
    heat = sub.xattrib.attribute(relu_model, methods=["integrated_gradients"],
                                 progress=False)
    assert max(calls[1:]) == 5 * 64  # five samples of 64 steps a call
    np.testing.assert_allclose(heat["attribution"].values, ref["attribution"].values,
                               rtol=1e-5, atol=1e-7)


# -- groups of cells ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grouped(request):
    g = xattrib.grid.make_grid(resolution=20.0, mask="ocean")
    bench = g.xattrib.benchmark(n_samples=30, seed=5, chunks=30)
    labels = xattrib.grid.patches(bench, size=2, offset=1)
    return bench, labels, bench["truth"].groupby(labels).sum()


def test_grouped_truth_sums_equal_cell_truth_sums(grouped):
    bench, labels, gt = grouped
    np.testing.assert_allclose(gt.sum("group").values,
                               bench["truth"].sum(["lat", "lon"]).values, rtol=1e-5)


def test_grouped_perturbations_on_the_exact_f_equal_the_grouped_truth(grouped):
    bench, labels, gt = grouped
    heat = xattrib.attribute(bench, xattrib.Model.exact(bench),
                             methods=["occlusion", "shapley_sampling", "gradient"],
                             groups=labels, progress=False)
    assert heat["attribution"].dims == ("xai_method", "sample", "group")
    np.testing.assert_array_equal(heat["group"].values, gt["group"].values)
    for m in ("occlusion", "shapley_sampling"):  # a whole group removed at once
        a = heat["attribution"].sel(xai_method=m)
        assert float(abs(a - gt).max()) < 1e-5 * float(abs(gt).max())
    assert "groups=removed whole" in heat["attribution"].attrs["parameters_occlusion"]
    # gradients: the cell map summed per group
    cell = xattrib.attribute(bench, xattrib.Model.exact(bench), methods=["gradient"],
                             progress=False)["attribution"].sel(xai_method="gradient")
    np.testing.assert_allclose(heat["attribution"].sel(xai_method="gradient").values,
                               cell.groupby(labels).sum().values, rtol=1e-5, atol=1e-7)
    s = xattrib.score(heat, gt, metrics=["pearson"])
    assert float(s["pearson"].sel(xai_method="occlusion").min()) > 0.9999


def test_bad_groups(grouped, small_grid):
    bench, labels, _ = grouped
    f = xattrib.Model.exact(bench)
    with pytest.raises(ValueError, match="groups"):
        xattrib.attribute(bench, f, methods="gradient", groups=xattrib.grid.patches(
            small_grid), progress=False)
    holed = labels.where(labels != 0)
    with pytest.raises(ValueError, match="groups is NaN on"):
        xattrib.attribute(bench, f, methods="gradient", groups=holed, progress=False)


def test_a_label_map_that_labels_land_too_still_lines_up_with_the_grouped_truth(grouped):
    """Integer regions with a label on land (0 here, and a land-only label 99): the output
    has every label, 0 where no valid cell carries it, like truth.groupby(labels).sum()."""
    bench, labels, _ = grouped
    regions = xr.where(bench["mask"], (labels % 3).fillna(0), 0).astype(int)
    land = np.argwhere(~bench["mask"].values)[0]
    regions[tuple(land)] = 99
    gt = bench["truth"].groupby(regions).sum()
    heat = xattrib.attribute(bench, xattrib.Model.exact(bench), methods="occlusion",
                             groups=regions.rename("region"), progress=False)
    got = heat["attribution"].sel(xai_method="occlusion")
    assert got.dims == ("sample", "region")
    np.testing.assert_array_equal(got["region"].values, gt[gt.dims[-1]].values)
    np.testing.assert_allclose(got.values, gt.values, atol=1e-5 * float(abs(gt).max()))
    assert float(abs(got.sel(region=99)).max()) == 0.0
