"""Model.exact: the benchmark's own F as a network, so methods can be scored on the truth."""

import numpy as np
import pytest
import torch
import xarray as xr

import xattrib
from xattrib.training.model import Model

torch.set_num_threads(1)


def _bench(grid, family, baseline="zero"):
    return grid.xattrib.benchmark(n_samples=200, seed=3, chunks=100, response=family,
                                  baseline=baseline).compute()


@pytest.mark.parametrize("family", ["pwl", "linear", "tanh"])
@pytest.mark.parametrize("kind", ["zero", "field"])
def test_exact_methods_reproduce_truth(small_grid, family, kind):
    base = "zero" if kind == "zero" else xr.full_like(
        small_grid["mask"], 0.4, dtype=float).where(small_grid["mask"])
    b = _bench(small_grid, family, base)
    f = Model.exact(b)
    np.testing.assert_allclose(f.predict(b).values, b["y"].values, rtol=1e-5, atol=1e-6)
    sub = b.isel(sample=slice(0, 40))
    heat = sub.xattrib.attribute(f, methods=["integrated_gradients", "occlusion", "deeplift"],
                                 baseline=base, n_steps=256, progress=False)
    s = heat.xattrib.score(sub["truth"], metrics=["pearson", "nmae"])
    assert float(s["pearson"].min()) > 0.999
    # DeepLIFT's rescale rule is exact unit by unit: complete to float precision
    err = heat["completeness_error"].sel(xai_method="deeplift")
    assert float(abs(err).max()) < 1e-5 * max(1.0, float(abs(sub["y"]).max()))
    if family != "pwl":  # IG's quadrature is exact to float precision on smooth F only
        err = heat["completeness_error"].sel(xai_method="integrated_gradients")
        assert float(abs(err).max()) < 1e-4


def test_input_x_gradient_is_capped_on_pwl(small_grid):
    """The method's own error, free of any network: Input×Gradient cannot be exact on PWL."""
    b = _bench(small_grid, "pwl")
    heat = b.xattrib.attribute(Model.exact(b), methods=["input_x_gradient", "lrp_z"],
                               progress=False)
    r = heat.xattrib.score(b["truth"], metrics=["pearson"])["pearson"].mean("sample")
    assert float(r.max()) < 0.9
    np.testing.assert_allclose(r.values[0], r.values[1], rtol=1e-4)  # the same for ReLU nets


def test_left_derivative_at_a_knot(small_grid):
    b = _bench(small_grid, "pwl")
    f = Model.exact(b)
    gen = xattrib.generator_from_dataset(b)
    bp, slopes = gen.response.params["breakpoints"], gen.response.params["slopes"]
    z = int(np.argmax(bp[0] == 0.0))
    for j in (z, (z + 1) % bp.shape[1]):  # the knot at 0 (the usual baseline) and another
        x = torch.zeros(1, bp.shape[0])
        x[0, 0] = float(bp[0, j])
        x.requires_grad_(True)
        f.network()(x).sum().backward()
        assert float(x.grad[0, 0]) == pytest.approx(gen.scale * slopes[0, j], rel=1e-4)


def test_exact_model_saves_and_loads(tmp_path, small_grid):
    b = _bench(small_grid, "tanh")
    f = Model.exact(b)
    back = Model.load(f.save(tmp_path / "exact.nc"))
    assert back.arch == "exact" and back.provenance["exact_kink_derivative"] == "left"
    np.testing.assert_array_equal(back.predict(b).values, f.predict(b).values)


@pytest.mark.parametrize("family", ["pwl", "tanh"])
def test_cellwise_first_layer_equals_the_dense_one(small_grid, family, monkeypatch, tmp_path):
    """Large grids store the first layer without its zeros: same outputs, gradients, LRP,
    and it saves and loads."""
    b = _bench(small_grid, family).isel(sample=slice(0, 30))
    dense = Model.exact(b)
    monkeypatch.setattr("xattrib.architectures.exact.DENSE_FIRST_LAYER_MAX", 0)
    cellwise = Model.exact(b)
    from xattrib.architectures.exact import CellwiseLinear

    assert isinstance(cellwise.module[0], CellwiseLinear)
    assert not isinstance(dense.module[0], CellwiseLinear)
    np.testing.assert_allclose(cellwise.predict(b).values, dense.predict(b).values, rtol=1e-6,
                               atol=1e-7)
    kw = {"methods": ["gradient", "lrp_epsilon", "lrp_alpha1beta0", "deeplift"],
          "progress": False}
    h1, h2 = b.xattrib.attribute(dense, **kw), b.xattrib.attribute(cellwise, **kw)
    np.testing.assert_allclose(h2["attribution"].values, h1["attribution"].values, rtol=1e-4,
                               atol=1e-6)
    cellwise.save(tmp_path / "m.nc")
    back = Model.load(tmp_path / "m.nc")
    np.testing.assert_array_equal(back.predict(b).values, cellwise.predict(b).values)


# -- interacting families: the product and gate as modules ----------------------------------
def _interacting(grid, family, baseline="zero", **kw):
    return grid.xattrib.benchmark(n_samples=60, seed=3, chunks=100, response=family,
                                  baseline=baseline, **kw).compute()


def _rel(a, b):
    return float(abs(a - b).max() / abs(b).max())


@pytest.mark.parametrize("family, kw", [("pairs", {}), ("pairs", {"powers": (2, 1)}),
                                        ("gating", {})])
@pytest.mark.parametrize("base", [0.0, 0.3])
def test_ig_on_the_exact_interacting_f_matches_the_ig_truth(small_grid, family, kw, base):
    b = _interacting(small_grid, family, base, interaction_share=1.0, **kw)  # no pwl kinks
    f = Model.exact(b)
    assert f.arch == "exact-interacting"
    np.testing.assert_allclose(f.predict(b).values, b["y"].values, rtol=1e-5, atol=1e-6)
    heat = b.xattrib.attribute(f, methods=["integrated_gradients"], baseline=base,
                               n_steps=64, progress=False)["attribution"].squeeze(drop=True)
    assert _rel(heat, b["truth_ig"]) < 1e-4
    if family == "pairs" and kw.get("powers", (1, 1)) == (2, 1):  # IG ≠ Shapley here
        assert _rel(heat, b["truth"]) > 1e-2


@pytest.mark.parametrize("family", ["pairs", "gating"])
def test_occlusion_on_the_exact_f_is_main_plus_interaction(small_grid, family):
    """Leave-one-out gives each cell every interaction whole: for a pair it differs from
    Shapley by half the interaction."""
    b = _interacting(small_grid, family, 0.2)
    heat = b.xattrib.attribute(Model.exact(b), methods=["occlusion"], baseline=0.2,
                               progress=False)["attribution"].squeeze(drop=True)
    assert _rel(heat, b["truth_main"] + b["truth_interaction"]) < 1e-5
    if family == "pairs":
        assert _rel(heat - b["truth"], b["truth_interaction"] / 2) < 1e-4
        assert float(abs(b["truth_interaction"]).max()) > 1e-3  # the check has teeth


def test_the_exact_interacting_f_is_rebuilt_not_saved(small_grid, tmp_path):
    f = Model.exact(_interacting(small_grid, "gating"))
    assert not f.trained_by_xattrib
    with pytest.raises(ValueError, match="rebuilt from the benchmark"):
        f.save(tmp_path / "f.nc")


def test_a_sharp_gate_hides_its_jump_from_gradients(small_grid):
    """The IG truth of a sharp gate includes the jump where the path crosses τ (the limit of
    smooth gates); the network's step has gradient 0, so captum's IG misses it."""
    b = _interacting(small_grid, "gating", width=0.0, interaction_share=1.0, threshold=-0.2)
    heat = b.xattrib.attribute(Model.exact(b), methods=["integrated_gradients"],
                               progress=False)["attribution"].squeeze(drop=True)
    gate = b["response_gate_weight"] > 0
    assert float(abs(heat.where(gate)).max()) == 0.0
    assert float(abs(b["truth_ig"].where(gate)).max()) > 1e-3
